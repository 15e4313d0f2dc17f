#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# lab.sh: scripts/mtls-lab runs every scenario, and each prints the verdict it was
# built to show.  The expected rows below are written from how each scenario is
# made (server options, client certificate), not from the plugin's output:
#   -Verify 1 = required, -verify 1 = optional; -verify_return_error makes a failed
#   verification fatal, with OpenSSL's alert for the error (20 -> unknown_ca,
#   10 -> certificate_expired, 26 -> unsupported_certificate); a TLS 1.2 server
#   without a client certificate sends handshake_failure, TLS 1.3 certificate_required;
#   s_server 'R' renegotiates and 'c' sends a post-handshake CertificateRequest, with
#   no request in the first handshake; nginx with ssl_verify_client on finishes the
#   handshake and answers HTTP 400.
# The lab itself checks the server's log and the client's output for the line that
# shows the scenario ran as built (it exits non-zero otherwise).
# As root it also checks the wrapper's live capture: scripts/tshark-mtls -i lo
# (dumpcap as root, tshark as nobody) in a private network namespace.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
lab=$repo/scripts/mtls-lab
tshark_mtls=$repo/scripts/tshark-mtls
tmp=$(mktemp -d /tmp/mtls-labtest.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
fail=0
bad() { echo "FAIL $*"; fail=1; }

# scenario -> expected exchanges "phase:verdict:alert ..." (in stream/exchange order)
declare -A expect=(
  [tls12-required-no-cert]="handshake:rejected:handshake_failure"
  [tls13-required-no-cert]="handshake:rejected:certificate_required"
  [tls13-optional]="handshake:server-ignored:-"
  [untrusted-ca]="handshake:rejected:unknown_ca"
  [expired-cert]="handshake:rejected:certificate_expired"
  [no-clientauth-eku]="handshake:rejected:unsupported_certificate"
  [renegotiation]="handshake:not-requested:- renegotiation:accepted:-"
  [post-handshake]="handshake:not-requested:- post-handshake:accepted:-"
  [large-ca-list]="handshake:accepted:-"
  [refused-above-tls]="handshake:server-ignored:-"
)
# scenario -> a display filter one frame of the kept capture must match (the
# diagnosis the scenario is built to show)
declare -A diagnosis=(
  [expired-cert]="mtls.client_cert.expired == 1"
  [no-clientauth-eku]="mtls.client_cert.client_auth_eku == 0"
  [large-ca-list]="mtls.ca_names.count == 61"
  [refused-above-tls]="mtls.app_status == 400"
  [untrusted-ca]="mtls.ca_names.match == 0"
)

# --list: one line per scenario, and every scenario has an expectation here
mapfile -t listed < <("$lab" --list | awk '{print $1}')
[ ${#listed[@]} -ge 8 ] || bad "--list shows ${#listed[@]} scenarios"
for s in "${listed[@]}"; do [ -n "${expect[$s]:-}" ] || bad "scenario $s has no expected verdict in lab.sh"; done
for s in "${!expect[@]}"; do printf '%s\n' "${listed[@]}" | grep -qx "$s" || bad "--list lacks $s"; done

start=$SECONDS
status=0
"$lab" --keep "$tmp/lab.pcapng" all > "$tmp/out.txt" 2>&1 || status=$?
echo "mtls-lab all: exit $status, $((SECONDS - start)) s"
[ "$status" = 0 ] || { bad "mtls-lab exited $status"; sed 's/^/  | /' "$tmp/out.txt" | tail -n 40; }

have_flow=0
stats=$("$tshark_mtls" -z help 2>&1 || true)   # tshark prints this list on stderr
if grep -q '^ *flow,mtls' <<< "$stats"; then have_flow=1; fi

for s in "${listed[@]}"; do
  # this scenario's part of the output: from its "######## name:" line to the next
  awk -v s="$s" '/^######## /{on = ($2 == s ":")} on' "$tmp/out.txt" > "$tmp/$s.txt"
  # rows of the -z mtls,conv table: transport stream client server sni TLS x.y phase req resp verdict alert ...
  got=$(awk '/^tcp +[0-9]+ +[0-9.]+:[0-9]+ /{printf "%s%s:%s:%s", sep, $8, $11, $12; sep=" "}' "$tmp/$s.txt")
  if [ "$got" = "${expect[$s]}" ]; then
    echo "ok   $s: $got"
  else
    bad "$s: verdict table shows '$got', built to show '${expect[$s]}'"
    sed 's/^/  | /' "$tmp/$s.txt"
  fi
  grep -q '^server: ' "$tmp/$s.txt" || bad "$s: no line from the server's log"
  if [ "$have_flow" = 1 ]; then
    grep -q -- "-z flow,mtls,standard) ==" "$tmp/$s.txt" || bad "$s: no ladder although the plugin has -z flow,mtls"
  else
    grep -q "no -z flow,mtls,standard" "$tmp/$s.txt" || bad "$s: no word on the missing ladder"
  fi
  cap=$tmp/lab-$s.pcapng
  if [ ! -s "$cap" ]; then bad "$s: --keep left no $cap"; continue; fi
  if [ -n "${diagnosis[$s]:-}" ]; then
    n=$("$tshark_mtls" -r "$cap" -2 -Y "${diagnosis[$s]}" -T fields -e frame.number | grep -c . || true)
    if [ "$n" -gt 0 ]; then echo "ok   $s: ${diagnosis[$s]}"; else bad "$s: no frame matches ${diagnosis[$s]}"; fi
  fi
done

# The wrapper's live capture as root: dumpcap as root, tshark as nobody, in a
# private network namespace; TLS 1.2 required, no client certificate.
if [ "$(id -u)" = 0 ]; then
  cat > "$tmp/live.sh" <<'LIVE'
set -euo pipefail
ip link set lo up
cd "$1"
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem -out c.pem \
  -days 1 -subj /CN=localhost 2>/dev/null
sleep 20 | timeout 25 openssl s_server -accept 127.0.0.1:443 -naccept 1 -cert c.pem -key k.pem -CAfile c.pem \
  -tls1_2 -Verify 1 > server.log 2>&1 &
srv=$!
( sleep 2; (sleep 0.7; echo GET; sleep 0.5) | timeout 10 openssl s_client -connect 127.0.0.1:443 -tls1_2 > client.log 2>&1 || true ) &
cli=$!
"$2" -i lo -f "tcp port 443" -a duration:5 -q -z mtls,conv > live.txt 2> live.err || echo "wrapper exit $?" >> live.txt
wait "$cli" || true
kill "$srv" 2>/dev/null || true
wait "$srv" 2>/dev/null || true
LIVE
  unshare --net bash "$tmp/live.sh" "$tmp" "$tshark_mtls" || true
  got=$(awk '/^tcp +[0-9]+ +[0-9.]+:[0-9]+ /{printf "%s%s:%s:%s", sep, $8, $11, $12; sep=" "}' "$tmp/live.txt" 2>/dev/null || true)
  if [ "$got" = "handshake:rejected:handshake_failure" ]; then
    echo "ok   tshark-mtls -i lo as root (dumpcap as root, tshark as nobody): $got"
  else
    bad "tshark-mtls -i lo as root: '$got', expected handshake:rejected:handshake_failure"
    cat "$tmp/live.txt" "$tmp/live.err" 2>/dev/null | sed 's/^/  | /'
  fi
fi

echo "lab.sh: $((SECONDS - start)) s"
exit "$fail"
