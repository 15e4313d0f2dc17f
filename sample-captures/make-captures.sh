#!/usr/bin/env bash
# Regenerate the sample captures of the mtls plugin from scratch.
#
# Run as root (tcpdump on lo, port 443).  Only loopback traffic (127.0.0.1:443)
# is generated.  Every capture holds the TLS secrets (editcap --inject-secrets),
# so Wireshark/tshark decrypt them without a key log file.
#
# Each scenario is checked against the server log, the client output and plain
# tshark dissection; the script stops with "FATAL" if a scenario did not behave
# as intended.  truth.tsv is written from the scenario definitions below, only
# after every check passed.
#
# Usage: sudo ./make-captures.sh [output-dir] [scenario...]
#          output-dir: default this directory (the first argument is taken as
#          the output dir when it is an existing directory).
#          scenario: capture names without .pcapng, shell globs allowed
#          (e.g. 'nginx-*'); only those are made and installed, truth.tsv rows
#          of the other captures in output-dir are kept as they are.  Without
#          scenario arguments every scenario of this script is regenerated; captures
#          and truth rows made by other scripts (make-app-captures.sh) are kept.
#        ./make-captures.sh --list       prints the scenario names and exits.
# Env:   KEEP_WORK=1 keeps the temporary work dir (PKI, raw pcaps, logs).
#        MTLS_NO_NETNS=1 runs on the host's loopback instead of a private
#        network namespace (unshare --net).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LIST=
if [ "${1:-}" = --list ]; then LIST=1; shift; fi
if [ $# -gt 0 ] && [ -d "$1" ]; then OUT=$(cd "$1" && pwd); shift; else OUT=$HERE; fi
SELECT=("$@")            # empty = all scenarios
declare -A SELECT_HIT=()
# want NAME: is scenario NAME selected?  (--list: print it, run nothing)
want() {
  local pat
  if [ -n "$LIST" ]; then echo "$1"; return 1; fi
  [ ${#SELECT[@]} = 0 ] && return 0
  for pat in "${SELECT[@]}"; do
    # shellcheck disable=SC2053
    if [[ $1 == $pat ]]; then SELECT_HIT[$pat]=1; return 0; fi
  done
  return 1
}
PORT=443
ADDR=127.0.0.1
PY=/usr/bin/python3; [ -x "$PY" ] || PY=$(command -v python3)

if [ -z "$LIST" ]; then
for tool in openssl gnutls-serv gnutls-cli tcpdump tshark editcap ss ip unshare timeout nginx curl "$PY"; do
  command -v "$tool" >/dev/null || { echo "FATAL: missing $tool" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "FATAL: run as root (tcpdump on lo, port 443)" >&2; exit 1; }
fi

# Run in a private network namespace (own loopback, nothing else): other
# programs using port 443 on the host cannot leak into the captures or block
# the port.  MTLS_NO_NETNS=1 uses the host's lo instead.
if [ -z "$LIST" ] && [ -z "${MTLS_IN_NETNS:-}" ] && [ -z "${MTLS_NO_NETNS:-}" ]; then
  export MTLS_IN_NETNS=1
  exec unshare --net -- "$HERE/$(basename "${BASH_SOURCE[0]}")" "$OUT" "${SELECT[@]}"
fi
if [ -n "${MTLS_IN_NETNS:-}" ]; then ip link set lo up; fi

# --list names the scenarios only: it needs none of the peers (the test suite
# runs it where they are not installed, in the chroots of scripts/chroot.sh).
if [ -n "$LIST" ]; then
  OSSL_VER=- GNUTLS_VER=- PY_VER=-
else
  OSSL_VER=$(openssl version | awk '{print $2}')
  GNUTLS_VER=$(gnutls-cli --version | awk 'NR==1{print $2}')
  PY_VER=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
fi

WORK=$(mktemp -d /tmp/mtls-captures.XXXXXX)
PKI=$WORK/pki
NEW=$WORK/out
mkdir -p "$PKI" "$NEW"
TRUTH=$NEW/truth.tsv
printf 'capture\tstream\texchange\tphase\trequested\tresponse\tverdict\talert\tresumed\tpha_offered\tserver\tclient\thow\n' > "$TRUTH"

TCPDUMP_PID= SRV_PID= FEED_PID= EXTRA_PIDS=
cleanup() {
  local p
  for p in $SRV_PID $FEED_PID $TCPDUMP_PID $EXTRA_PIDS; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${KEEP_WORK:-}" ]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

die() {
  echo "FATAL [${NAME:-setup}]: $*" >&2
  if [ -n "${D:-}" ] && [ -d "$D" ]; then
    for f in "$D"/server.log "$D"/client*.log; do
      [ -f "$f" ] && { echo "---- $f" >&2; grep -v '^ \{3\}[0-9]' "$f" | head -40 >&2; }
    done
  fi
  exit 1
}
log() { echo "[$(date +%T)] $*" >&2; }

# --------------------------------------------------------------------------
# Throwaway PKI
#   ca        trusted CA, EC P-256
#   ca2       second CA, RSA 2048, NOT trusted by any server
#   server    RSA 2048, CN/SAN localhost (+ IP 127.0.0.1), signed by ca
#   client    EC P-256 client cert signed by ca
#   clientrsa RSA 2048 client cert signed by ca
#   untrusted EC P-256 client cert signed by ca2
#   servereku EC P-256 client cert signed by ca, EKU serverAuth only
#   expired   EC P-256 client cert signed by ca, valid 2020-01-01..2020-01-31
#   notyet    EC P-256 client cert signed by ca, valid 2099-01-01..2099-12-31
#             (not yet valid at capture time)
#   bigca-*   many more CA certs, made on demand (make_big_ca_list)
# --------------------------------------------------------------------------
make_pki() {
  local days=3650
  cd "$PKI"
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout ca.key -out ca.pem -days $days -subj "/CN=mtls sample trusted CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  openssl req -x509 -new -newkey rsa:2048 -nodes \
    -keyout ca2.key -out ca2.pem -days $days -subj "/CN=mtls sample UNTRUSTED CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  leaf() { # name ec|rsa ca cn extensions
    if [ "$2" = ec ]; then openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null
    else openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key" 2>/dev/null; fi
    openssl req -new -key "$1.key" -subj "/CN=$4" -out "$1.csr" 2>/dev/null
    printf '%s\n' "$5" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -days $days \
      -sha256 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  }
  leaf server rsa ca localhost $'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1'
  leaf client ec ca "mtls good client (EC)" $'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth'
  leaf clientrsa rsa ca "mtls good client (RSA)" $'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth'
  leaf untrusted ec ca2 "mtls untrusted client (EC)" $'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth'
  # client cert whose EKU is serverAuth only (no id-kp-clientAuth)
  leaf servereku ec ca "mtls client with serverAuth-only EKU (EC)" $'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth'
  # expired client cert (EC, signed by ca): validity 2020-01-01 .. 2020-01-31,
  # made with 'openssl ca' (openssl x509 -req cannot set a past notBefore in 3.0)
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out expired.key 2>/dev/null
  openssl req -new -key expired.key -subj "/CN=mtls expired client (EC)" -out expired.csr 2>/dev/null
  mkdir -p ca.db; : > ca.db/index.txt; echo 1000 > ca.db/serial
  cat > ca.cnf <<'CNF'
[ ca ]
default_ca = sample
[ sample ]
dir = ca.db
database = $dir/index.txt
serial = $dir/serial
new_certs_dir = $dir
certificate = ca.pem
private_key = ca.key
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
x509_extensions = client_ext
[ anything ]
commonName = supplied
[ client_ext ]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
CNF
  openssl ca -batch -config ca.cnf -in expired.csr -out expired.pem -notext \
    -startdate 20200101000000Z -enddate 20200131000000Z 2>/dev/null || die "PKI: openssl ca failed"
  # not-yet-valid client cert (EC, signed by ca): validity 2099-01-01 .. 2099-12-31
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out notyet.key 2>/dev/null
  openssl req -new -key notyet.key -subj "/CN=mtls not-yet-valid client (EC)" -out notyet.csr 2>/dev/null
  openssl ca -batch -config ca.cnf -in notyet.csr -out notyet.pem -notext \
    -startdate 20990101000000Z -enddate 20991231000000Z 2>/dev/null || die "PKI: openssl ca failed (notyet)"
  openssl verify -CAfile ca.pem server.pem client.pem clientrsa.pem >/dev/null || die "PKI: good certs do not verify"
  openssl verify -CAfile ca.pem servereku.pem >/dev/null || die "PKI: serverAuth-EKU cert does not verify (chain)"
  if openssl verify -CAfile ca.pem -purpose sslclient servereku.pem >/dev/null 2>&1; then die "PKI: serverAuth-EKU cert verifies as sslclient"; fi
  case $(openssl verify -CAfile ca.pem expired.pem 2>&1 || true) in
    *"certificate has expired"*) ;; *) die "PKI: expired cert is not expired" ;;
  esac
  case $(openssl verify -CAfile ca.pem notyet.pem 2>&1 || true) in
    *"certificate is not yet valid"*) ;; *) die "PKI: notyet cert is valid already" ;;
  esac
  if openssl verify -CAfile ca.pem untrusted.pem >/dev/null 2>&1; then die "PKI: untrusted cert verifies"; fi
  cd - >/dev/null
}

# --------------------------------------------------------------------------
# Capture plumbing
# --------------------------------------------------------------------------
port_busy() { ss -ltnH "sport = :$PORT" | grep -q .; }
wait_port_free() {
  local i; for i in $(seq 100); do port_busy || return 0; sleep 0.1; done
  die "port $PORT still in use by a previous server"
}
wait_listen() {
  local i; for i in $(seq 100); do
    port_busy && return 0
    kill -0 "$SRV_PID" 2>/dev/null || die "server exited before listening"
    sleep 0.1
  done
  die "server did not start listening"
}

begin_capture() { # name
  NAME=$1; D=$WORK/$NAME; mkdir -p "$D"; : > "$D/keylog"; CLIENT_N=0
  log "scenario $NAME"
  wait_port_free
  tcpdump -i lo -n -U --immediate-mode -w "$D/raw.pcap" "tcp port $PORT and src host $ADDR and dst host $ADDR" 2> "$D/tcpdump.log" & TCPDUMP_PID=$!
  local i; for i in $(seq 100); do grep -q "listening on" "$D/tcpdump.log" && break; sleep 0.1; done
  grep -q "listening on" "$D/tcpdump.log" || die "tcpdump did not start"
}

# start_server FEEDER CMD...   FEEDER is a function whose stdout becomes the
# server's stdin (through a fifo).  It must outlive the connection: openssl
# s_server drops the connection when its stdin hits EOF.
start_server() {
  local feeder=$1; shift
  mkfifo "$D/stdin"
  ( "$feeder" ) > "$D/stdin" & FEED_PID=$!
  timeout 40 "$@" < "$D/stdin" > "$D/server.log" 2>&1 & SRV_PID=$!
  wait_listen
}
feed_idle() { sleep 15; }
feed_c()    { sleep 1.5; echo c; sleep 15; }   # s_server: post-handshake CertificateRequest
feed_R()    { sleep 1.5; echo R; sleep 15; }   # s_server: renegotiate, requesting a cert

run_client() { # cmd...   (output -> client$N.log, never fails)
  CLIENT_N=$((CLIENT_N + 1))
  local rc=0
  "$@" > "$D/client$CLIENT_N.log" 2>&1 || rc=$?
  echo "client exit status: $rc" >> "$D/client$CLIENT_N.log"
}

# end_capture [persistent]: openssl s_server (-naccept) and the python server exit
# by themselves; gnutls-serv ("persistent") is stopped once the client is done.
end_capture() {
  local i
  if [ "${1:-}" != persistent ]; then
    for i in $(seq 50); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$SRV_PID" 2>/dev/null && die "server did not exit after the client was done"
  else
    sleep 0.3
  fi
  kill "$SRV_PID" 2>/dev/null || true; wait "$SRV_PID" 2>/dev/null || true
  kill "$FEED_PID" 2>/dev/null || true; wait "$FEED_PID" 2>/dev/null || true
  SRV_PID= FEED_PID=
  sleep 0.5   # let the last FIN/ACKs reach tcpdump (--immediate-mode, no ring-buffer delay)
  kill -INT "$TCPDUMP_PID"; wait "$TCPDUMP_PID" 2>/dev/null || true; TCPDUMP_PID=
  [ -s "$D/keylog" ] || die "empty key log"
  editcap --inject-secrets "tls,$D/keylog" "$D/raw.pcap" "$NEW/$NAME.pcapng" || die "editcap failed"
  wait_port_free
}

# Clients.  All connect to 127.0.0.1:443 with SNI localhost, send one line of
# application data 1 s after connecting and close 1 s later, so the server's
# reaction to the client certificate is on the wire before the client closes.
# C_CONNECT: where s_client connects (default $ADDR:$PORT); C_WRAP: a command
# prefix for s_client (e.g. nsenter into another network namespace).
C_PRE=1 C_POST=1 C_CONNECT= C_WRAP=()
ossl_client() { # s_client args...
  (sleep "$C_PRE"; printf 'GET / HTTP/1.0\r\n\r\n'; sleep "$C_POST") |
    "${C_WRAP[@]}" timeout 20 openssl s_client -connect "${C_CONNECT:-$ADDR:$PORT}" -servername localhost \
      -CAfile "$PKI/ca.pem" -keylogfile "$D/keylog" "$@"
}
gnutls_client() { # gnutls-cli args...
  (sleep "$C_PRE"; printf 'GET / HTTP/1.0\r\n\r\n'; sleep "$C_POST") |
    SSLKEYLOGFILE="$D/keylog" timeout 20 gnutls-cli $ADDR -p $PORT --sni-hostname localhost \
      --verify-hostname localhost --x509cafile "$PKI/ca.pem" "$@"
}
OSSL_SRV=(openssl s_server -accept $ADDR:$PORT -naccept 1 -cert "$PKI/server.pem" -key "$PKI/server.key" -CAfile "$PKI/ca.pem")
GNUTLS_SRV=(gnutls-serv -p $PORT --echo --x509certfile "$PKI/server.pem" --x509keyfile "$PKI/server.key" --x509cafile "$PKI/ca.pem")
G12=NORMAL:-VERS-ALL:+VERS-TLS1.2
G13=NORMAL:-VERS-ALL:+VERS-TLS1.3
GOOD=(-cert "$PKI/client.pem" -key "$PKI/client.key")
GOODRSA=(-cert "$PKI/clientrsa.pem" -key "$PKI/clientrsa.key")
UNTRUSTED=(-cert "$PKI/untrusted.pem" -key "$PKI/untrusted.key")
G_GOOD=(--x509certfile "$PKI/client.pem" --x509keyfile "$PKI/client.key")
G_GOODRSA=(--x509certfile "$PKI/clientrsa.pem" --x509keyfile "$PKI/clientrsa.key")

