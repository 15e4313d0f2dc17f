#!/usr/bin/env bash
# Regenerate the transport sample captures (EAP-TLS over RADIUS, DTLS 1.2, QUIC)
# of the mtls plugin, for issue 13.  See README.md in this directory.
#
# Run as root.  Everything runs inside a private network namespace (unshare
# --net, own loopback): FreeRADIUS on 127.0.0.1:1812, DTLS servers on
# 127.0.0.1:4433, QUIC (ngtcp2) on 127.0.0.1:4434.  Every capture holds its TLS
# secrets (editcap --inject-secrets tls), so tshark decrypts it without a key
# log file.
#
# Each scenario is checked against the server log, the client output and
# tshark's dissection of the capture; the script stops with "FATAL" if a
# scenario did not behave as intended.  truth.tsv is written from the scenario
# definitions below, only after every check of the selected scenarios passed.
#
# Usage: sudo ./make-transport-captures.sh [output-dir] [scenario...]
#          scenario: capture names without .pcapng, shell globs allowed
#          ('eaptls-*'); only those are made, truth.tsv rows of the others in
#          output-dir are kept.  Without scenario arguments all are made.
#        ./make-transport-captures.sh --list    prints the scenario names.
# Env:   KEEP_WORK=1 keeps the work dir (PKI, configs, raw pcaps, logs).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LIST=
if [ "${1:-}" = --list ]; then LIST=1; shift; fi
if [ $# -gt 0 ] && [ -d "$1" ]; then OUT=$(cd "$1" && pwd); shift; else OUT=$HERE; fi
SELECT=("$@")
want() {
  local pat
  if [ -n "$LIST" ]; then echo "$1"; return 1; fi
  [ ${#SELECT[@]} = 0 ] && return 0
  for pat in "${SELECT[@]}"; do
    # shellcheck disable=SC2053
    [[ $1 == $pat ]] && return 0
  done
  return 1
}

if [ -z "$LIST" ]; then
  for tool in freeradius eapol_test openssl gnutls-serv gnutls-cli gtlsserver gtlsclient \
              tcpdump tshark editcap cc python3 unshare timeout ip; do
    command -v "$tool" >/dev/null || { echo "FATAL: missing $tool (apt-get install freeradius eapoltest ngtcp2-server ngtcp2-client gnutls-bin tcpdump tshark gcc libssl-dev)" >&2; exit 1; }
  done
  [ "$(id -u)" = 0 ] || { echo "FATAL: run as root" >&2; exit 1; }
  if [ -z "${MTLS_IN_NETNS:-}" ]; then
    export MTLS_IN_NETNS=1
    exec unshare --net -- "$HERE/$(basename "${BASH_SOURCE[0]}")" "$OUT" "${SELECT[@]}"
  fi
  ip link set lo up
  ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
  ip addr add 127.0.0.3/8 dev lo 2>/dev/null || true
fi

WORK=
PIDS=
cleanup() {
  local p
  for p in $PIDS; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$WORK" ]; then
    if [ -n "${KEEP_WORK:-}" ]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
  fi
}
trap cleanup EXIT
die() {
  echo "FATAL [${NAME:-setup}]: $*" >&2
  if [ -n "${D:-}" ] && [ -d "$D" ]; then
    for f in "$D"/*.log; do [ -f "$f" ] && { echo "---- $f" >&2; tail -25 "$f" >&2; }; done
  fi
  exit 1
}
log() { echo "[$(date +%T)] $*" >&2; }

if [ -z "$LIST" ]; then
  WORK=$(mktemp -d /tmp/mtls-transports.XXXXXX)
  chmod 755 "$WORK"
  PKI=$WORK/pki; NEW=$WORK/out; mkdir -p "$PKI" "$NEW"
  TRUTH=$NEW/truth.tsv
  printf 'capture\ttransport\tsession\texchange\tphase\trequested\tresponse\tverdict\talert\touter_result\thow\n' > "$TRUTH"
  SHIM=$WORK/keylog-shim.so
  cc -shared -fPIC -O2 -Wall -Wextra -o "$SHIM" "$HERE/keylog-shim.c" -ldl || die "cannot build keylog-shim.so"
  OSSL_VER=$(openssl version | awk '{print $2}')
  GNUTLS_VER=$(gnutls-cli --version | awk 'NR==1{print $2}')
  FR_VER=$(freeradius -v | sed -n 's/.*FreeRADIUS Version \([0-9.]*\).*/\1/p' | head -1)
  WPA_VER=$(eapol_test -v 2>&1 | sed -n 's/^eapol_test v\([0-9.]*\).*/\1/p' | head -1)
  NGTCP2_VER=$(dpkg-query -W -f='${Version}' ngtcp2-server 2>/dev/null | sed 's/+.*//')

  # ------------------------------------------------------------------------
  # Throwaway PKI (all EC P-256)
  #   ca          trusted CA              ca2  untrusted CA
  #   server      CN=localhost, serverAuth, signed by ca
  #   client      CN=alice@example.org, clientAuth, by ca
  #   client2     CN=bob@example.org, clientAuth, by ca
  #   untrusted   CN=alice@example.org, clientAuth, by ca2
  #   servereku   CN=alice@example.org, EKU serverAuth only, by ca
  #   cnmismatch  CN=mallory@example.org, clientAuth, by ca
  #   expired     CN=alice@example.org, clientAuth, by ca, 2020-01-01..2020-01-31
  # ------------------------------------------------------------------------
  (
    cd "$PKI"
    mkca() { openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
      -out "$1.pem" -days 3650 -subj "/CN=$2" -addext basicConstraints=critical,CA:TRUE \
      -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null; }
    leaf() { # name ca cn extensions
      openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null
      openssl req -new -key "$1.key" -subj "/CN=$3" -out "$1.csr" 2>/dev/null
      printf '%s\n' "$4" > "$1.ext"
      openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 3650 \
        -sha256 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
    }
    mkca ca "mtls transports trusted CA"
    mkca ca2 "mtls transports UNTRUSTED CA"
    CLI=$'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth'
    leaf server ca localhost $'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1'
    leaf client ca alice@example.org "$CLI"
    leaf client2 ca bob@example.org "$CLI"
    leaf untrusted ca2 alice@example.org "$CLI"
    leaf servereku ca alice@example.org $'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth'
    leaf cnmismatch ca mallory@example.org "$CLI"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out expired.key 2>/dev/null
    openssl req -new -key expired.key -subj "/CN=alice@example.org" -out expired.csr 2>/dev/null
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
    openssl ca -batch -config ca.cnf -in expired.csr -out expired.pem \
      -startdate 20200101000000Z -enddate 20200131000000Z >/dev/null 2>&1
  ) || die "PKI"
  [ -s "$PKI/expired.pem" ] || die "PKI: no expired cert"
fi

truth() { # capture transport session exchange phase requested response verdict alert outer how
  local IFS=$'\t'
  echo "$*" >> "$TRUTH"
}

# start_capture FILTER: tcpdump on lo into $D/raw.pcap
start_capture() {
  tcpdump -Z root -i lo -U -s 0 -w "$D/raw.pcap" "$1" > "$D/tcpdump.log" 2>&1 &
  TD_PID=$!; PIDS="$PIDS $TD_PID"
  local i
  for i in $(seq 50); do grep -q 'listening on' "$D/tcpdump.log" && break; sleep 0.1; done
  sleep 0.3
}
stop_capture() { sleep 0.5; kill "$TD_PID" 2>/dev/null || true; wait "$TD_PID" 2>/dev/null || true; }
stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# finish KEYLOG...: embed the secrets of the given key logs into $NAME.pcapng
finish() {
  local f
  for f in "$@"; do if [ -f "$f" ]; then cat "$f"; fi; done | sort -u > "$D/keys.txt"
  [ -s "$D/keys.txt" ] || die "no TLS secrets logged"
  editcap --inject-secrets "tls,$D/keys.txt" "$D/raw.pcap" "$NEW/$NAME.pcapng" || die "editcap"
}
# tsk ARGS: tshark on the finished capture (secrets embedded)
tsk() { tshark -r "$NEW/$NAME.pcapng" "$@" 2>/dev/null; }
need_log() { # file regex what
  grep -q -E "$2" "$1" || die "$3: no line matching /$2/ in $(basename "$1")"
}
# how_line file regex: the first line matching, trimmed, for the truth 'how'
how_line() { grep -m1 -E "$2" "$1" | sed -E 's/^[[:space:]]+//; s/[[:space:]]+$//; s/\t/ /g'; }

# ==========================================================================
# EAP-TLS over RADIUS: FreeRADIUS (own instance, private copy of the Debian
# config) on 127.0.0.1:1812, eapol_test as the NAS + supplicant.
# ==========================================================================
# radius_conf TLSMAX FRAG CHECKCN: write $D/raddb
radius_conf() {
  cp -a /etc/freeradius/3.0 "$D/raddb"
  sed -i -E 's/^(\s*)(user|group) = freerad/\1#\2 = freerad/' "$D/raddb/radiusd.conf"
  rm -f "$D/raddb/mods-enabled/eap"
  local cn=
  [ "$3" = yes ] && cn=$'\t\tcheck_cert_cn = %{User-Name}'
  cat > "$D/raddb/mods-enabled/eap" <<EOF
eap {
	default_eap_type = tls
	timer_expire = 60
	ignore_unknown_eap_types = no
	cisco_accounting_username_bug = no
	max_sessions = \${max_requests}
	tls-config tls-common {
		private_key_file = $PKI/server.key
		certificate_file = $PKI/server.pem
		ca_file = $PKI/ca.pem
$cn
		cipher_list = "DEFAULT"
		cipher_server_preference = no
		tls_min_version = "1.2"
		tls_max_version = "$1"
		ecdh_curve = ""
		fragment_size = $2
		cache {
			enable = no
		}
		verify {
		}
		ocsp {
			enable = no
		}
	}
	tls {
		tls = tls-common
	}
}
EOF
  cat >> "$D/raddb/clients.conf" <<'EOF'

client mtls_nas {
	ipaddr = 127.0.0.0/8
	secret = testing123
}
EOF
}
# sup_conf FILE IDENTITY CERT FRAG: eapol_test network block (CERT none = no certificate)
sup_conf() {
  {
    echo 'network={'
    echo '	key_mgmt=IEEE8021X'
    echo '	eap=TLS'
    echo "	identity=\"$2\""
    echo "	ca_cert=\"$PKI/ca.pem\""
    if [ "$3" = none ]; then
      echo "	private_key=\"$PKI/client.key\""
    else
      echo "	client_cert=\"$PKI/$3.pem\""
      echo "	private_key=\"$PKI/$3.key\""
    fi
    echo '	phase1="tls_disable_tlsv1_3=0"'
    echo "	fragment_size=$4"
    echo '	eapol_flags=0'
    echo '}'
  } > "$1"
}
start_radius() {
  MTLS_KEYLOG=$D/server.keys LD_PRELOAD=$SHIM freeradius -X -f -d "$D/raddb" > "$D/server.log" 2>&1 &
  SRV_PID=$!; PIDS="$PIDS $SRV_PID"
  local i
  for i in $(seq 100); do grep -q 'Ready to process requests' "$D/server.log" && return 0; sleep 0.1; done
  die "freeradius did not start"
}
# eapol CONF LOG MAC [eapol_test args]: one supplicant
eapol() {
  local conf=$1 logf=$2 mac=$3 nocert=; shift 3
  grep -q client_cert "$conf" || nocert=1
  MTLS_NO_CLIENT_CERT=$nocert MTLS_KEYLOG=$D/client.keys LD_PRELOAD=$SHIM \
    timeout 30 eapol_test -c "$conf" -s testing123 -t 15 -M "$mac" "$@" > "$logf" 2>&1 || true
}

# radius_scenario NAME TLSMAX CERT FRAG CHECKCN EXPECT(accept|reject) SRV_REGEX RESPONSE ALERT
radius_scenario() {
  NAME=$1; local tlsmax=$2 cert=$3 frag=$4 checkcn=$5 expect=$6 srvre=$7 response=$8 alert=$9
  want "$NAME" || return 0
  log "$NAME"
  D=$WORK/$NAME; mkdir -p "$D"
  local sfrag=1024; [ "$frag" -lt 1024 ] && sfrag=$frag
  radius_conf "$tlsmax" "$sfrag" "$checkcn"
  sup_conf "$D/sup.conf" alice@example.org "$cert" "$frag"
  start_capture 'udp port 1812'
  start_radius
  eapol "$D/sup.conf" "$D/client.log" 02:00:00:00:00:01 -a 127.0.0.1 -p 1812
  stop_capture; stop_pid "$SRV_PID"
  local tv="TLSv1.${tlsmax#1.}" vre
  vre="TLS $tlsmax"
  need_log "$D/server.log" "send $vre Handshake, ServerHello" "TLS version"
  need_log "$D/server.log" "send $vre Handshake, CertificateRequest" "server did not request a certificate"
  need_log "$D/server.log" "$srvre" "server log"
  local outer cli_last
  cli_last=$(tail -1 "$D/client.log")
  if [ "$expect" = accept ]; then
    [ "$cli_last" = SUCCESS ] || die "eapol_test did not succeed ($cli_last)"
    need_log "$D/server.log" 'Sent Access-Accept' "no Access-Accept"
    outer=Access-Accept
  else
    [ "$cli_last" = FAILURE ] || die "eapol_test did not fail ($cli_last)"
    need_log "$D/server.log" 'Sent Access-Reject' "no Access-Reject"
    outer=Access-Reject
  fi
  finish "$D/client.keys" "$D/server.keys"
  # the wire: EAP-TLS messages, the outer decision, no TLS alert from FreeRADIUS
  local codes alerts ccl
  codes=$(tsk -T fields -e radius.code -e eap.code | awk 'NF' | tail -1)
  if [ "$expect" = accept ]; then [ "$codes" = $'2\t3' ] || die "last packet is not Access-Accept + EAP-Success ($codes)"
  else [ "$codes" = $'3\t4' ] || die "last packet is not Access-Reject + EAP-Failure ($codes)"; fi
  alerts=$(tsk -Y tls.alert_message -T fields -e frame.number)
  [ -z "$alerts" ] || die "a TLS alert is on the wire (frames $alerts) - the truth rows assume none"
  tsk -Y 'tls.handshake.type == 13' | grep -q . || die "tshark sees no CertificateRequest"
  ccl=$(tsk -Y 'eap.code == 2 && tls.handshake.type == 11' -T fields -e tls.handshake.certificates_length | head -1)
  case $response in
    certificate) [ -n "$ccl" ] && [ "$ccl" != 0 ] || die "tshark: client Certificate not non-empty ($ccl)" ;;
    empty) [ "$ccl" = 0 ] || die "tshark: client Certificate not empty ($ccl)" ;;
  esac
  local outer_col
  if [ "$expect" = accept ]; then outer_col="EAP-Success; Access-Accept"; else outer_col="EAP-Failure; Access-Reject"; fi
  local verdict=accepted; [ "$expect" = reject ] && verdict=rejected
  local h1 h2
  h1=$(how_line "$D/server.log" "$srvre")
  h2=$(how_line "$D/server.log" "Sent Access-(Accept|Reject)")
  [ "$expect" = reject ] && h1="$h1', '$(how_line "$D/server.log" "Alert write:fatal")"
  truth "$NAME.pcapng" eap-tls 02-00-00-00-00-01 1 handshake yes "$response" "$verdict" "$alert" "$outer_col" \
    "freeradius $FR_VER -X (EAP-TLS, tls_max_version $tlsmax, fragment_size $sfrag$([ "$checkcn" = yes ] && echo ', check_cert_cn = %{User-Name}')) + eapol_test $WPA_VER (cert=$cert, fragment_size=$frag) over $tv: server log '$h1' then '$h2'; eapol_test: $cli_last; no TLS alert on the wire (FreeRADIUS logs the alert it would send)"
}

for V in 1.2 1.3; do
  T=tls1${V#1.}
  radius_scenario "eaptls-radius-$T-good-cert" $V client 1398 no accept \
    'TLS-Client-Cert-Common-Name := "alice@example.org"' certificate -
  radius_scenario "eaptls-radius-$T-no-cert" $V none 1398 no reject \
    'peer did not return a certificate' empty -
  radius_scenario "eaptls-radius-$T-untrusted-cert" $V untrusted 1398 no reject \
    'OpenSSL says error 20 : unable to get local issuer certificate' certificate -
  radius_scenario "eaptls-radius-$T-expired-cert" $V expired 1398 no reject \
    'OpenSSL says error 10 : certificate has expired' certificate -
  radius_scenario "eaptls-radius-$T-no-clientauth-eku" $V servereku 1398 no reject \
    'OpenSSL says error 26 : unsuitable certificate purpose' certificate -
  radius_scenario "eaptls-radius-$T-cn-mismatch" $V cnmismatch 1398 yes reject \
    'checking certificate CN \(mallory@example.org\) with xlat.ed value \(alice@example.org\)' certificate -
  # small EAP fragments: fragment_size 200 on both sides
  radius_scenario "eaptls-radius-$T-good-cert-small-fragments" $V client 200 no accept \
    'TLS-Client-Cert-Common-Name := "alice@example.org"' certificate -
done

# ==========================================================================
# install
# ==========================================================================
[ -n "$LIST" ] && exit 0
shopt -s nullglob
made=("$NEW"/*.pcapng)
[ ${#made[@]} -gt 0 ] || die "no scenario selected"
mkdir -p "$OUT"
OLD=$OUT/truth.tsv
{
  head -1 "$TRUTH"
  if [ -f "$OLD" ]; then
    # keep the rows of captures not remade
    awk -F'\t' -v made="$(for f in "${made[@]}"; do basename "$f"; done | tr '\n' ' ')" \
      'NR > 1 { n = split(made, m, " "); keep = 1; for (i = 1; i <= n; i++) if ($1 == m[i]) keep = 0; if (keep) print }' "$OLD"
  fi
  tail -n +2 "$TRUTH"
} > "$WORK/truth.merged"
sort -t$'\t' -k1,1 -s "$WORK/truth.merged" | awk 'NR==1 || $1 != "capture"' > "$WORK/truth.sorted"
{ head -1 "$TRUTH"; grep -v '^capture	' "$WORK/truth.sorted"; } > "$OUT/truth.tsv"
for f in "${made[@]}"; do cp "$f" "$OUT/"; done
chmod 644 "$OUT"/*.pcapng "$OUT/truth.tsv"
log "made ${#made[@]} captures into $OUT"