# --------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------
srv_log_has()     { grep -qF -- "$1" "$D/server.log" || die "server log lacks: $1"; }
srv_log_lacks()   { if grep -qF -- "$1" "$D/server.log"; then die "server log unexpectedly has: $1"; fi; }
cli_log_has()     { grep -qF -- "$2" "$D/client$1.log" || die "client$1 log lacks: $2"; }
cli_log_lacks()   { if grep -qF -- "$2" "$D/client$1.log"; then die "client$1 log unexpectedly has: $2"; fi; }

# TS_OPTS: extra tshark options for the checks (empty except where a scenario says)
TS_OPTS=()
ts() { tshark -r "$NEW/$NAME.pcapng" "${TS_OPTS[@]}" "$@" 2>/dev/null; }
# wire STREAM -> one line of facts (plain tshark dissection of the capture):
#   scr=<n CertificateRequests from server> ccert=<client Certificate messages: c(ert)/e(mpty), in order>
#   salert=<server fatal alerts> calert=<client fatal alerts> pha=<yes|no> fin=<n decrypted server Finished>
wire() {
  local s=$1; local f="tcp.stream==$s"
  local scr ccert salert calert pha fin
  scr=$(ts -Y "$f && tcp.srcport==$PORT" -T fields -e tls.handshake.type -E occurrence=a | tr ',' '\n' | grep -cx 13 || true)
  ccert=$(ts -Y "$f && tcp.dstport==$PORT && tls.handshake.certificates_length" -T fields -e tls.handshake.certificates_length -E occurrence=a |
          tr ',' '\n' | awk 'NF{printf "%s", ($1>0?"c":"e")}')
  salert=$(ts -Y "$f && tcp.srcport==$PORT && tls.alert_message.level==2" -T fields -e tls.alert_message.desc -E occurrence=a | paste -sd, -)
  calert=$(ts -Y "$f && tcp.dstport==$PORT && tls.alert_message.level==2" -T fields -e tls.alert_message.desc -E occurrence=a | paste -sd, -)
  if [ -n "$(ts -Y "$f && tls.handshake.type==1 && tls.handshake.extension.type==49" -T fields -e frame.number)" ]; then pha=yes; else pha=no; fi
  fin=$(ts -Y "$f && tcp.srcport==$PORT" -T fields -e tls.handshake.type -E occurrence=a | tr ',' '\n' | grep -cx 20 || true)
  echo "scr=$scr ccert=${ccert:--} salert=${salert:--} calert=${calert:--} pha=$pha fin=$fin"
}
# expect_wire STREAM "expected facts" (fin=... may be omitted)
expect_wire() {
  local got; got=$(wire "$1")
  local exp=$2
  case "$exp" in *fin=*) ;; *) got=${got% fin=*} ;; esac
  [ "$got" = "$exp" ] || die "stream $1 on the wire: got '$got', expected '$exp'"
  echo "$got" > "$D/wire.$1"
}
expect_streams() { # n
  local n; n=$(ts -T fields -e tcp.stream | sort -u | grep -c . || true)
  [ "$n" = "$1" ] || die "expected $1 TCP connection(s), capture has $n"
  # the capture must not be truncated: every connection ends with FIN or RST
  n=$(ts -Y "tcp.flags.fin==1 || tcp.flags.reset==1" -T fields -e tcp.stream | sort -u | grep -c . || true)
  [ "$n" = "$1" ] || die "only $n of $1 TCP connection(s) end with FIN/RST in the capture (truncated?)"
}
expect_reused() { cli_log_has "$1" "Reused, TLSv"; }
expect_new()    { cli_log_has "$1" "New, TLSv"; }

# row STREAM EXCHANGE PHASE REQUESTED RESPONSE VERDICT ALERT RESUMED PHA SERVER CLIENT HOW
row() {
  [ $# = 12 ] || die "row needs 12 fields, got $#"
  local IFS=$'\t'
  printf '%s\n' "$NAME.pcapng	$*" >> "$TRUTH"
}

SV_OSSL="openssl s_server $OSSL_VER"
CL_OSSL="openssl s_client $OSSL_VER"
SV_GNU="gnutls-serv $GNUTLS_VER"
CL_GNU="gnutls-cli $GNUTLS_VER"

# ==========================================================================
# Scenarios
# ==========================================================================
[ -n "$LIST" ] || make_pki
T0=$SECONDS

# ---- 1-6: openssl s_server / s_client, TLS 1.2 and TLS 1.3 ---------------
for V in 12 13; do
  PROTO=-tls1_$((V - 10)); TV="TLS 1.$((V - 10))"
  if [ $V = 12 ]; then CS=(-cipher ECDHE-RSA-CHACHA20-POLY1305); CSN=ECDHE-RSA-CHACHA20-POLY1305
  else CS=(-ciphersuites TLS_CHACHA20_POLY1305_SHA256); CSN=TLS_CHACHA20_POLY1305_SHA256; fi
  if [ $V = 12 ]; then NOCERT_ALERT=40 NOCERT_NAME=handshake_failure; else NOCERT_ALERT=116 NOCERT_NAME=certificate_required; fi
  # server Finished on the wire when the server rejects: TLS 1.2 never gets there,
  # in TLS 1.3 it precedes the client's Certificate
  if [ $V = 12 ]; then FR=0; else FR=1; fi

  # 1. not requested (client has a cert but is never asked)
  if want ossl-tls$V-not-requested; then
  begin_capture ossl-tls$V-not-requested
  start_server feed_idle "${OSSL_SRV[@]}" $PROTO
  run_client ossl_client $PROTO "${GOOD[@]}"
  end_capture
  expect_streams 1; expect_new 1
  srv_log_lacks "Client certificate"
  expect_wire 0 "scr=0 ccert=- salert=- calert=- pha=no fin=1"
  row 0 1 handshake no - not-requested - no no "$SV_OSSL" "$CL_OSSL" \
    "s_server without -verify/-Verify ($TV) never sends CertificateRequest; log shows no 'Client certificate'; client had an EC cert but was not asked."
  fi

  # 2. required + good cert -> accepted
  if want ossl-tls$V-required-good-cert; then
  begin_capture ossl-tls$V-required-good-cert
  start_server feed_idle "${OSSL_SRV[@]}" $PROTO -Verify 1
  if [ $V = 12 ]; then run_client ossl_client $PROTO "${GOODRSA[@]}"; KEY=RSA; else run_client ossl_client $PROTO "${GOOD[@]}"; KEY=EC; fi
  end_capture
  expect_streams 1; expect_new 1
  srv_log_has "Client certificate"; srv_log_lacks "verify error"
  expect_wire 0 "scr=1 ccert=c salert=- calert=- pha=no fin=1"
  row 0 1 handshake yes certificate accepted - no no "$SV_OSSL -Verify 1" "$CL_OSSL" \
    "s_server -Verify 1 (required, $TV); client sent a good $KEY cert; log: 'verify return:1' for both depths, 'Client certificate' printed."
  fi

  # 3. required + no cert -> rejected
  if want ossl-tls$V-required-no-cert; then
  begin_capture ossl-tls$V-required-no-cert
  start_server feed_idle "${OSSL_SRV[@]}" $PROTO -Verify 1
  run_client ossl_client $PROTO
  end_capture
  expect_streams 1
  srv_log_has "peer did not return a certificate"
  cli_log_has 1 "SSL alert number $NOCERT_ALERT"
  expect_wire 0 "scr=1 ccert=e salert=$NOCERT_ALERT calert=- pha=no fin=$FR"
  row 0 1 handshake yes empty rejected $NOCERT_NAME no no "$SV_OSSL -Verify 1" "$CL_OSSL" \
    "s_server -Verify 1 (required, $TV); client has no cert and sent an empty Certificate; log: 'peer did not return a certificate'; server sent $NOCERT_NAME."
  fi

  # 4. required + untrusted cert -> rejected.  Needs -verify_return_error: s_server's
  #    verify callback otherwise overrides every verification error (see 4b).
  if want ossl-tls$V-required-untrusted-cert; then
  begin_capture ossl-tls$V-required-untrusted-cert
  start_server feed_idle "${OSSL_SRV[@]}" $PROTO -Verify 1 -verify_return_error
  run_client ossl_client $PROTO "${UNTRUSTED[@]}"
  end_capture
  expect_streams 1
  srv_log_has "verify error:num=20:unable to get local issuer certificate"
  srv_log_has "certificate verify failed"
  cli_log_has 1 "SSL alert number 48"
  expect_wire 0 "scr=1 ccert=c salert=48 calert=- pha=no fin=$FR"
  row 0 1 handshake yes certificate rejected unknown_ca no no "$SV_OSSL -Verify 1 -verify_return_error" "$CL_OSSL" \
    "s_server -Verify 1 -verify_return_error (required, $TV); client cert issued by an untrusted CA; log: 'verify error:num=20:unable to get local issuer certificate', 'certificate verify failed'."
  fi

  # 4b. required (-Verify 1) WITHOUT -verify_return_error + untrusted cert -> accepted
  if want ossl-tls$V-required-untrusted-cert-no-return-error; then
  begin_capture ossl-tls$V-required-untrusted-cert-no-return-error
  start_server feed_idle "${OSSL_SRV[@]}" $PROTO -Verify 1
  run_client ossl_client $PROTO "${UNTRUSTED[@]}"
  end_capture
  expect_streams 1; expect_new 1
  srv_log_has "verify error:num=20:unable to get local issuer certificate"
  srv_log_has "Client certificate"; srv_log_lacks "ERROR"
  expect_wire 0 "scr=1 ccert=c salert=- calert=- pha=no fin=1"
  row 0 1 handshake yes certificate accepted - no no "$SV_OSSL -Verify 1" "$CL_OSSL" \
    "s_server -Verify 1 (required, $TV) but without -verify_return_error: log 'verify error:num=20' then 'verify return:1' and 'Client certificate' - the untrusted cert is accepted."
  fi

  # 5. optional + no cert -> server-ignored   (also: ChaCha20-Poly1305)
  if want ossl-tls$V-optional-no-cert; then
  begin_capture ossl-tls$V-optional-no-cert
  start_server feed_idle "${OSSL_SRV[@]}" $PROTO -verify 1
  run_client ossl_client $PROTO "${CS[@]}"
  end_capture
  expect_streams 1; expect_new 1; cli_log_has 1 "$CSN"
  srv_log_lacks "Client certificate"; srv_log_lacks "ERROR"
  expect_wire 0 "scr=1 ccert=e salert=- calert=- pha=no fin=1"
  row 0 1 handshake yes empty server-ignored - no no "$SV_OSSL -verify 1" "$CL_OSSL" \
    "s_server -verify 1 (optional, $TV, $CSN); client sent an empty Certificate; log: no error, no 'Client certificate', handshake completed."
  fi

  # 6. optional + untrusted cert -> accepted anyway
  if want ossl-tls$V-optional-untrusted-cert; then
  begin_capture ossl-tls$V-optional-untrusted-cert
  start_server feed_idle "${OSSL_SRV[@]}" $PROTO -verify 1
  run_client ossl_client $PROTO "${UNTRUSTED[@]}"
  end_capture
  expect_streams 1; expect_new 1
  srv_log_has "verify error:num=20:unable to get local issuer certificate"
  srv_log_has "Client certificate"; srv_log_lacks "ERROR"
  expect_wire 0 "scr=1 ccert=c salert=- calert=- pha=no fin=1"
  row 0 1 handshake yes certificate accepted - no no "$SV_OSSL -verify 1" "$CL_OSSL" \
    "s_server -verify 1 (optional, $TV) without -verify_return_error; log: 'verify error:num=20' then 'verify return:1' and 'Client certificate' - untrusted cert accepted anyway."
  fi

  # 9. client aborts: server requests a cert, client does not trust the server
  if want ossl-tls$V-client-aborts; then
  begin_capture ossl-tls$V-client-aborts
  start_server feed_idle "${OSSL_SRV[@]}" $PROTO -Verify 1
  run_client ossl_client $PROTO "${GOOD[@]}" -verify_return_error -CAfile "$PKI/ca2.pem"
  end_capture
  expect_streams 1
  cli_log_has 1 "certificate verify failed"
  srv_log_has "alert unknown ca"
  expect_wire 0 "scr=1 ccert=- salert=- calert=48 pha=no fin=$FR"
  row 0 1 handshake yes none client-aborted unknown_ca no no "$SV_OSSL -Verify 1" "$CL_OSSL -verify_return_error" \
    "s_server -Verify 1 ($TV) requested a cert, but the client (-verify_return_error, CAfile = other CA) rejected the server cert and sent unknown_ca; server log: 'tlsv1 alert unknown ca'."
  fi
done

# ---- 7. TLS 1.3 post-handshake authentication (s_server 'c') --------------
# s_server's 'c' command does SSL_set_verify(PEER|CLIENT_ONCE, NULL) before
# SSL_verify_client_post_handshake(): no FAIL_IF_NO_PEER_CERT, so a missing cert
# is tolerated; the server runs with -verify_return_error (which alone does not
# request a cert in the handshake) so that an untrusted cert is fatal.
C_PRE=3
for CASE in good-cert no-cert untrusted-cert; do
  case $CASE in good-cert) CC=("${GOOD[@]}");; no-cert) CC=();; untrusted-cert) CC=("${UNTRUSTED[@]}");; esac
  want ossl-tls13-pha-$CASE || continue
  begin_capture ossl-tls13-pha-$CASE
  start_server feed_c "${OSSL_SRV[@]}" -tls1_3 -verify_return_error
  run_client ossl_client -tls1_3 -enable_pha "${CC[@]}"
  end_capture
  expect_streams 1
  srv_log_has "SSL_do_handshake -> 1"
  case $CASE in
    good-cert)
      srv_log_has "depth=0 CN = mtls good client (EC)"; srv_log_lacks "verify error"
      expect_wire 0 "scr=1 ccert=c salert=- calert=- pha=yes fin=1"
      R=(yes certificate accepted -)
      H="s_server -tls1_3 without -verify, stdin 'c' after 1.5 s sends a post-handshake CertificateRequest; good EC cert; log: 'depth=0 CN = mtls good client (EC)', 'verify return:1', then the GET; 2 new NewSessionTickets follow." ;;
    no-cert)
      srv_log_lacks "depth=0 CN"; srv_log_lacks "ERROR"; srv_log_has "GET / HTTP/1.0"
      expect_wire 0 "scr=1 ccert=e salert=- calert=- pha=yes fin=1"
      R=(yes empty server-ignored -)
      H="s_server 'c' post-handshake CertificateRequest (s_server sets VERIFY_PEER without FAIL_IF_NO_PEER_CERT); client answered with an empty Certificate; log: no error, GET received." ;;
    untrusted-cert)
      srv_log_has "verify error:num=20:unable to get local issuer certificate"; srv_log_has "certificate verify failed"
      cli_log_has 1 "SSL alert number 48"
      expect_wire 0 "scr=1 ccert=c salert=48 calert=- pha=yes fin=1"
      R=(yes certificate rejected unknown_ca)
      H="s_server 'c' post-handshake CertificateRequest; client cert from the untrusted CA; log: 'verify error:num=20', 'certificate verify failed'; server sent unknown_ca." ;;
  esac
  row 0 1 handshake no - not-requested - no yes "$SV_OSSL -verify_return_error (stdin c)" "$CL_OSSL -enable_pha" \
    "Initial TLS 1.3 handshake without CertificateRequest (s_server without -verify); client offered post_handshake_auth."
  row 0 2 post-handshake "${R[@]}" no yes "$SV_OSSL -verify_return_error (stdin c)" "$CL_OSSL -enable_pha" "$H"
done

# ---- 7b. TLS 1.3 PHA with a *required* cert: python3 ssl server ----------
cat > "$WORK/pha_server.py" <<'EOF'
import socket, ssl, sys, time
pki, port = sys.argv[1], int(sys.argv[2])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
ctx.load_cert_chain(pki + "/server.pem", pki + "/server.key")
ctx.load_verify_locations(pki + "/ca.pem")
ctx.verify_mode = ssl.CERT_REQUIRED     # SSL_VERIFY_PEER|FAIL_IF_NO_PEER_CERT
ctx.post_handshake_auth = True          # + SSL_VERIFY_POST_HANDSHAKE: no CR in the handshake
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port)); ls.listen(1)
print("listening", flush=True)
c, _ = ls.accept(); ls.close()
s = ctx.wrap_socket(c, server_side=True)
print("handshake done, peer cert:", s.getpeercert(), flush=True)
time.sleep(0.5)
try:
    s.verify_client_post_handshake()
    s.write(b"please authenticate\n")        # sends the CertificateRequest (+ data)
    data = s.read(100)                       # processes the client's Certificate...
    print("PHA ok, peer cert subject:", s.getpeercert()["subject"], flush=True)
    print("received:", data, flush=True)
    s.write(b"hello authenticated client\n")
    s.read(100)
except Exception as e:
    print("PHA failed:", repr(e), flush=True)
finally:
    c.close()
EOF
for CASE in good-cert no-cert; do
  case $CASE in good-cert) CC=("${GOODRSA[@]}");; no-cert) CC=();; esac
  want python-tls13-pha-required-$CASE || continue
  begin_capture python-tls13-pha-required-$CASE
  start_server feed_idle "$PY" "$WORK/pha_server.py" "$PKI" $PORT
  run_client ossl_client -tls1_3 -enable_pha "${CC[@]}"
  end_capture
  expect_streams 1
  srv_log_has "handshake done, peer cert: None"
  if [ $CASE = good-cert ]; then
    srv_log_has "PHA ok, peer cert subject"
    expect_wire 0 "scr=1 ccert=c salert=- calert=- pha=yes"
    R=(yes certificate accepted -)
    H="python3 ssl server (CERT_REQUIRED + post_handshake_auth) sent a post-handshake CertificateRequest; good RSA cert; log: 'PHA ok', server then sent data."
  else
    srv_log_has "PHA failed"; srv_log_has "PEER_DID_NOT_RETURN_A_CERTIFICATE"
    cli_log_has 1 "SSL alert number 116"
    expect_wire 0 "scr=1 ccert=e salert=116 calert=- pha=yes"
    R=(yes empty rejected certificate_required)
    H="python3 ssl server (CERT_REQUIRED + post_handshake_auth) sent a post-handshake CertificateRequest; empty Certificate; log: 'PHA failed ... PEER_DID_NOT_RETURN_A_CERTIFICATE'."
  fi
  row 0 1 handshake no - not-requested - no yes "python3 $PY_VER ssl server (CERT_REQUIRED, post_handshake_auth)" "$CL_OSSL -enable_pha" \
    "With post_handshake_auth the python server (SSL_VERIFY_POST_HANDSHAKE) sends no CertificateRequest in the handshake."
  row 0 2 post-handshake "${R[@]}" no yes "python3 $PY_VER ssl server (CERT_REQUIRED, post_handshake_auth)" "$CL_OSSL -enable_pha" "$H"
done

# ---- 8. TLS 1.2 renegotiation (s_server 'R') -------------------------------
# 'R' does SSL_set_verify(PEER|CLIENT_ONCE, NULL) + SSL_renegotiate(); with
# -no_resumption_on_reneg the renegotiation is a full handshake with a
# CertificateRequest.  As for 'c': no cert is tolerated, untrusted is fatal
# (-verify_return_error).
for CASE in good-cert no-cert untrusted-cert; do
  case $CASE in good-cert) CC=("${GOOD[@]}");; no-cert) CC=();; untrusted-cert) CC=("${UNTRUSTED[@]}");; esac
  want ossl-tls12-reneg-$CASE || continue
  begin_capture ossl-tls12-reneg-$CASE
  start_server feed_R "${OSSL_SRV[@]}" -tls1_2 -no_resumption_on_reneg -verify_return_error
  run_client ossl_client -tls1_2 "${CC[@]}"
  end_capture
  expect_streams 1
  srv_log_has "SSL_do_handshake -> 1"
  case $CASE in
    good-cert)
      srv_log_has "depth=0 CN = mtls good client (EC)"; srv_log_lacks "verify error"; srv_log_has "GET / HTTP/1.0"
      expect_wire 0 "scr=1 ccert=c salert=- calert=- pha=no fin=2"
      R=(yes certificate accepted -)
      H="s_server stdin 'R' after 1.5 s (HelloRequest, full renegotiation, -no_resumption_on_reneg) requesting a cert; good EC cert; log: 'depth=0 CN = mtls good client (EC)', 'verify return:1', then the GET." ;;
    no-cert)
      srv_log_lacks "depth=0 CN"; srv_log_lacks "ERROR"; srv_log_has "GET / HTTP/1.0"
      expect_wire 0 "scr=1 ccert=e salert=- calert=- pha=no fin=2"
      R=(yes empty server-ignored -)
      H="s_server 'R' renegotiation requesting a cert (VERIFY_PEER without FAIL_IF_NO_PEER_CERT); client sent an empty Certificate; log: no error, renegotiation finished, GET received." ;;
    untrusted-cert)
      srv_log_has "verify error:num=20:unable to get local issuer certificate"; srv_log_has "certificate verify failed"
      cli_log_has 1 "SSL alert number 48"
      expect_wire 0 "scr=1 ccert=c salert=48 calert=- pha=no fin=1"
      R=(yes certificate rejected unknown_ca)
      H="s_server 'R' renegotiation requesting a cert; client cert from the untrusted CA; log: 'verify error:num=20', 'certificate verify failed'; server sent unknown_ca (encrypted)." ;;
  esac
  row 0 1 handshake no - not-requested - no no "$SV_OSSL -verify_return_error -no_resumption_on_reneg (stdin R)" "$CL_OSSL" \
    "Initial TLS 1.2 handshake without CertificateRequest (s_server without -verify)."
  row 0 2 renegotiation "${R[@]}" no no "$SV_OSSL -verify_return_error -no_resumption_on_reneg (stdin R)" "$CL_OSSL" "$H"
done
C_PRE=1

# ---- 11. session resumption: two connections in one capture ---------------
for V in 12 13; do
  PROTO=-tls1_$((V - 10)); TV="TLS 1.$((V - 10))"
  want ossl-tls$V-resumption || continue
  begin_capture ossl-tls$V-resumption
  start_server feed_idle "${OSSL_SRV[@]}" $PROTO -Verify 1 -naccept 2
  run_client ossl_client $PROTO "${GOOD[@]}" -sess_out "$D/session.pem"
  run_client ossl_client $PROTO "${GOOD[@]}" -sess_in "$D/session.pem"
  end_capture
  expect_streams 2; expect_new 1; expect_reused 2
  srv_log_has "Client certificate"
  expect_wire 0 "scr=1 ccert=c salert=- calert=- pha=no fin=1"
  expect_wire 1 "scr=0 ccert=- salert=- calert=- pha=no fin=1"
  row 0 1 handshake yes certificate accepted - no no "$SV_OSSL -Verify 1 -naccept 2" "$CL_OSSL -sess_out" \
    "s_server -Verify 1 ($TV) full handshake; good EC cert; client log 'New, TLSv1.$((V - 10))'; session saved with -sess_out."
  if [ $V = 12 ]; then
    H="Second connection resumes the TLS 1.2 session (session ticket, abbreviated handshake): no CertificateRequest; client log 'Reused, TLSv1.2'."
  else
    H="Second connection resumes with a TLS 1.3 PSK (psk_dhe_ke): no CertificateRequest allowed; client log 'Reused, TLSv1.3'."
  fi
  row 1 1 handshake no - not-requested - yes no "$SV_OSSL -Verify 1 -naccept 2" "$CL_OSSL -sess_in" "$H"
done

# ---- 12. TLS 1.3 HelloRetryRequest + required client auth -----------------
if want ossl-tls13-hrr-required-good-cert; then
begin_capture ossl-tls13-hrr-required-good-cert
start_server feed_idle "${OSSL_SRV[@]}" -tls1_3 -Verify 1 -groups X25519
run_client ossl_client -tls1_3 -groups P-256:X25519 "${GOODRSA[@]}" -ciphersuites TLS_AES_128_GCM_SHA256
end_capture
expect_streams 1; expect_new 1
srv_log_has "Client certificate"; srv_log_lacks "verify error"
NSH=$(ts -Y "tcp.srcport==$PORT" -T fields -e tls.handshake.type -E occurrence=a | tr ',' '\n' | grep -cx 2 || true)
NCH=$(ts -Y "tcp.dstport==$PORT" -T fields -e tls.handshake.type -E occurrence=a | tr ',' '\n' | grep -cx 1 || true)
[ "$NSH" = 2 ] && [ "$NCH" = 2 ] || die "expected HelloRetryRequest (2 ServerHello, 2 ClientHello), got $NSH/$NCH"
expect_wire 0 "scr=1 ccert=c salert=- calert=- pha=no fin=1"
row 0 1 handshake yes certificate accepted - no no "$SV_OSSL -Verify 1 -groups X25519" "$CL_OSSL -groups P-256:X25519" \
  "Client key share P-256 only, server wants X25519 -> HelloRetryRequest, second ClientHello; then required auth with a good RSA cert (TLS_AES_128_GCM_SHA256); log: 'Client certificate'."
fi

# ---- 10. GnuTLS -------------------------------------------------------------
# gnutls-serv modes: --require-client-cert checks presence only (the cert is
# NOT verified); --verify-client-cert verifies a cert if one is sent; both
# together = required and verified; -a = no request.
GREQ=(--require-client-cert --verify-client-cert)
GOPT=(--verify-client-cert)

# TLS 1.3 required + good, gnutls-cli
if want gnutls-tls13-required-good-cert; then
begin_capture gnutls-tls13-required-good-cert
start_server feed_idle "${GNUTLS_SRV[@]}" "${GREQ[@]}" --priority $G13
run_client gnutls_client "${G_GOOD[@]}"
end_capture persistent
expect_streams 1
srv_log_has "The certificate is trusted"; srv_log_has "Got a certificate list of 1 certificates"
expect_wire 0 "scr=1 ccert=c salert=- calert=- pha=no fin=1"
row 0 1 handshake yes certificate accepted - no no "$SV_GNU --require-client-cert --verify-client-cert" "$CL_GNU" \
  "gnutls-serv required+verified (TLS 1.3); good EC cert; log: 'The certificate is trusted', echo of the GET."
fi

# TLS 1.3 required + no cert, gnutls-cli
if want gnutls-tls13-required-no-cert; then
begin_capture gnutls-tls13-required-no-cert
start_server feed_idle "${GNUTLS_SRV[@]}" "${GREQ[@]}" --priority $G13
run_client gnutls_client
end_capture persistent
expect_streams 1
srv_log_has "Error in handshake: Certificate is required."
cli_log_has 1 "Received alert [116]"
expect_wire 0 "scr=1 ccert=e salert=116 calert=- pha=no fin=1"
row 0 1 handshake yes empty rejected certificate_required no no "$SV_GNU --require-client-cert --verify-client-cert" "$CL_GNU" \
  "gnutls-serv required (TLS 1.3); client sent an empty Certificate; log: 'Error in handshake: Certificate is required.'"
fi

# TLS 1.3 optional + no cert, gnutls-cli
if want gnutls-tls13-optional-no-cert; then
begin_capture gnutls-tls13-optional-no-cert
start_server feed_idle "${GNUTLS_SRV[@]}" "${GOPT[@]}" --priority $G13
run_client gnutls_client
end_capture persistent
expect_streams 1
srv_log_has "Accepted connection"; srv_log_lacks "Error in handshake"; srv_log_lacks "Got a certificate list"
expect_wire 0 "scr=1 ccert=e salert=- calert=- pha=no fin=1"
row 0 1 handshake yes empty server-ignored - no no "$SV_GNU --verify-client-cert" "$CL_GNU" \
  "gnutls-serv --verify-client-cert only (optional, TLS 1.3); empty Certificate; log: 'Accepted connection', no certificate list, GET echoed."
fi

# TLS 1.3 optional(verify) + untrusted cert -> rejected (GnuTLS sends two alerts)
if want gnutls-tls13-optional-untrusted-cert; then
begin_capture gnutls-tls13-optional-untrusted-cert
start_server feed_idle "${GNUTLS_SRV[@]}" "${GOPT[@]}" --priority $G13
run_client gnutls_client --x509certfile "$PKI/untrusted.pem" --x509keyfile "$PKI/untrusted.key"
end_capture persistent
expect_streams 1
srv_log_has "Error in handshake: Error in the certificate."
cli_log_has 1 "Received alert [49]"
expect_wire 0 "scr=1 ccert=c salert=49,42 calert=- pha=no fin=1"
row 0 1 handshake yes certificate rejected access_denied no no "$SV_GNU --verify-client-cert" "$CL_GNU" \
  "gnutls-serv --verify-client-cert (TLS 1.3) got a cert from the untrusted CA; log: 'Error in handshake: Error in the certificate.'; it sent access_denied, then bad_certificate."
fi

# TLS 1.3 require-only (presence, not verified) + untrusted cert -> accepted
if want gnutls-tls13-require-only-untrusted-cert; then
begin_capture gnutls-tls13-require-only-untrusted-cert
start_server feed_idle "${GNUTLS_SRV[@]}" --require-client-cert --priority $G13
run_client gnutls_client --x509certfile "$PKI/untrusted.pem" --x509keyfile "$PKI/untrusted.key"
end_capture persistent
expect_streams 1
srv_log_has "Peer's certificate was NOT verified."; srv_log_lacks "Error in handshake"
expect_wire 0 "scr=1 ccert=c salert=- calert=- pha=no fin=1"
row 0 1 handshake yes certificate accepted - no no "$SV_GNU --require-client-cert" "$CL_GNU" \
  "gnutls-serv --require-client-cert alone only checks presence (TLS 1.3); untrusted cert; log: \"Peer's certificate was NOT verified.\", GET echoed."
fi

# TLS 1.3 required + good, openssl s_client -> gnutls-serv
if want gnutls-serv-ossl-cli-tls13-required-good-cert; then
begin_capture gnutls-serv-ossl-cli-tls13-required-good-cert
start_server feed_idle "${GNUTLS_SRV[@]}" "${GREQ[@]}" --priority $G13
run_client ossl_client -tls1_3 "${GOODRSA[@]}"
end_capture persistent
expect_streams 1; expect_new 1
srv_log_has "The certificate is trusted"
expect_wire 0 "scr=1 ccert=c salert=- calert=- pha=no fin=1"
row 0 1 handshake yes certificate accepted - no no "$SV_GNU --require-client-cert --verify-client-cert" "$CL_OSSL" \
  "gnutls-serv required+verified (TLS 1.3) with an openssl client and a good RSA cert; log: 'The certificate is trusted'."
fi

# TLS 1.3 required + no cert, openssl s_client -> gnutls-serv
if want gnutls-serv-ossl-cli-tls13-required-no-cert; then
begin_capture gnutls-serv-ossl-cli-tls13-required-no-cert
start_server feed_idle "${GNUTLS_SRV[@]}" "${GREQ[@]}" --priority $G13
run_client ossl_client -tls1_3
end_capture persistent
expect_streams 1
srv_log_has "Error in handshake: Certificate is required."
cli_log_has 1 "SSL alert number 116"
expect_wire 0 "scr=1 ccert=e salert=116 calert=- pha=no fin=1"
row 0 1 handshake yes empty rejected certificate_required no no "$SV_GNU --require-client-cert --verify-client-cert" "$CL_OSSL" \
  "gnutls-serv required (TLS 1.3), openssl client without cert sent an empty Certificate; log: 'Error in handshake: Certificate is required.'"
fi

# TLS 1.2 required + good, gnutls-cli
if want gnutls-tls12-required-good-cert; then
begin_capture gnutls-tls12-required-good-cert
start_server feed_idle "${GNUTLS_SRV[@]}" "${GREQ[@]}" --priority $G12
run_client gnutls_client "${G_GOODRSA[@]}"
end_capture persistent
expect_streams 1
srv_log_has "The certificate is trusted"; srv_log_has "Version: TLS1.2"
expect_wire 0 "scr=1 ccert=c salert=- calert=- pha=no fin=1"
row 0 1 handshake yes certificate accepted - no no "$SV_GNU --require-client-cert --verify-client-cert" "$CL_GNU" \
  "gnutls-serv required+verified (TLS 1.2); good RSA cert; log: 'The certificate is trusted', 'Version: TLS1.2'."
fi

# TLS 1.2 required + no cert, gnutls-cli
if want gnutls-tls12-required-no-cert; then
begin_capture gnutls-tls12-required-no-cert
start_server feed_idle "${GNUTLS_SRV[@]}" "${GREQ[@]}" --priority $G12
run_client gnutls_client
end_capture persistent
expect_streams 1
srv_log_has "Error in handshake"
G12_NOCERT=$(wire 0 | sed -n 's/.*salert=\([^ ]*\).*/\1/p')
case "$G12_NOCERT" in
  40) G12_NAME=handshake_failure ;; 116) G12_NAME=certificate_required ;; 42) G12_NAME=bad_certificate ;; 50) G12_NAME=decode_error ;;
  *) die "unexpected GnuTLS TLS 1.2 no-cert alert '$G12_NOCERT'" ;;
esac
expect_wire 0 "scr=1 ccert=e salert=$G12_NOCERT calert=- pha=no fin=0"
G12_LOG=$(grep -m1 "Error in handshake" "$D/server.log")
row 0 1 handshake yes empty rejected $G12_NAME no no "$SV_GNU --require-client-cert --verify-client-cert" "$CL_GNU" \
  "gnutls-serv required (TLS 1.2); client sent an empty Certificate; log: '$G12_LOG'."
fi

# TLS 1.2 not requested (-a), gnutls-cli
if want gnutls-tls12-not-requested; then
begin_capture gnutls-tls12-not-requested
start_server feed_idle "${GNUTLS_SRV[@]}" -a --priority $G12
run_client gnutls_client "${G_GOOD[@]}"
end_capture persistent
expect_streams 1
srv_log_has "Accepted connection"; srv_log_lacks "Error in handshake"
expect_wire 0 "scr=0 ccert=- salert=- calert=- pha=no fin=1"
row 0 1 handshake no - not-requested - no no "$SV_GNU --disable-client-cert" "$CL_GNU" \
  "gnutls-serv -a (TLS 1.2) sends no CertificateRequest; log: 'Accepted connection', GET echoed."
fi

# ==========================================================================
# Added scenarios (SHA-256 suites, early close, nginx, EKU, CA lists)
# ==========================================================================

# more wire facts
# cr_dnames STREAM: length of the CA name list in the CertificateRequest(s)
#   (TLS 1.2 certificate_authorities field / TLS 1.3 certificate_authorities
#   extension), "absent" when a TLS 1.3 CertificateRequest has no such extension
cr_dnames() {
  local v; v=$(ts -Y "tcp.stream==$1 && tcp.srcport==$PORT && tls.handshake.type==13" -T fields -e tls.handshake.dnames_len -E occurrence=a | paste -sd, -)
  echo "${v:-absent}"
}
# http_status STREAM: HTTP response codes (decrypted), comma separated
http_status() { ts -Y "tcp.stream==$1 && http.response" -T fields -e http.response.code | paste -sd, -; }
# server_cs: cipher suite chosen by the server (hex)
server_cs() { ts -Y "tcp.srcport==$PORT && tls.handshake.type==2" -T fields -e tls.handshake.ciphersuite | head -1; }
# frames_of FILTER: frame numbers, one per line
frames_of() { ts -Y "$1" -T fields -e frame.number; }

# s_client that closes right after the handshake: stdin is /dev/null, so it
# sends close_notify as soon as SSL_connect returns.
ossl_client_close_now() {
  timeout 20 openssl s_client -connect $ADDR:$PORT -servername localhost \
    -CAfile "$PKI/ca.pem" -keylogfile "$D/keylog" "$@" < /dev/null
}
EXPIRED=(-cert "$PKI/expired.pem" -key "$PKI/expired.key")
SERVEREKU=(-cert "$PKI/servereku.pem" -key "$PKI/servereku.key")

# ---- 13. TLS 1.3 SHA-256 suites: AES-128-GCM and ChaCha20-Poly1305 ---------
for CASE in aes128-required-good-cert aes128-required-no-cert chacha20-required-good-cert; do
  want ossl-tls13-$CASE || continue
  case $CASE in
    aes128-*) CSN=TLS_AES_128_GCM_SHA256 CSX=0x1301 ;;
    chacha20-*) CSN=TLS_CHACHA20_POLY1305_SHA256 CSX=0x1303 ;;
  esac
  case $CASE in
    aes128-required-good-cert) CC=("${GOOD[@]}") KEY=EC ;;
    aes128-required-no-cert) CC=() KEY=none ;;
    chacha20-required-good-cert) CC=("${GOODRSA[@]}") KEY=RSA ;;
  esac
  begin_capture ossl-tls13-$CASE
  start_server feed_idle "${OSSL_SRV[@]}" -tls1_3 -Verify 1
  run_client ossl_client -tls1_3 -ciphersuites $CSN "${CC[@]}"
  end_capture
  expect_streams 1; cli_log_has 1 "$CSN"
  [ "$(server_cs)" = $CSX ] || die "server chose cipher suite $(server_cs), expected $CSX"
  if [ $KEY = none ]; then
    srv_log_has "peer did not return a certificate"
    cli_log_has 1 "SSL alert number 116"
    expect_wire 0 "scr=1 ccert=e salert=116 calert=- pha=no fin=1"
    row 0 1 handshake yes empty rejected certificate_required no no "$SV_OSSL -Verify 1" "$CL_OSSL -ciphersuites $CSN" \
      "s_server -Verify 1 (required, TLS 1.3, $CSN: SHA-256 Finished, 16-byte tag); client has no cert and sent an empty Certificate; log: 'peer did not return a certificate'; server sent certificate_required."
  else
    expect_new 1
    srv_log_has "Client certificate"; srv_log_lacks "verify error"
    expect_wire 0 "scr=1 ccert=c salert=- calert=- pha=no fin=1"
    row 0 1 handshake yes certificate accepted - no no "$SV_OSSL -Verify 1" "$CL_OSSL -ciphersuites $CSN" \
      "s_server -Verify 1 (required, TLS 1.3, $CSN: SHA-256 Finished); client sent a good $KEY cert; log: 'verify return:1', 'Client certificate'."
  fi
done

# ---- 14. client closes right after the handshake (TLS 1.3) -----------------
# s_client < /dev/null sends close_notify as soon as its handshake is done,
# i.e. right behind its Certificate/CertificateVerify/Finished.  The server
# still processes that flight before it reads the close_notify.
for CASE in good-cert good-cert-no-tickets no-cert; do
  want ossl-tls13-required-$CASE-client-closes || continue
  case $CASE in good-cert*) CC=("${GOOD[@]}");; no-cert) CC=();; esac
  case $CASE in *no-tickets) XT=(-num_tickets 0);; *) XT=();; esac
  begin_capture ossl-tls13-required-$CASE-client-closes
  start_server feed_idle "${OSSL_SRV[@]}" -tls1_3 -Verify 1 "${XT[@]}"
  run_client ossl_client_close_now -tls1_3 "${CC[@]}"
  end_capture
  expect_streams 1
  CCN=$(frames_of "tcp.dstport==$PORT && tls.alert_message.desc==0" | head -1)
  CCERT=$(frames_of "tcp.dstport==$PORT && tls.handshake.type==11" | head -1)
  [ -n "$CCERT" ] || die "no Certificate from the client"
  # without a cert the server's alert may reach the client before it closes
  [ -n "$CCN" ] || [ $CASE = no-cert ] || die "no close_notify from the client"
  CCN=${CCN:-999999}
  NST_FR=$(frames_of "tcp.srcport==$PORT && tls.handshake.type==4")
  NST_BEFORE=0 NST_AFTER=0
  for f in $NST_FR; do
    [ "$f" -gt "$CCERT" ] || die "NewSessionTicket in frame $f before the client's Certificate ($CCERT)"
    if [ "$f" -lt "$CCN" ]; then NST_BEFORE=$((NST_BEFORE + 1)); else NST_AFTER=$((NST_AFTER + 1)); fi
  done
  SDATA=$(frames_of "tcp.srcport==$PORT && tls.record.content_type==23" | grep -c . || true)
  case $CASE in
    good-cert)
      srv_log_has "Client certificate"; srv_log_lacks "verify error"
      expect_wire 0 "scr=1 ccert=c salert=- calert=- pha=no fin=1"
      [ $((NST_BEFORE + NST_AFTER)) -ge 1 ] || die "no NewSessionTicket from the server"
      row 0 1 handshake yes certificate accepted - no no "$SV_OSSL -Verify 1" "$CL_OSSL < /dev/null" \
        "s_server -Verify 1 (required, TLS 1.3); good EC cert; client sent close_notify right after its Finished; server NewSessionTickets: $NST_BEFORE before and $NST_AFTER after that close_notify (order is a race, varies per run), then the server's close_notify; log: 'Client certificate'."
      ;;
    good-cert-no-tickets)
      srv_log_has "Client certificate"; srv_log_lacks "verify error"
      expect_wire 0 "scr=1 ccert=c salert=- calert=- pha=no fin=1"
      [ $((NST_BEFORE + NST_AFTER)) = 0 ] || die "NewSessionTicket despite -num_tickets 0"
      [ "$SDATA" = 0 ] || die "server sent application data"
      row 0 1 handshake yes certificate undetermined - no no "$SV_OSSL -Verify 1 -num_tickets 0" "$CL_OSSL < /dev/null" \
        "s_server -Verify 1 -num_tickets 0 (required, TLS 1.3); good EC cert; client sent close_notify right after its Finished; the server sent nothing but its own close_notify (no ticket, no data, no alert), so the wire has no evidence either way (the server log does show 'Client certificate', i.e. it accepted)."
      ;;
    no-cert)
      srv_log_has "peer did not return a certificate"
      expect_wire 0 "scr=1 ccert=e salert=116 calert=- pha=no fin=1"
      SAL=$(frames_of "tcp.srcport==$PORT && tls.alert_message.level==2" | head -1)
      if [ "$CCN" = 999999 ]; then ORD="the server's certificate_required reached the client before it could close (no client close_notify at all; a race)"
      elif [ "$SAL" -gt "$CCN" ]; then ORD="the server's certificate_required came after the client's close_notify"
      else ORD="the server's certificate_required came before the client's close_notify"; fi
      row 0 1 handshake yes empty rejected certificate_required no no "$SV_OSSL -Verify 1" "$CL_OSSL < /dev/null" \
        "s_server -Verify 1 (required, TLS 1.3); client without cert (stdin /dev/null: closes right after its Finished) sent an empty Certificate; $ORD; log: 'peer did not return a certificate'."
      ;;
  esac
done

# ---- 15. client cert without clientAuth EKU (serverAuth only) --------------
for V in 12 13; do
  want ossl-tls$V-required-no-clientauth-eku || continue
  PROTO=-tls1_$((V - 10)); TV="TLS 1.$((V - 10))"
  begin_capture ossl-tls$V-required-no-clientauth-eku
  start_server feed_idle "${OSSL_SRV[@]}" $PROTO -Verify 1 -verify_return_error
  run_client ossl_client $PROTO "${SERVEREKU[@]}"
  end_capture
  expect_streams 1
  srv_log_has "verify error:num=26:unsuitable certificate purpose"
  srv_log_has "certificate verify failed"
  cli_log_has 1 "SSL alert number 43"
  if [ $V = 12 ]; then FR=0; else FR=1; fi
  expect_wire 0 "scr=1 ccert=c salert=43 calert=- pha=no fin=$FR"
  row 0 1 handshake yes certificate rejected unsupported_certificate no no "$SV_OSSL -Verify 1 -verify_return_error" "$CL_OSSL" \
    "s_server -Verify 1 -verify_return_error (required, $TV); client cert from the trusted CA but its extendedKeyUsage is serverAuth only (no clientAuth); log: 'verify error:num=26:unsuitable certificate purpose', 'certificate verify failed'; server sent unsupported_certificate."
done

# ---- 16. CertificateRequest with an empty CA list -------------------------
# Without -CAfile s_server has no client CA list; -verifyCAfile only sets the
# store that verifies the client chain.  TLS 1.2: certificate_authorities of
# length 0; TLS 1.3: no certificate_authorities extension.
OSSL_SRV_NOCA=(openssl s_server -accept $ADDR:$PORT -naccept 1 -cert "$PKI/server.pem" -key "$PKI/server.key" -verifyCAfile "$PKI/ca.pem")
for V in 12 13; do
  want ossl-tls$V-required-good-cert-empty-ca-list || continue
  PROTO=-tls1_$((V - 10)); TV="TLS 1.$((V - 10))"
  begin_capture ossl-tls$V-required-good-cert-empty-ca-list
  start_server feed_idle "${OSSL_SRV_NOCA[@]}" $PROTO -Verify 1 -verify_return_error
  run_client ossl_client $PROTO "${GOOD[@]}"
  end_capture
  expect_streams 1; expect_new 1
  srv_log_has "Client certificate"; srv_log_lacks "verify error"
  expect_wire 0 "scr=1 ccert=c salert=- calert=- pha=no fin=1"
  if [ $V = 12 ]; then EXP=0; W="certificate_authorities length 0"; else EXP=absent; W="no certificate_authorities extension"; fi
  [ "$(cr_dnames 0)" = $EXP ] || die "CertificateRequest CA list: got '$(cr_dnames 0)', expected '$EXP'"
  row 0 1 handshake yes certificate accepted - no no "$SV_OSSL -Verify 1 -verify_return_error -verifyCAfile (no -CAfile)" "$CL_OSSL" \
    "s_server -Verify 1 -verify_return_error ($TV) without -CAfile (client CA list empty, chain verified with -verifyCAfile): CertificateRequest has $W; good EC cert; log: 'verify return:1', 'Client certificate'."
done
# -no_ca_names (SSL_OP_DISABLE_TLSEXT_CA_NAMES) with -CAfile: OpenSSL 3.0 still
# sends a certificate_authorities extension, with an empty list (RFC 8446
# requires at least one name).
if want ossl-tls13-required-good-cert-no-ca-names; then
  begin_capture ossl-tls13-required-good-cert-no-ca-names
  start_server feed_idle "${OSSL_SRV[@]}" -tls1_3 -Verify 1 -verify_return_error -no_ca_names
  run_client ossl_client -tls1_3 "${GOOD[@]}"
  end_capture
  expect_streams 1; expect_new 1
  srv_log_has "Client certificate"; srv_log_lacks "verify error"
  expect_wire 0 "scr=1 ccert=c salert=- calert=- pha=no fin=1"
  [ "$(cr_dnames 0)" = 0 ] || die "CertificateRequest CA list: got '$(cr_dnames 0)', expected an empty extension"
  row 0 1 handshake yes certificate accepted - no no "$SV_OSSL -Verify 1 -verify_return_error -no_ca_names" "$CL_OSSL" \
    "s_server -Verify 1 -verify_return_error -no_ca_names (TLS 1.3): the CertificateRequest still carries a certificate_authorities extension, but with an empty list (length 0); good EC cert; log: 'Client certificate'."
fi

# ---- 17. nginx: client auth refused above TLS (HTTP 400) -------------------
# nginx never rejects a client certificate in the TLS handshake: with
# ssl_verify_client on|optional it requests a cert, finishes the handshake
# whatever it gets, and refuses the HTTP request with 400.  Client: curl.
NGINX_VER=$(nginx -v 2>&1 | sed 's,.*nginx/,,')
CURL_VER=$(curl --version | awk 'NR==1{print $2}')
SV_NGINX="nginx $NGINX_VER"
CL_CURL="curl $CURL_VER"
nginx_conf() { # protocols verify-mode [listen-options, default ssl]
  cat > "$D/nginx.conf" <<CONF
worker_processes 1;
master_process off;
daemon off;
error_log stderr info;
pid $D/nginx.pid;
events { worker_connections 16; }
http {
  log_format mtls '\$status ssl_client_verify=\$ssl_client_verify \$ssl_protocol \$ssl_cipher "\$request"';
  access_log $D/access.log mtls;
  client_body_temp_path $D/tmp; proxy_temp_path $D/tmp; fastcgi_temp_path $D/tmp;
  uwsgi_temp_path $D/tmp; scgi_temp_path $D/tmp;
  server {
    listen $ADDR:$PORT ${3:-ssl};
    server_name localhost;
    ssl_certificate $PKI/server.pem;
    ssl_certificate_key $PKI/server.key;
    ssl_client_certificate $PKI/ca.pem;
    ssl_verify_client $2;
    ssl_protocols $1;
    location / { return 200 "hello \$ssl_client_s_dn\n"; }
  }
}
CONF
  mkdir -p "$D/tmp"
}
CURL_HTTP=--http1.1   # --http2 for the h2 scenario (ALPN h2)
curl_client() { # curl args...
  SSLKEYLOGFILE="$D/keylog" timeout 20 curl -sS -i $CURL_HTTP --cacert "$PKI/ca.pem" \
    --resolve localhost:$PORT:$ADDR "$@" https://localhost:$PORT/
}
C_EXPIRED=(--cert "$PKI/expired.pem" --key "$PKI/expired.key")
C_SERVEREKU=(--cert "$PKI/servereku.pem" --key "$PKI/servereku.key")
C_GOOD=(--cert "$PKI/client.pem" --key "$PKI/client.key")
C_NOTYET=(--cert "$PKI/notyet.pem" --key "$PKI/notyet.key")
# http2_status STREAM: HTTP/2 :status values (decrypted, HPACK-decoded), comma separated
http2_status() { ts -Y "tcp.stream==$1 && http2.headers.status" -T fields -e http2.headers.status -E occurrence=a | paste -sd, -; }
for CASE in tls13-required-no-cert tls12-required-no-cert tls13-optional-good-cert tls13-required-expired-cert tls13-required-no-clientauth-eku \
            h2-tls13-required-no-cert tls13-required-not-yet-valid-cert; do
  want nginx-$CASE || continue
  # h2: nginx 'listen ... ssl http2;', curl --http2 (ALPN h2); the others HTTP/1.1
  case $CASE in
    h2-*) CURL_HTTP=--http2 LISTEN="ssl http2" ;;
    *) CURL_HTTP=--http1.1 LISTEN=ssl ;;
  esac
  # curl (OpenSSL backend) offers post_handshake_auth in TLS 1.3 ClientHellos
  case $CASE in tls12-*) CPHA=no;; *) CPHA=yes;; esac
  case $CASE in tls12-*) NP=TLSv1.2 CP=(--tlsv1.2 --tls-max 1.2) TV="TLS 1.2";; *) NP=TLSv1.3 CP=(--tlsv1.3) TV="TLS 1.3";; esac
  case $CASE in *optional*) VM=optional;; *) VM=on;; esac
  begin_capture nginx-$CASE
  nginx_conf $NP $VM "$LISTEN"
  start_server feed_idle nginx -c "$D/nginx.conf" -e stderr
  case $CASE in
    *no-cert) run_client curl_client "${CP[@]}" ;;
    *good-cert) run_client curl_client "${CP[@]}" "${C_GOOD[@]}" ;;
    *expired-cert) run_client curl_client "${CP[@]}" "${C_EXPIRED[@]}" ;;
    *no-clientauth-eku) run_client curl_client "${CP[@]}" "${C_SERVEREKU[@]}" ;;
    *not-yet-valid-cert) run_client curl_client "${CP[@]}" "${C_NOTYET[@]}" ;;
  esac
  end_capture persistent
  [ -f "$D/access.log" ] && { echo "---- access.log"; cat "$D/access.log"; } >> "$D/server.log"
  expect_streams 1
  srv_log_lacks "[crit]"; srv_log_lacks "SSL_do_handshake() failed"
  srv_log_has "$NP"
  case $CASE in
    h2-*no-cert)
      srv_log_has "client sent no required SSL certificate while reading client request headers"
      srv_log_has '400 ssl_client_verify=NONE TLSv1.3'; srv_log_has '"GET / HTTP/2.0"'
      cli_log_has 1 "HTTP/2 400"; cli_log_has 1 "No required SSL certificate was sent"
      expect_wire 0 "scr=1 ccert=e salert=- calert=- pha=$CPHA fin=1"
      # TLS 1.3: the server's ALPN choice is in EncryptedExtensions (decrypted)
      [ "$(ts -Y "tcp.srcport==$PORT && tls.handshake.extensions_alpn_str" -T fields -e tls.handshake.extensions_alpn_str)" = h2 ] ||
        die "server did not select ALPN h2"
      [ "$(http2_status 0)" = 400 ] || die "HTTP/2 :status on the wire: '$(http2_status 0)', expected 400"
      [ -z "$(http_status 0)" ] || die "HTTP/1.x response in the h2 capture: '$(http_status 0)'"
      row 0 1 handshake yes empty server-ignored - no $CPHA "$SV_NGINX listen ssl http2, ssl_verify_client on" "$CL_CURL --http2" \
        "nginx 'listen ... ssl http2' with ssl_verify_client on ($TV, ALPN h2); curl --http2 without cert sent an empty Certificate; nginx finished the handshake and answered HTTP 400 in an HTTP/2 HEADERS frame (:status 400; curl: 'HTTP/2 400', 'No required SSL certificate was sent'); log: 'client sent no required SSL certificate while reading client request headers', ssl_client_verify=NONE, \"GET / HTTP/2.0\"."
      ;;
    *no-cert)
      srv_log_has "client sent no required SSL certificate while reading client request headers"
      srv_log_has "400 ssl_client_verify=NONE"
      cli_log_has 1 "HTTP/1.1 400 Bad Request"; cli_log_has 1 "No required SSL certificate was sent"
      expect_wire 0 "scr=1 ccert=e salert=- calert=- pha=$CPHA fin=1"
      [ "$(http_status 0)" = 400 ] || die "HTTP status on the wire: '$(http_status 0)', expected 400"
      row 0 1 handshake yes empty server-ignored - no $CPHA "$SV_NGINX ssl_verify_client on" "$CL_CURL" \
        "nginx ssl_verify_client on ($TV); curl without cert sent an empty Certificate; nginx finished the handshake and answered HTTP 400 'No required SSL certificate was sent'; log: 'client sent no required SSL certificate while reading client request headers', ssl_client_verify=NONE."
      ;;
    *optional-good-cert)
      srv_log_has "200 ssl_client_verify=SUCCESS"
      cli_log_has 1 "HTTP/1.1 200 OK"; cli_log_has 1 "hello CN=mtls good client (EC)"
      expect_wire 0 "scr=1 ccert=c salert=- calert=- pha=$CPHA fin=1"
      [ "$(http_status 0)" = 200 ] || die "HTTP status on the wire: '$(http_status 0)', expected 200"
      row 0 1 handshake yes certificate accepted - no $CPHA "$SV_NGINX ssl_verify_client optional" "$CL_CURL" \
        "nginx ssl_verify_client optional ($TV); good EC cert; HTTP 200 with the client DN; access log: ssl_client_verify=SUCCESS."
      ;;
    *expired-cert)
      srv_log_has "client SSL certificate verify error: (10:certificate has expired)"
      srv_log_has "400 ssl_client_verify=FAILED:certificate has expired"
      cli_log_has 1 "HTTP/1.1 400 Bad Request"; cli_log_has 1 "The SSL certificate error"
      expect_wire 0 "scr=1 ccert=c salert=- calert=- pha=$CPHA fin=1"
      [ "$(http_status 0)" = 400 ] || die "HTTP status on the wire: '$(http_status 0)', expected 400"
      row 0 1 handshake yes certificate accepted - no $CPHA "$SV_NGINX ssl_verify_client on" "$CL_CURL" \
        "nginx ssl_verify_client on ($TV); client cert from the trusted CA but expired (notAfter 2020-01-31); TLS went on (no alert, tickets, response) but nginx answered HTTP 400 'The SSL certificate error'; log: 'client SSL certificate verify error: (10:certificate has expired)'. TLS-level verdict accepted, refused above TLS."
      ;;
    *no-clientauth-eku)
      srv_log_has "client SSL certificate verify error: (26:unsuitable certificate purpose)"
      cli_log_has 1 "HTTP/1.1 400 Bad Request"; cli_log_has 1 "The SSL certificate error"
      expect_wire 0 "scr=1 ccert=c salert=- calert=- pha=$CPHA fin=1"
      [ "$(http_status 0)" = 400 ] || die "HTTP status on the wire: '$(http_status 0)', expected 400"
      row 0 1 handshake yes certificate accepted - no $CPHA "$SV_NGINX ssl_verify_client on" "$CL_CURL" \
        "nginx ssl_verify_client on ($TV); client cert from the trusted CA with EKU serverAuth only; TLS went on but nginx answered HTTP 400 'The SSL certificate error'; log: 'client SSL certificate verify error: (26:unsuitable certificate purpose)'. TLS-level verdict accepted, refused above TLS."
      ;;
    *not-yet-valid-cert)
      srv_log_has "client SSL certificate verify error: (9:certificate is not yet valid)"
      srv_log_has "400 ssl_client_verify=FAILED:certificate is not yet valid"
      cli_log_has 1 "HTTP/1.1 400 Bad Request"; cli_log_has 1 "The SSL certificate error"
      expect_wire 0 "scr=1 ccert=c salert=- calert=- pha=$CPHA fin=1"
      [ "$(http_status 0)" = 400 ] || die "HTTP status on the wire: '$(http_status 0)', expected 400"
      row 0 1 handshake yes certificate accepted - no $CPHA "$SV_NGINX ssl_verify_client on" "$CL_CURL" \
        "nginx ssl_verify_client on ($TV); client cert from the trusted CA but not yet valid (notBefore 2099-01-01, made with openssl ca -startdate); TLS went on (no alert, tickets, response) but nginx answered HTTP 400 'The SSL certificate error'; log: 'client SSL certificate verify error: (9:certificate is not yet valid)', ssl_client_verify=FAILED:certificate is not yet valid. TLS-level verdict accepted, refused above TLS."
      ;;
  esac
done

# ---- 18. server writes application data before reading the client's cert --
# banner-server.c (libssl): SSL_read_early_data() returns once the server's
# first flight is written (the client offered no early data), then
# SSL_write_early_data() sends a banner ("0.5-RTT data", server-speaks-first
# protocol) and only then SSL_do_handshake() reads the client's Certificate.
# TCP_CORK puts the flight and the banner into one segment, so the banner is
# on the wire before the client's answer.  Python's ssl module cannot do this
# (no access to SSL_write_early_data; SSL_write before the handshake ends
# completes the handshake first).
BANNER_SRV=
banner_server_bin() {
  if [ -z "$BANNER_SRV" ]; then
    command -v gcc >/dev/null || die "gcc needed for banner-server.c"
    gcc -O1 -Wall -o "$WORK/banner-server" "$HERE/banner-server.c" -lssl -lcrypto 2> "$WORK/banner-server.cc.log" ||
      die "cannot compile banner-server.c (libssl-dev installed?): $(cat "$WORK/banner-server.cc.log")"
    BANNER_SRV=$WORK/banner-server
  fi
}
for CASE in required-good-cert required-no-cert optional-no-cert; do
  want ossl-tls13-banner-$CASE || continue
  banner_server_bin
  case $CASE in required-*) MODE=required;; *) MODE=optional;; esac
  case $CASE in *good-cert) CC=("${GOOD[@]}");; *) CC=();; esac
  begin_capture ossl-tls13-banner-$CASE
  start_server feed_idle "$BANNER_SRV" "$PKI" $PORT $MODE $'220 banner from the server\n'
  run_client ossl_client -tls1_3 "${CC[@]}"
  end_capture
  expect_streams 1
  srv_log_has "first flight sent, early data status 0, init finished 0"
  srv_log_has "banner written before the client's Certificate was read"
  cli_log_has 1 "220 banner from the server"
  BAN=$(frames_of "tcp.srcport==$PORT && tls.record.content_type==23" | head -1)
  CCERT=$(frames_of "tcp.dstport==$PORT && tls.handshake.type==11" | head -1)
  SFIN=$(frames_of "tcp.srcport==$PORT && tls.handshake.type==20" | head -1)
  [ -n "$BAN" ] && [ -n "$CCERT" ] && [ "$BAN" -lt "$CCERT" ] && [ "$BAN" = "$SFIN" ] ||
    die "banner (frame ${BAN:-none}) not in the server Finished segment (${SFIN:-none}) before the client's Certificate (${CCERT:-none})"
  SV="banner-server.c (libssl $OSSL_VER, SSL_write_early_data) $MODE"
  case $CASE in
    required-good-cert)
      srv_log_has "handshake done, client certificate: /CN=mtls good client (EC)"
      expect_wire 0 "scr=1 ccert=c salert=- calert=- pha=no fin=1"
      row 0 1 handshake yes certificate accepted - no no "$SV" "$CL_OSSL" \
        "TLS 1.3, SSL_VERIFY_PEER|FAIL_IF_NO_PEER_CERT; the server sent a banner (application data) in the segment of its Finished, before the client's Certificate; good EC cert; NewSessionTickets and the reply after it; log: 'banner written before the client's Certificate was read', 'handshake done, client certificate'." ;;
    required-no-cert)
      srv_log_has "peer did not return a certificate"
      cli_log_has 1 "SSL alert number 116"
      expect_wire 0 "scr=1 ccert=e salert=116 calert=- pha=no fin=1"
      row 0 1 handshake yes empty rejected certificate_required no no "$SV" "$CL_OSSL" \
        "TLS 1.3, SSL_VERIFY_PEER|FAIL_IF_NO_PEER_CERT; banner (application data) before the client's answer, then the empty Certificate and certificate_required: server data before the answer is not acceptance; log: 'peer did not return a certificate'." ;;
    optional-no-cert)
      srv_log_has "handshake done, no client certificate"
      expect_wire 0 "scr=1 ccert=e salert=- calert=- pha=no fin=1"
      row 0 1 handshake yes empty server-ignored - no no "$SV" "$CL_OSSL" \
        "TLS 1.3, SSL_VERIFY_PEER only (optional); banner (application data) before the client's answer; empty Certificate; server went on (tickets, reply); log: 'handshake done, no client certificate'." ;;
  esac
done

# ---- 19. client cert not yet valid (notBefore 2099-01-01) -----------------
# OpenSSL maps X509_V_ERR_CERT_NOT_YET_VALID (9) to the bad_certificate alert.
NOTYET=(-cert "$PKI/notyet.pem" -key "$PKI/notyet.key")
for V in 12 13; do
  want ossl-tls$V-required-not-yet-valid-cert || continue
  PROTO=-tls1_$((V - 10)); TV="TLS 1.$((V - 10))"
  if [ $V = 12 ]; then FR=0; else FR=1; fi
  begin_capture ossl-tls$V-required-not-yet-valid-cert
  start_server feed_idle "${OSSL_SRV[@]}" $PROTO -Verify 1 -verify_return_error
  run_client ossl_client $PROTO "${NOTYET[@]}"
  end_capture
  expect_streams 1
  srv_log_has "verify error:num=9:certificate is not yet valid"
  srv_log_has "certificate verify failed"
  cli_log_has 1 "SSL alert number 42"
  expect_wire 0 "scr=1 ccert=c salert=42 calert=- pha=no fin=$FR"
  row 0 1 handshake yes certificate rejected bad_certificate no no "$SV_OSSL -Verify 1 -verify_return_error" "$CL_OSSL" \
    "s_server -Verify 1 -verify_return_error (required, $TV); client cert from the trusted CA but not yet valid (notBefore 2099-01-01, made with openssl ca -startdate); log: 'verify error:num=9:certificate is not yet valid', 'certificate verify failed'; server sent bad_certificate."
done

# ---- 20. very large CA list (> 12 KB of distinguished names) ---------------
# s_server sends the subject names of its -CAfile certificates as the client
# CA list.  The bundle: NBIG generated self-signed CA certs with long subject
# DNs, then the trusted CA (so the good client cert verifies and its issuer is
# listed, last).  The list length (2 + DER length per name, as on the wire) is
# computed from the PEM bundle by der_subject_sizes below, independently of
# Wireshark, and checked against tshark's dnames_len.  The names are long
# (~300 bytes) rather than many: the list (~18 KB) spans two TLS records, yet
# stays at 61 names, because Wireshark 4.0 adds ~6 protocol layers per
# dissected name and gives up past 500 layers in one frame (gui.max_tree_depth:
# with 81 names the TLS 1.3 flight failed with a dissector bug, see README).
cat > "$WORK/der_subject_sizes.py" <<'PYEOF'
import base64, re, sys
def tlv(b, i):  # -> (tag, content start, content length)
    tag, n, j = b[i], b[i + 1], i + 2
    if n & 0x80:
        k = n & 0x7f; n = int.from_bytes(b[j:j + k], "big"); j += k
    return tag, j, n
count = total = 0
for m in re.finditer(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", open(sys.argv[1]).read(), re.S):
    der = base64.b64decode("".join(m.group(1).split()))
    _, c, _ = tlv(der, 0)                     # Certificate
    _, t, tl = tlv(der, c)                    # tbsCertificate
    fields, i = [], t
    while i < t + tl:
        tag, j, n = tlv(der, i); fields.append((tag, i, j + n)); i = j + n
    if fields[0][0] == 0xa0:                  # [0] version
        fields = fields[1:]
    _, start, end = fields[4]                 # serial, signature, issuer, validity, subject
    count += 1; total += 2 + end - start
print(count, total)
PYEOF
BIG_CAFILE= BIG_COUNT= BIG_LEN=
make_big_ca_list() { # NBIG
  [ -n "$BIG_CAFILE" ] && return 0
  local i n=$1
  mkdir -p "$PKI/bigca"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/bigca/key.pem" 2>/dev/null
  for i in $(seq -w 1 "$n"); do
    openssl req -x509 -new -key "$PKI/bigca/key.pem" -days 3650 -out "$PKI/bigca/ca$i.pem" \
      -subj "/C=DE/ST=Nordrhein-Westfalen Regierungsbezirk Duesseldorf Kreis Mettmann/L=Musterstadt an der Ruhr Ortsteil Unterdorf Postfach 1234/O=mtls sample bulk issuing authority $i of the example org/OU=Client certificates for department $i of the example org/CN=mtls sample bulk client CA $i for department $i" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null ||
      die "PKI: bulk CA $i"
  done
  cat "$PKI"/bigca/ca*.pem "$PKI/ca.pem" > "$PKI/bigca.pem"
  read -r BIG_COUNT BIG_LEN < <("$PY" "$WORK/der_subject_sizes.py" "$PKI/bigca.pem")
  [ "$BIG_COUNT" = $((10#$n + 1)) ] || die "bulk CA bundle has $BIG_COUNT certs, expected $((10#$n + 1))"
  [ "$BIG_LEN" -gt 12288 ] || die "bulk CA list is only $BIG_LEN bytes"
  BIG_CAFILE=$PKI/bigca.pem
}
OSSL_SRV_BIG=(openssl s_server -accept $ADDR:$PORT -naccept 1 -cert "$PKI/server.pem" -key "$PKI/server.key")
for V in 12 13; do
  want ossl-tls$V-required-good-cert-large-ca-list || continue
  PROTO=-tls1_$((V - 10)); TV="TLS 1.$((V - 10))"
  make_big_ca_list 60
  begin_capture ossl-tls$V-required-good-cert-large-ca-list
  start_server feed_idle "${OSSL_SRV_BIG[@]}" -CAfile "$BIG_CAFILE" $PROTO -Verify 1 -verify_return_error
  run_client ossl_client $PROTO "${GOOD[@]}"
  end_capture
  expect_streams 1; expect_new 1
  srv_log_has "Client certificate"; srv_log_lacks "verify error"
  expect_wire 0 "scr=1 ccert=c salert=- calert=- pha=no fin=1"
  [ "$(cr_dnames 0)" = "$BIG_LEN" ] || die "CertificateRequest CA list on the wire: '$(cr_dnames 0)' bytes, expected $BIG_LEN"
  N=$(ts -Y "tcp.stream==0 && tls.handshake.type==13" -T fields -e tls.handshake.dname_len -E occurrence=a | tr ',' '\n' | grep -c . || true)
  [ "$N" = "$BIG_COUNT" ] || die "CertificateRequest lists $N names on the wire, expected $BIG_COUNT"
  # s_client prints the names it was offered, one per line, after this header
  N=$(awk '/^Acceptable client certificate CA names/{on=1; next} on && /^(Requested|Client Certificate Types|Shared)/{on=0} on' "$D/client1.log" | grep -c . || true)
  [ "$N" = "$BIG_COUNT" ] || die "s_client printed $N acceptable CA names, expected $BIG_COUNT"
  cli_log_has 1 "CN = mtls sample trusted CA"
  row 0 1 handshake yes certificate accepted - no no "$SV_OSSL -Verify 1 -verify_return_error -CAfile (bundle of $BIG_COUNT CAs)" "$CL_OSSL" \
    "s_server -Verify 1 -verify_return_error (required, $TV) with -CAfile a bundle of $((BIG_COUNT - 1)) generated CA certs with long subject DNs plus the trusted CA (last): the CertificateRequest lists $BIG_COUNT names, $BIG_LEN bytes (2 + DER subject length each, computed from the PEM bundle; the same on the wire; s_client printed $BIG_COUNT acceptable CA names); good EC cert; log: 'Client certificate'."
done

# ==========================================================================
# TCP-level scenarios: TLS records one byte per TCP segment, a lossy and
# reordering link, captures that start in the middle of the handshake
# ==========================================================================

# tls_records.py CAPTURE-TSV SERVER-PORT: the TLS records of each direction of
# one TCP connection, read from the TCP payload bytes (not from Wireshark's TLS
# dissector).  Input: tshark -T fields -e frame.number -e tcp.srcport -e tcp.seq
# -e tcp.len -e tcp.payload (relative sequence numbers, one stream).  A
# connection whose start is not in the capture is read from the first payload
# byte on, as far as it lines up with a record header.
# Output, one line per record:
#   <server|client> <index> type=<t> bytes=<5+length> frames=<first>-<last> segments=<n> start=<byte offset> [hs=<handshake type, plaintext records>]
cat > "$WORK/tls_records.py" <<'PYEOF'
import sys
port = sys.argv[2]
data = {"server": {}, "client": {}}
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    if len(f) < 5 or not f[3] or int(f[3]) == 0:
        continue
    side = "server" if f[1] == port else "client"
    seq, payload = int(f[2]), bytes.fromhex(f[4].replace(":", ""))
    for i, b in enumerate(payload):           # first copy of each byte wins
        data[side].setdefault(seq + i, (b, int(f[0])))
for side in ("server", "client"):
    got = data[side]
    if not got:
        continue
    first = min(got)
    buf, frames, pos = bytearray(), [], first
    while pos in got:
        buf.append(got[pos][0]); frames.append(got[pos][1]); pos += 1
    off, n = 0, 0
    while off + 5 <= len(buf):
        rtype, length = buf[off], int.from_bytes(buf[off + 3:off + 5], "big")
        if rtype not in (20, 21, 22, 23) or buf[off + 1] != 3:
            print(f"{side} unaligned at={off}")
            break
        end = min(off + 5 + length, len(buf))
        fr = frames[off:end]
        n += 1
        hs = f" hs={buf[off + 5]}" if rtype == 22 and off + 5 < len(buf) else ""
        print(f"{side} {n} type={rtype} bytes={5 + length} frames={fr[0]}-{fr[-1]} "
              f"segments={len(set(fr))} start={off}{hs}")
        off += 5 + length
PYEOF
# records [STREAM]: tls_records.py on the capture being made
records() {
  ts -Y "tcp.stream==${1:-0} && tcp.len > 0" -T fields -e frame.number -e tcp.srcport -e tcp.seq \
    -e tcp.len -e tcp.payload > "$D/payload.tsv"
  "$PY" "$WORK/tls_records.py" "$D/payload.tsv" $PORT
}

# ---- 21. TLS records one byte per TCP segment -------------------------------
# client -> byte-relay.py (127.0.0.2:443) -> byte-relay.py (127.0.0.3:443) ->
# s_server (127.0.0.1:443).  Each relay writes every byte it reads as a TCP
# segment of its own, so on the leg between the two relays (the only one
# captured) both directions are one byte per segment: the client's bytes
# as written by the first relay, the server's by the second.  To keep the
# captures small (two packets per byte: the segment and, mostly, its ACK) the
# server has a small EC certificate and neither side sends its CA certificate
# (-chainCAfile naming the leaf itself: the chain built has no issuer);
# TLS 1.3 servers send one ticket, a stateful one (-num_tickets 1 -no_ticket:
# 74 bytes on the wire instead of OpenSSL's 700-byte stateless ticket).
make_small_server_cert() {
  [ -f "$PKI/serverec.pem" ] && return 0
  ( cd "$PKI" && days=3650 && leaf serverec ec ca localhost $'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost' )
  openssl verify -CAfile "$PKI/ca.pem" "$PKI/serverec.pem" >/dev/null || die "PKI: serverec does not verify"
}
# begin_capture_on NAME IFACE FILTER [PREFIX...]: begin_capture on another
# interface and filter, with a 32 MB capture buffer (a first run of the
# byte-per-segment scenarios lost 30 of ~3000 packets with the default);
# tcpdump runs through PREFIX (nsenter ...) if given.  The caller makes a
# fresh $WORK/NAME (D) first.  expect_no_drops checks tcpdump's count.
begin_capture_on() {
  NAME=$1; local iface=$2 filter=$3; shift 3
  D=$WORK/$NAME; mkdir -p "$D"; : > "$D/keylog"; CLIENT_N=0
  log "scenario $NAME"
  wait_port_free
  "$@" tcpdump -i "$iface" -n -U --immediate-mode -B 32768 -w "$D/raw.pcap" "$filter" 2> "$D/tcpdump.log" & TCPDUMP_PID=$!
  local i; for i in $(seq 100); do grep -q "listening on" "$D/tcpdump.log" 2>/dev/null && break; sleep 0.1; done
  grep -q "listening on" "$D/tcpdump.log" || die "tcpdump did not start"
}
expect_no_drops() {
  grep -q "^0 packets dropped by kernel" "$D/tcpdump.log" || die "tcpdump: $(grep dropped "$D/tcpdump.log" | paste -sd';' -)"
}
RELAY_PIDS=
start_relay() { # name listen-addr upstream-addr (port $PORT both; upstream from listen-addr)
  "$PY" "$HERE/byte-relay.py" "$2" $PORT "$3" $PORT "$2" > "$D/$1.log" 2>&1 & RELAY_PIDS="$RELAY_PIDS $!"
  EXTRA_PIDS="$EXTRA_PIDS $!"
  local i; for i in $(seq 100); do grep -q "^listening" "$D/$1.log" && return 0; sleep 0.1; done
  die "relay $1 did not start: $(cat "$D/$1.log")"
}
wait_relays() {
  local p i
  for p in $RELAY_PIDS; do
    for i in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null && die "relay $p still running after the connection"
    wait "$p" 2>/dev/null || true
    EXTRA_PIDS=${EXTRA_PIDS/ $p/}
  done
  RELAY_PIDS=
}
for CASE in tls13-required-good-cert tls12-required-no-cert; do
  want ossl-$CASE-byte-segments || continue
  case $CASE in tls13-*) V=13;; *) V=12;; esac
  PROTO=-tls1_$((V - 10)); TV="TLS 1.$((V - 10))"
  make_small_server_cert
  rm -rf "$WORK/ossl-$CASE-byte-segments"
  begin_capture_on ossl-$CASE-byte-segments lo "tcp port $PORT and host 127.0.0.2 and host 127.0.0.3"
  SRV=(openssl s_server -accept $ADDR:$PORT -naccept 1 -cert "$PKI/serverec.pem" -key "$PKI/serverec.key"
       -CAfile "$PKI/ca.pem" -chainCAfile "$PKI/serverec.pem" $PROTO -Verify 1)
  [ $V = 13 ] && SRV+=(-num_tickets 1 -no_ticket)
  start_server feed_idle "${SRV[@]}"
  start_relay relay-server 127.0.0.3 $ADDR
  start_relay relay-client 127.0.0.2 127.0.0.3
  C_PRE=3 C_POST=2 C_CONNECT=127.0.0.2:$PORT
  if [ $V = 13 ]; then run_client ossl_client $PROTO "${GOOD[@]}" -chainCAfile "$PKI/client.pem"
  else run_client ossl_client $PROTO; fi
  C_PRE=1 C_POST=1 C_CONNECT=
  wait_relays
  end_capture
  expect_no_drops
  expect_streams 1
  # both relays forwarded the same bytes, one send() each
  read -r _ DOWN _ _ DOWN_SENDS _ < <(grep '^down ' "$D/relay-client.log")
  read -r _ UP _ _ UP_SENDS _ < <(grep '^up ' "$D/relay-server.log")
  [ "$DOWN" = "$DOWN_SENDS" ] && [ "$UP" = "$UP_SENDS" ] && [ "$DOWN" -gt 0 ] && [ "$UP" -gt 0 ] ||
    die "relays: client->server $DOWN bytes in $DOWN_SENDS sends, server->client $UP bytes in $UP_SENDS sends"
  grep -q "^down $DOWN bytes" "$D/relay-server.log" && grep -q "^up $UP bytes" "$D/relay-client.log" ||
    die "the two relays forwarded different byte counts"
  # on the wire: every segment carries one byte, none is retransmitted
  N=$(ts -Y "tcp.len > 1" -T fields -e frame.number | grep -c . || true)
  [ "$N" = 0 ] || die "$N segments carry more than one byte"
  N=$(ts -Y "tcp.analysis.retransmission || tcp.analysis.out_of_order || tcp.analysis.lost_segment" -T fields -e frame.number | grep -c . || true)
  [ "$N" = 0 ] || die "$N retransmitted/out-of-order/lost segments on lo"
  CS1=$(ts -Y "tcp.len == 1 && tcp.dstport==$PORT" -T fields -e frame.number | grep -c . || true)
  SC1=$(ts -Y "tcp.len == 1 && tcp.srcport==$PORT" -T fields -e frame.number | grep -c . || true)
  [ "$CS1" = "$DOWN" ] && [ "$SC1" = "$UP" ] ||
    die "one-byte segments: client->server $CS1 (relay: $DOWN), server->client $SC1 (relay: $UP)"
  NPKT=$(ts -T fields -e frame.number | grep -c . || true)
  # every record: as many segments as bytes
  records > "$D/records"
  awk '{ split($4, b, "="); split($6, s, "="); if (b[2] != s[2]) bad = bad " " $0 } END { if (bad) { print bad; exit 1 } }' "$D/records" ||
    die "a TLS record did not arrive one byte per segment: $(cat "$D/records")"
  NREC=$(grep -c . "$D/records")
  # the CertificateRequest's record: its size and segments (TLS 1.2 in clear; TLS 1.3 decrypted)
  CRF=$(frames_of "tcp.srcport==$PORT && tls.handshake.type==13" | head -1)
  [ -n "$CRF" ] || die "no CertificateRequest dissected"
  CRSEG=$(ts -Y "frame.number==$CRF" -T fields -e tcp.segment.count)
  SV="$SV_OSSL -Verify 1 (EC server cert, -chainCAfile leaf)"
  CL="$CL_OSSL via 2x byte-relay.py"
  case $CASE in
    tls13-required-good-cert)
      srv_log_has "Client certificate"; srv_log_lacks "verify error"
      expect_wire 0 "scr=1 ccert=c salert=- calert=- pha=no fin=1"
      CCERT=$(frames_of "tcp.dstport==$PORT && tls.handshake.type==11" | head -1)
      NST=$(frames_of "tcp.srcport==$PORT && tls.handshake.type==4" | head -1)
      [ -n "$NST" ] && [ "$NST" -gt "$CCERT" ] || die "no NewSessionTicket after the client's Certificate ($CCERT)"
      N=$(ts -Y "frame.number==$CCERT" -T fields -e tls.handshake.certificate_length -E occurrence=a | tr ',' '\n' | grep -c . || true)
      [ "$N" = 1 ] || die "client sent $N certificates, expected the leaf only"
      row 0 1 handshake yes certificate accepted - no no "$SV -num_tickets 1 -no_ticket" "$CL" \
        "s_server -Verify 1 (required, $TV); good EC cert (leaf only); every byte of both directions in a TCP segment of its own (two byte-relay.py in a row, the leg between them captured): $NREC TLS records, $DOWN client and $UP server bytes in as many 1-byte segments, $NPKT packets with the ACKs; the CertificateRequest record alone is $CRSEG segments; NewSessionTicket after the client's Certificate; log: 'Client certificate'."
      ;;
    tls12-required-no-cert)
      srv_log_has "peer did not return a certificate"
      cli_log_has 1 "SSL alert number 40"
      expect_wire 0 "scr=1 ccert=e salert=40 calert=- pha=no fin=0"
      row 0 1 handshake yes empty rejected handshake_failure no no "$SV" "$CL" \
        "s_server -Verify 1 (required, $TV); client has no cert and sent an empty Certificate; every byte of both directions in a TCP segment of its own (two byte-relay.py in a row, the leg between them captured): $NREC TLS records, $DOWN client and $UP server bytes in as many 1-byte segments, $NPKT packets with the ACKs; the CertificateRequest record alone is $CRSEG segments; log: 'peer did not return a certificate'; server sent handshake_failure, also one byte per segment."
      ;;
  esac
done

# ---- 22. a lossy, reordering, duplicating link (user-space netem) ----------
# This kernel has no sch_netem ("tc qdisc add dev X root netem ...": "Specified
# qdisc kind is unknown"; no modprobe, no /lib/modules), so impair-tun.py does
# netem's job in user space between two TUN devices: mtls-s (192.0.2.1, the
# server, in this script's network namespace) and mtls-c (192.0.2.2, the
# client, in a namespace of its own), both directions "delay 10ms reorder 25%
# 50% duplicate 10% loss 5%", seeded.  Both TCP stacks are the kernel's.  The
# capture is taken on the client's TUN device: the server's segments arrive
# there lost, duplicated and out of order, the client's leave as sent (its
# retransmissions included).  A run is kept only when the TLS handshake (up to
# the server's decision) shows at least one retransmitted and one out-of-order
# data segment; otherwise the next seed is tried.  Each scenario starts at the
# seed that gave its sample capture (IMP_SEED below); the decisions depend only
# on the seed and the order of the packets, so a rerun mostly succeeds at once.
# Wireshark 4.0 does not reassemble out-of-order segments by default
# (tcp.reassemble_out_of_order is off): the wire checks use
# -o tcp.reassemble_out_of_order:TRUE; what plain defaults show is recorded.
IMP_SRV=192.0.2.1 IMP_CLI=192.0.2.2
IMP_PARAMS=(delay=0.010 reorder=0.25 corr=0.5 duplicate=0.10 loss=0.05)
IMP_TRIES=40
impaired_up() { # seed
  command -v nsenter >/dev/null || die "missing nsenter (util-linux)"
  [ -e /dev/net/tun ] || die "no /dev/net/tun"
  unshare --net sleep 600 & CNS_PID=$!; EXTRA_PIDS="$EXTRA_PIDS $CNS_PID"
  local i
  for i in $(seq 50); do
    [ "$(readlink /proc/$CNS_PID/ns/net 2>/dev/null)" != "$(readlink /proc/$$/ns/net)" ] && break; sleep 0.05
  done
  CNS=/proc/$CNS_PID/ns/net
  "$PY" "$HERE/impair-tun.py" "$D/impair.log" mtls-s "$CNS" mtls-c seed="$1" "${IMP_PARAMS[@]}" > "$D/impair.out" 2>&1 &
  IMP_PID=$!; EXTRA_PIDS="$EXTRA_PIDS $IMP_PID"
  for i in $(seq 50); do grep -q ready "$D/impair.out" 2>/dev/null && break; sleep 0.1; done
  grep -q ready "$D/impair.out" || die "impair-tun.py did not start: $(cat "$D/impair.out")"
  sysctl -qw net.ipv6.conf.mtls-s.disable_ipv6=1 2>/dev/null || true
  ip addr add $IMP_SRV/24 dev mtls-s && ip link set mtls-s up || die "cannot configure mtls-s"
  nsenter --net="$CNS" sh -c "sysctl -qw net.ipv6.conf.mtls-c.disable_ipv6=1 2>/dev/null; ip link set lo up &&
    ip addr add $IMP_CLI/24 dev mtls-c && ip link set mtls-c up" || die "cannot configure mtls-c"
}
impaired_down() {
  kill "$IMP_PID" 2>/dev/null || true; wait "$IMP_PID" 2>/dev/null || true
  kill "$CNS_PID" 2>/dev/null || true; wait "$CNS_PID" 2>/dev/null || true
  EXTRA_PIDS=${EXTRA_PIDS/ $IMP_PID/}; EXTRA_PIDS=${EXTRA_PIDS/ $CNS_PID/}
  IMP_PID= CNS_PID=
}
# imp_count FILTER: data segments up to frame $DEC (the decision) matching FILTER
imp_count() { ts -Y "tcp.len > 0 && frame.number <= $DEC && ($1)" -T fields -e frame.number | grep -c . || true; }
imp_all() { ts -Y "$1" -T fields -e frame.number | grep -c . || true; }
RETX="tcp.analysis.retransmission || tcp.analysis.fast_retransmission || tcp.analysis.spurious_retransmission"
for CASE in tls13-required-good-cert tls13-required-no-cert tls12-required-no-cert; do
  want ossl-$CASE-impaired-net || continue
  case $CASE in tls13-*) V=13;; *) V=12;; esac
  PROTO=-tls1_$((V - 10)); TV="TLS 1.$((V - 10))"
  if [ $V = 12 ]; then NOCERT_ALERT=40 NOCERT_NAME=handshake_failure FR=0; else NOCERT_ALERT=116 NOCERT_NAME=certificate_required FR=1; fi
  case $CASE in tls13-required-good-cert) IMP_SEED=1;; *) IMP_SEED=28;; esac
  SEED=$((IMP_SEED - 1)) WHY=
  while :; do
    SEED=$((SEED + 1))
    [ $SEED -lt $((IMP_SEED + IMP_TRIES)) ] || die "no run out of $IMP_TRIES showed retransmission + out-of-order in the handshake (last: $WHY)"
    NAME=ossl-$CASE-impaired-net; D=$WORK/$NAME; rm -rf "$D"; mkdir -p "$D"
    impaired_up $SEED
    begin_capture_on ossl-$CASE-impaired-net mtls-c "tcp port $PORT" nsenter --net="$CNS"
    start_server feed_idle openssl s_server -accept $IMP_SRV:$PORT -naccept 1 -cert "$PKI/server.pem" -key "$PKI/server.key" \
      -CAfile "$PKI/ca.pem" $PROTO -Verify 1
    C_CONNECT=$IMP_SRV:$PORT C_WRAP=(nsenter --net="$CNS") C_POST=2
    case $CASE in *good-cert) run_client ossl_client $PROTO "${GOOD[@]}";; *) run_client ossl_client $PROTO;; esac
    C_CONNECT= C_WRAP=() C_POST=1
    end_capture
    impaired_down
    expect_no_drops
    TS_OPTS=(-o tcp.reassemble_out_of_order:TRUE)
    WIRE=$(wire 0)
    case $CASE in
      *good-cert) WANT="scr=1 ccert=c salert=- calert=- pha=no fin=1"; OK=$(grep -c "Client certificate" "$D/server.log" || true)
                  DEC=$(frames_of "tcp.srcport==$PORT && tls.handshake.type==4" | head -1) ;;
      *) WANT="scr=1 ccert=e salert=$NOCERT_ALERT calert=- pha=no fin=$FR"; OK=$(grep -c "peer did not return a certificate" "$D/server.log" || true)
         DEC=$(frames_of "tcp.srcport==$PORT && tls.alert_message.level==2" | head -1) ;;
    esac
    NSTREAMS=$(ts -T fields -e tcp.stream | sort -u | grep -c . || true)
    if [ "$OK" = 0 ]; then WHY="server log does not show the expected outcome"
    elif [ "$NSTREAMS" != 1 ]; then WHY="$NSTREAMS TCP connections"
    elif [ "$WIRE" != "$WANT" ]; then WHY="wire '$WIRE', expected '$WANT'"
    elif [ -z "$DEC" ]; then WHY="no decision frame"
    else
      HS_RETX=$(imp_count "$RETX"); HS_OOO=$(imp_count "tcp.analysis.out_of_order")
      if [ "$HS_RETX" -ge 1 ] && [ "$HS_OOO" -ge 1 ]; then TS_OPTS=(); break; fi
      WHY="seed $SEED: handshake (frames 1-$DEC) has $HS_RETX retransmitted and $HS_OOO out-of-order data segments"
    fi
    TS_OPTS=()
    log "  retry: $WHY"
    wait_port_free
  done
  # the accepted run passed the checks above with tcp.reassemble_out_of_order; now the fatal ones
  TS_OPTS=(-o tcp.reassemble_out_of_order:TRUE)
  expect_streams 1
  expect_wire 0 "$WANT"
  case $CASE in
    *good-cert)
      srv_log_has "Client certificate"; srv_log_lacks "verify error"
      CCERT=$(frames_of "tcp.dstport==$PORT && tls.handshake.type==11" | head -1)
      [ "$DEC" -gt "$CCERT" ] || die "NewSessionTicket ($DEC) before the client's Certificate ($CCERT)" ;;
    *) srv_log_has "peer did not return a certificate"; cli_log_has 1 "SSL alert number $NOCERT_ALERT" ;;
  esac
  # counts over the whole capture, default preferences (the TCP analysis does not depend on reassembly)
  TS_OPTS=()
  ALL_RETX=$(imp_all "$RETX"); ALL_OOO=$(imp_all "tcp.analysis.out_of_order")
  ALL_DUPACK=$(imp_all "tcp.analysis.duplicate_ack"); ALL_LOST=$(imp_all "tcp.analysis.lost_segment")
  NPKT=$(imp_all "frame")
  # frame -> kind, most specific kind last
  declare -A KIND=()
  for K in retransmission fast_retransmission spurious_retransmission out_of_order; do
    for F in $(ts -Y "tcp.len > 0 && frame.number <= $DEC && tcp.analysis.$K" -T fields -e frame.number); do KIND[$F]=${K//_/-}; done
  done
  HS_DETAIL=$(for F in "${!KIND[@]}"; do
      ts -Y "frame.number==$F" -T fields -e frame.number -e tcp.srcport -e tcp.len | tr '\n' '\t'; echo "${KIND[$F]}"
    done | sort -n | awk -F'\t' -v p=$PORT '{ printf "%sframe %s %s (%s, %d bytes)", (NR > 1 ? ", " : ""), $1, $4, ($2 == p ? "server" : "client"), $3 }')
  unset KIND
  DEFAULT_WIRE=$(wire 0)
  if [ "$DEFAULT_WIRE" = "$WANT" ]; then DEF="plain tshark with default preferences dissects the same"
  else DEF="plain tshark with default preferences (no out-of-order reassembly) shows only '$DEFAULT_WIRE'"; fi
  IMP_SUM=$(grep -v '^ready' "$D/impair.out" | paste -sd';' - | sed 's/;/; /g')
  echo "$NAME seed=$SEED hs_retx=$HS_RETX hs_ooo=$HS_OOO all_retx=$ALL_RETX all_ooo=$ALL_OOO dupack=$ALL_DUPACK lost=$ALL_LOST packets=$NPKT default='$DEFAULT_WIRE' [$HS_DETAIL] [$IMP_SUM]" >> "$WORK/impaired-summary"
  log "  seed $SEED: $HS_DETAIL"
  LINK="impair-tun.py (user-space netem: delay 10ms reorder 25% 50% duplicate 10% loss 5%, both directions) seed $SEED, capture on the client's TUN device"
  SV="$SV_OSSL -Verify 1 on $IMP_SRV"
  CL="$CL_OSSL on $IMP_CLI over $LINK"
  FACTS="in the handshake (frames 1-$DEC, the server's decision): $HS_DETAIL; whole capture ($NPKT packets): $ALL_RETX retransmissions, $ALL_OOO out-of-order, $ALL_DUPACK duplicate ACKs, $ALL_LOST 'previous segment not captured'; $DEF (checks use -o tcp.reassemble_out_of_order:TRUE)"
  case $CASE in
    *good-cert)
      row 0 1 handshake yes certificate accepted - no no "$SV" "$CL" \
        "s_server -Verify 1 (required, $TV), good EC cert, over a lossy reordering link; $FACTS; NewSessionTicket after the client's Certificate; log: 'Client certificate'." ;;
    *)
      row 0 1 handshake yes empty rejected $NOCERT_NAME no no "$SV" "$CL" \
        "s_server -Verify 1 (required, $TV), client without cert sent an empty Certificate, over a lossy reordering link; $FACTS; log: 'peer did not return a certificate'; server sent $NOCERT_NAME." ;;
  esac
done

# ---- 23. captures that start in the middle of the handshake ---------------
# A normal run on lo, with lo's MTU at 1500 and GSO off (gso_max_size 1500:
# otherwise lo hands tcpdump the server's whole flight as one 64 KB packet), so
# the server's flight is split like on Ethernet.  The first packets of the raw
# capture are then deleted (editcap) and the secrets of the whole connection
# embedded.  The truth rows say what happened; the verdict is what the rest
# of the capture still shows (see each `how`).
#   cut-after-clienthello: everything up to and including the ClientHello is cut
#   cut-mid-server-flight: everything before the server's second data segment
#     is cut; that segment begins inside a TLS record that started in the first
hs_name() {
  case $1 in
    1) echo ClientHello;; 2) echo ServerHello;; 4) echo NewSessionTicket;; 8) echo EncryptedExtensions;;
    11) echo Certificate;; 12) echo ServerKeyExchange;; 13) echo CertificateRequest;; 14) echo ServerHelloDone;;
    15) echo CertificateVerify;; 16) echo ClientKeyExchange;; 20) echo Finished;; *) echo "handshake type $1";;
  esac
}
LO_MTU=$(cat /sys/class/net/lo/mtu)
LO_GSO=$(ip -d link show lo | sed -n 's/.*gso_max_size \([0-9]*\).*/\1/p' | head -1)
for CASE in tls12-required-no-cert-cut-after-clienthello tls13-required-good-cert-cut-after-clienthello \
            tls12-required-good-cert-cut-mid-server-flight tls13-required-good-cert-cut-mid-server-flight; do
  want ossl-$CASE || continue
  case $CASE in tls13-*) V=13;; *) V=12;; esac
  PROTO=-tls1_$((V - 10)); TV="TLS 1.$((V - 10))"
  ip link set lo mtu 1500 && ip link set lo gso_max_size 1500 || die "cannot set lo's MTU / gso_max_size"
  begin_capture ossl-$CASE
  start_server feed_idle "${OSSL_SRV[@]}" $PROTO -Verify 1
  case $CASE in *good-cert*) run_client ossl_client $PROTO "${GOOD[@]}";; *) run_client ossl_client $PROTO;; esac
  end_capture
  ip link set lo mtu "$LO_MTU"; [ -n "$LO_GSO" ] && ip link set lo gso_max_size "$LO_GSO"
  # the whole connection first, as for the other captures
  expect_streams 1
  case $CASE in
    *good-cert*) srv_log_has "Client certificate"; srv_log_lacks "verify error"
                 expect_wire 0 "scr=1 ccert=c salert=- calert=- pha=no fin=1" ;;
    *) srv_log_has "peer did not return a certificate"; cli_log_has 1 "SSL alert number 40"
       expect_wire 0 "scr=1 ccert=e salert=40 calert=- pha=no fin=0" ;;
  esac
  records > "$D/records.full"
  NPKT=$(ts -T fields -e frame.number | grep -c . || true)
  CH=$(frames_of "tls.handshake.type==1" | head -1)
  SH=$(frames_of "tls.handshake.type==2" | head -1)
  case $CASE in
    *cut-after-clienthello)
      CUT=$((CH + 1))
      WHAT="frames 1-$CH (SYN, SYN/ACK, ACK, ClientHello) of $NPKT cut: the capture starts with the frame after the ClientHello" ;;
    *cut-mid-server-flight)
      # the server's data segments of its first flight: the first holds the
      # ServerHello, the second must begin inside a record begun in the first
      read -r S1 S2 < <(ts -Y "tcp.srcport==$PORT && tcp.len > 0" -T fields -e frame.number | head -2 | paste -sd' ' -)
      [ "$S1" = "$SH" ] || die "the ServerHello ($SH) is not in the server's first data segment ($S1)"
      REC=$(awk -v a="$S1" -v b="$S2" '$1 == "server" { split($5, f, "[=-]"); if (f[2] == a && f[3] >= b) print }' "$D/records.full" | head -1)
      [ -n "$REC" ] || die "no server record spans frames $S1 and $S2: $(cat "$D/records.full")"
      RTYPE=$(echo "$REC" | sed 's/.* type=\([0-9]*\) .*/\1/'); RBYTES=$(echo "$REC" | sed 's/.* bytes=\([0-9]*\) .*/\1/')
      RSTART=$(echo "$REC" | sed 's/.* start=\([0-9]*\).*/\1/')
      # which handshake message that record is (the full capture decrypts), and
      # the records that follow its tail in the same segment
      RNAME=$(hs_name "$(ts -Y "frame.number==$S2" -T fields -e tls.handshake.type -E occurrence=f)")
      AFTER=$(awk -v b="$S2" -v s="$RSTART" '$1 == "server" { split($5, f, "[=-]"); split($7, o, "="); if (f[2] == b && o[2] > s) print $0 }' "$D/records.full" |
              sed -n 's/.* hs=\([0-9]*\).*/\1/p' | while read -r h; do hs_name "$h"; done | paste -sd, - | sed 's/,/, /g')
      S2SEQ=$(ts -Y "frame.number==$S2" -T fields -e tcp.seq)
      TAIL=$((RSTART + RBYTES - (S2SEQ - 1)))
      CUT=$S2
      WHAT="frames 1-$((S2 - 1)) of $NPKT cut (the connection up to the ClientHello and the server's first data segment, which held the ServerHello and the start of a $RBYTES-byte record of content type $RTYPE, the server's $RNAME): the capture's first server bytes are the last $TAIL bytes of that record" ;;
  esac
  cp "$NEW/$NAME.pcapng" "$D/full.pcapng"
  editcap "$D/raw.pcap" "$D/cut.pcap" 1-$((CUT - 1)) || die "editcap (cut) failed"
  editcap --inject-secrets "tls,$D/keylog" "$D/cut.pcap" "$NEW/$NAME.pcapng" || die "editcap (secrets) failed"
  # the cut capture, with plain tshark
  tshark -r "$NEW/$NAME.pcapng" > /dev/null 2> "$D/tshark.err" || die "tshark cannot read the cut capture: $(cat "$D/tshark.err")"
  if grep -v "Running as user" "$D/tshark.err" | grep -q .; then die "tshark: $(cat "$D/tshark.err")"; fi
  [ -z "$(frames_of "tcp.flags.syn==1")" ] || die "SYN left in the cut capture"
  [ -z "$(frames_of "tls.handshake.type==1")" ] || die "ClientHello left in the cut capture"
  expect_streams 1
  WIRE=$(wire 0)
  case $CASE in
    tls12-required-no-cert-cut-after-clienthello)
      [ -n "$(frames_of "tls.handshake.type==2")" ] || die "no ServerHello after the cut"
      expect_wire 0 "scr=1 ccert=e salert=40 calert=- pha=no fin=0"
      row 0 1 handshake yes empty rejected handshake_failure no no "$SV_OSSL -Verify 1" "$CL_OSSL" \
        "s_server -Verify 1 (required, $TV), client without cert; $WHAT. Still in clear after the cut: ServerHello, CertificateRequest, the client's empty Certificate and the server's plaintext handshake_failure alert, so the exchange and its verdict are fully visible (the client's encrypted Finished cannot be decrypted: the embedded secrets are looked up by the ClientHello's random); log: 'peer did not return a certificate'." ;;
    tls13-required-good-cert-cut-after-clienthello)
      [ -n "$(frames_of "tls.handshake.type==2")" ] || die "no ServerHello after the cut"
      [ "$WIRE" = "scr=0 ccert=- salert=- calert=- pha=no fin=0" ] || die "cut TLS 1.3 capture still decrypts: $WIRE"
      NSTREC=$(ts -Y "tcp.srcport==$PORT && tls.record.content_type==23" -T fields -e tls.record.length -E occurrence=a | tr ',' '\n' | grep -c . || true)
      row 0 1 handshake yes certificate accepted - no no "$SV_OSSL -Verify 1" "$CL_OSSL" \
        "s_server -Verify 1 (required, $TV), good EC cert; $WHAT. The ServerHello is left (TLS 1.3, cipher suite in clear) but nothing can be decrypted: the embedded secrets are keyed by the ClientHello's random, which is cut. From record sizes only: the client's flight after its ChangeCipherSpec (Certificate, CertificateVerify, Finished, separate records) is larger than Finished alone, so a certificate was requested and sent; then the server sent records that are not alert-sized (its NewSessionTickets): accepted, known from sizes only (no keys usable); log: 'Client certificate'." ;;
    tls12-required-good-cert-cut-mid-server-flight)
      [ -z "$(frames_of "tls.handshake.type==2")" ] || die "ServerHello left in the cut capture"
      CCW=$(ts -Y "tcp.dstport==$PORT && tls.handshake.type==11" -T fields -e tls.handshake.certificates_length | head -1)
      [ -n "$CCW" ] && [ "$CCW" -gt 0 ] || die "the client's Certificate is not dissected after the cut ($WIRE)"
      SCCS=$(frames_of "tcp.srcport==$PORT && tls.record.content_type==20" | head -1)
      CCF=$(frames_of "tcp.dstport==$PORT && tls.handshake.type==11" | head -1)
      [ -n "$SCCS" ] && [ "$SCCS" -gt "$CCF" ] || die "no server ChangeCipherSpec after the client's Certificate"
      CRCUT=$(frames_of "tcp.srcport==$PORT && tls.handshake.type==13" | head -1)
      if [ -n "$CRCUT" ]; then CRW="Wireshark still dissects the CertificateRequest (frame $CRCUT)"
      else CRW="Wireshark shows that segment as 'Continuation Data' and does not dissect the records after the tail in it (${AFTER:-none}), although their bytes are there"; fi
      row 0 1 handshake yes certificate accepted - no no "$SV_OSSL -Verify 1" "$CL_OSSL" \
        "s_server -Verify 1 (required, $TV), good EC cert; $WHAT. $CRW. In clear after the cut: the client's non-empty Certificate (a TLS 1.2 client sends one only when asked), then the server's NewSessionTicket, ChangeCipherSpec and encrypted Finished (not decryptable: the ClientHello's random is cut): the server went on, accepted; log: 'Client certificate'." ;;
    tls13-required-good-cert-cut-mid-server-flight)
      [ -z "$(frames_of "tls.handshake.type==2")" ] || die "ServerHello left in the cut capture"
      [ "$WIRE" = "scr=0 ccert=- salert=- calert=- pha=no fin=0" ] || die "cut TLS 1.3 capture still decrypts: $WIRE"
      # No truth row (decided with the tests, see README): nothing left on the
      # wire shows that a client-authentication exchange took place.
      log "  $WHAT; no truth row: only encrypted records and the client's ChangeCipherSpec are left (server log: 'Client certificate', accepted)" ;;
  esac
done
if [ -s "$WORK/impaired-summary" ]; then log "impaired-net runs:"; cat "$WORK/impaired-summary" >&2; fi

# ==========================================================================
[ -n "$LIST" ] && exit 0
# Install the captures made (all, or the selected ones); in truth.tsv replace
# their rows (in place) and append rows of captures not listed yet. Other
# captures and their rows (make-app-captures.sh's, for one) are left untouched.
NAME=select
for pat in "${SELECT[@]}"; do [ -n "${SELECT_HIT[$pat]:-}" ] || die "no scenario matches '$pat' (see --list)"; done
log "scenarios passed in $((SECONDS - T0)) s; installing into $OUT"
cp "$NEW"/*.pcapng "$OUT/"
OLD_TRUTH=$OUT/truth.tsv; [ -f "$OLD_TRUTH" ] || head -1 "$TRUTH" > "$OLD_TRUTH"
awk -F'\t' -v OFS='\t' '
  FNR == 1 { if (NR == 1) print; next }           # header from the new table
  NR == FNR { n[$1]++; rows[$1, n[$1]] = $0; if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 }; next }
  ($1 in n) { if (!($1 in done)) { done[$1] = 1; for (i = 1; i <= n[$1]; i++) print rows[$1, i] }; next }
  { print }
  END { for (j = 1; j <= k; j++) if (!(order[j] in done)) for (i = 1; i <= n[order[j]]; i++) print rows[order[j], i] }
' "$TRUTH" "$OLD_TRUTH" > "$WORK/truth.merged"
cp "$WORK/truth.merged" "$OLD_TRUTH"
ls -l "$NEW"/*.pcapng >&2
