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
  for tool in freeradius eapol_test hostapd wpa_supplicant openssl gnutls-serv gnutls-cli gtlsserver gtlsclient \
              tcpdump tshark editcap cc python3 unshare timeout ip; do
    command -v "$tool" >/dev/null || { echo "FATAL: missing $tool (apt-get install freeradius eapoltest hostapd wpasupplicant ngtcp2-server ngtcp2-client gnutls-bin tcpdump tshark gcc libssl-dev)" >&2; exit 1; }
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
  tcpdump -Z root -i lo --immediate-mode -U -s 0 -w "$D/raw.pcap" "$1" > "$D/tcpdump.log" 2>&1 &
  TD_PID=$!; PIDS="$PIDS $TD_PID"

  for _ in $(seq 50); do grep -q 'listening on' "$D/tcpdump.log" && break; sleep 0.1; done
  sleep 0.3
}
stop_capture() { sleep 1; kill "$TD_PID" 2>/dev/null || true; wait "$TD_PID" 2>/dev/null || true; }
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
  # FreeRADIUS 3.2 writes a key log itself when SSLKEYLOGFILE is set
  SSLKEYLOGFILE=$D/server.keys freeradius -X -f -d "$D/raddb" > "$D/server.log" 2>&1 &
  SRV_PID=$!; PIDS="$PIDS $SRV_PID"

  for _ in $(seq 100); do grep -q 'Ready to process requests' "$D/server.log" && return 0; sleep 0.1; done
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

# Two supplicants interleaved through ONE NAS socket (127.0.0.3:32768): each
# eapol_test sends to radius-nas-relay.py on 127.0.0.2:1912, which forwards
# from one socket with Identifiers of its own (see the relay).  Only the
# NAS <-> server leg is captured.  Supplicant A (alice, Calling-Station-Id
# 02-00-00-00-00-01) has a good certificate, B (bob, 02-00-00-00-00-02) one
# from the untrusted CA.
radius_two_scenario() {
  NAME=$1; local tlsmax=$2
  want "$NAME" || return 0
  log "$NAME"
  D=$WORK/$NAME; mkdir -p "$D"
  radius_conf "$tlsmax" 1024 no
  sup_conf "$D/supA.conf" alice@example.org client 1398
  sup_conf "$D/supB.conf" bob@example.org untrusted 1398
  start_capture 'host 127.0.0.3 and udp port 1812'
  start_radius
  python3 "$HERE/radius-nas-relay.py" 127.0.0.2:1912 127.0.0.3:32768 127.0.0.1:1812 testing123 > "$D/relay.log" 2>&1 &
  local relay=$! pa pb; PIDS="$PIDS $relay"
  for _ in $(seq 50); do grep -q 'relay ready' "$D/relay.log" && break; sleep 0.1; done
  eapol "$D/supA.conf" "$D/clientA.log" 02:00:00:00:00:01 -a 127.0.0.2 -p 1912 -A 127.0.0.1 & pa=$!
  eapol "$D/supB.conf" "$D/clientB.log" 02:00:00:00:00:02 -a 127.0.0.2 -p 1912 -A 127.0.0.1 & pb=$!
  wait "$pa" "$pb" || true
  stop_capture; stop_pid "$relay"; stop_pid "$SRV_PID"
  [ "$(tail -1 "$D/clientA.log")" = SUCCESS ] || die "supplicant A did not succeed"
  [ "$(tail -1 "$D/clientB.log")" = FAILURE ] || die "supplicant B did not fail"
  need_log "$D/server.log" "send TLS $tlsmax Handshake, ServerHello" "TLS version"
  need_log "$D/server.log" 'OpenSSL says error 20 : unable to get local issuer certificate' "B not refused as untrusted"
  finish "$D/client.keys" "$D/server.keys"
  # one NAS address and port for all packets, and the two sessions interleave
  local ports first_b last_a
  ports=$(tsk -T fields -e udp.srcport -e udp.dstport | tr '\t' '\n' | sort -u | tr '\n' ' ')
  [ "$ports" = "1812 32768 " ] || die "not one NAS port: $ports"
  first_b=$(tsk -Y 'radius.Calling_Station_Id == "02-00-00-00-00-02"' -T fields -e frame.number | head -1)
  last_a=$(tsk -Y 'radius.code == 1 && radius.Calling_Station_Id == "02-00-00-00-00-01"' -T fields -e frame.number | tail -1)
  [ -n "$first_b" ] && [ -n "$last_a" ] && [ "$first_b" -lt "$last_a" ] || die "sessions do not interleave (B first $first_b, A last $last_a)"
  tsk -Y 'radius.code == 2 && eap.code == 3' | grep -q . || die "no Access-Accept/EAP-Success"
  tsk -Y 'radius.code == 3 && eap.code == 4' | grep -q . || die "no Access-Reject/EAP-Failure"
  [ -z "$(tsk -Y tls.alert_message)" ] || die "TLS alert on the wire"
  local tv="TLSv1.${tlsmax#1.}" ha hb
  ha=$(grep -E 'Sent Access-Accept' "$D/server.log" | head -1 | sed -E 's/^[[:space:]]+//')
  hb=$(grep -E 'Sent Access-Reject' "$D/server.log" | head -1 | sed -E 's/^[[:space:]]+//')
  truth "$NAME.pcapng" eap-tls 02-00-00-00-00-01 1 handshake yes certificate accepted - "EAP-Success; Access-Accept" \
    "freeradius $FR_VER -X (EAP-TLS, tls_max_version $tlsmax) + two eapol_test $WPA_VER at once through radius-nas-relay.py (one NAS socket 127.0.0.3:32768) over $tv; supplicant A: User-Name alice@example.org, Calling-Station-Id 02-00-00-00-00-01, good cert; server log '$ha'; eapol_test A: SUCCESS"
  truth "$NAME.pcapng" eap-tls 02-00-00-00-00-02 1 handshake yes certificate rejected - "EAP-Failure; Access-Reject" \
    "same run; supplicant B: User-Name bob@example.org, Calling-Station-Id 02-00-00-00-00-02, cert from the untrusted CA; server log '$(how_line "$D/server.log" 'OpenSSL says error 20')', '$hb'; eapol_test B: FAILURE; no TLS alert on the wire"
}
radius_two_scenario eaptls-radius-tls12-two-supplicants-one-nas 1.2
radius_two_scenario eaptls-radius-tls13-two-supplicants-one-nas 1.3

# ==========================================================================
# EAP-TLS over EAPOL (802.1X on a wire): hostapd (driver=wired, integrated EAP
# server, OpenSSL) on veth0 and wpa_supplicant (-D wired) on veth1, a veth pair
# inside the private network namespace.
# ==========================================================================
# eapol_scenario NAME TLSMAX CERT EXPECT(accept|reject) SRV_REGEX RESPONSE
eapol_scenario() {
  NAME=$1; local tlsmax=$2 cert=$3 expect=$4 sre=$5 response=$6
  want "$NAME" || return 0
  log "$NAME"
  D=$WORK/$NAME; mkdir -p "$D"
  ip link del veth0 2>/dev/null || true
  ip link add veth0 type veth peer name veth1 || die "veth"
  ip link set veth0 address 02:00:00:00:01:00; ip link set veth1 address 02:00:00:00:00:01
  ip link set veth0 up; ip link set veth1 up
  {
    echo "interface=veth0"; echo "driver=wired"; echo "logger_stdout=-1"; echo "logger_stdout_level=0"
    echo "ieee8021x=1"; echo "eapol_version=2"; echo "eap_reauth_period=0"; echo "use_pae_group_addr=1"
    echo "eap_server=1"; echo "eap_user_file=$D/eap_users"
    echo "ca_cert=$PKI/ca.pem"; echo "server_cert=$PKI/server.pem"; echo "private_key=$PKI/server.key"
    [ "$tlsmax" = 1.3 ] && echo "tls_flags=[ENABLE-TLSv1.3]"
    [ "$tlsmax" = 1.2 ] && echo "tls_flags=[DISABLE-TLSv1.3]"
  } > "$D/hostapd.conf"
  printf '* TLS\n' > "$D/eap_users"
  { echo "ap_scan=0"; echo "eapol_version=2"; } > "$D/sup.conf"
  sup_conf "$D/net.conf" alice@example.org "$cert" 1398
  cat "$D/net.conf" >> "$D/sup.conf"
  tcpdump -Z root -i veth0 --immediate-mode -U -s 0 -w "$D/raw.pcap" ether proto 0x888e > "$D/tcpdump.log" 2>&1 &
  TD_PID=$!; PIDS="$PIDS $TD_PID"
  local nocert=
  for _ in $(seq 50); do grep -q 'listening on' "$D/tcpdump.log" && break; sleep 0.1; done
  sleep 0.3
  MTLS_KEYLOG=$D/server.keys LD_PRELOAD=$SHIM hostapd "$D/hostapd.conf" > "$D/server.log" 2>&1 &
  SRV_PID=$!; PIDS="$PIDS $SRV_PID"
  for _ in $(seq 50); do grep -q 'AP-ENABLED' "$D/server.log" && break; sleep 0.1; done
  [ "$cert" = none ] && nocert=1
  MTLS_NO_CLIENT_CERT=$nocert MTLS_KEYLOG=$D/client.keys LD_PRELOAD=$SHIM \
    timeout 20 wpa_supplicant -D wired -i veth1 -c "$D/sup.conf" -dd > "$D/client.log" 2>&1 &
  local cpid=$!; PIDS="$PIDS $cpid"
  for _ in $(seq 150); do grep -q -E 'CTRL-EVENT-EAP-(SUCCESS|FAILURE)' "$D/client.log" && break; sleep 0.1; done
  sleep 0.5
  stop_pid "$cpid"; stop_pid "$SRV_PID"; stop_capture
  ip link del veth0 2>/dev/null || true
  need_log "$D/server.log" "$sre" "server log"
  local outer verdict
  if [ "$expect" = accept ]; then
    need_log "$D/client.log" 'CTRL-EVENT-EAP-SUCCESS' "supplicant did not succeed"
    need_log "$D/server.log" 'IEEE 802.1X: authorizing port' "port not authorized"
    outer="EAP-Success"; verdict=accepted
  else
    need_log "$D/client.log" 'CTRL-EVENT-EAP-FAILURE' "supplicant did not fail"
    need_log "$D/server.log" 'IEEE 802.1X: authentication failed' "no authentication failure"
    outer="EAP-Failure"; verdict=rejected
  fi
  need_log "$D/client.log" "SSL: Using TLS version TLSv$tlsmax" "not TLS $tlsmax"
  finish "$D/client.keys" "$D/server.keys"
  local last
  last=$(tsk -T fields -e eap.code | awk 'NF' | tail -1)
  if [ "$expect" = accept ]; then [ "$last" = 3 ] || die "last EAP packet is not Success ($last)"
  else [ "$last" = 4 ] || die "last EAP packet is not Failure ($last)"; fi
  [ -z "$(tsk -Y tls.alert_message)" ] || die "TLS alert on the wire"
  if [ "$tlsmax" = 1.2 ]; then
    tsk -Y 'tls.handshake.type == 13' | grep -q . || die "tshark sees no CertificateRequest"
  fi
  truth "$NAME.pcapng" eap-tls 02:00:00:00:00:01 1 handshake yes "$response" "$verdict" - "$outer" \
    "hostapd $WPA_VER (driver=wired, integrated EAP server, TLS max $tlsmax) on veth0 / wpa_supplicant $WPA_VER -D wired on veth1 (MAC 02:00:00:00:00:01), cert=$cert: server log '$(how_line "$D/server.log" "$sre")', '$(how_line "$D/server.log" 'IEEE 802.1X: (authorizing port|authentication failed)')'; supplicant: '$(how_line "$D/client.log" 'CTRL-EVENT-EAP-(SUCCESS|FAILURE)')'; no TLS alert on the wire"
}
for V in 1.2 1.3; do
  T=tls1${V#1.}
  eapol_scenario "eaptls-eapol-$T-good-cert" $V client accept 'IEEE 802.1X: authenticated' certificate
  eapol_scenario "eaptls-eapol-$T-no-cert" $V none reject 'SSL_connect error:0A0000C7:SSL routines::peer did not return a certificate' empty
  eapol_scenario "eaptls-eapol-$T-untrusted-cert" $V untrusted reject 'Certificate verification failed, error 20' certificate
done

# ==========================================================================
# DTLS 1.2 over UDP 127.0.0.1:4433: openssl s_server/s_client -dtls1_2 and
# gnutls-serv/gnutls-cli --udp, crossed.
# ==========================================================================
DPORT=4433
# dtls_server ossl|gnu "opts" [stdin-command delay]: start the server
dtls_server() {
  if [ "$1" = ossl ]; then
    # s_server ends the connection when its stdin hits EOF: keep it open
    ( if [ -n "${3:-}" ]; then sleep "$4"; echo "$3"; fi; sleep 12 ) | \
      openssl s_server -dtls1_2 -accept 127.0.0.1:$DPORT -naccept "${NACCEPT:-1}" \
        -cert "$PKI/server.pem" -key "$PKI/server.key" -CAfile "$PKI/ca.pem" \
        -keylogfile "$D/server.keys" $2 > "$D/server.log" 2>&1 &
  else
    SSLKEYLOGFILE=$D/server.keys gnutls-serv --udp -p $DPORT -d 3 --echo \
      --x509certfile "$PKI/server.pem" --x509keyfile "$PKI/server.key" --x509cafile "$PKI/ca.pem" \
      $2 > "$D/server.log" 2>&1 &
  fi
  SRV_PID=$!; PIDS="$PIDS $SRV_PID"
  sleep 1
}
# dtls_client ossl|gnu CERT(none|name) LOG [extra opts] [hold seconds]
dtls_client() {
  local kind=$1 cert=$2 logf=$3 extra=${4:-} hold=${5:-1} certopt=
  if [ "$kind" = ossl ]; then
    [ "$cert" != none ] && certopt="-cert $PKI/$cert.pem -key $PKI/$cert.key"
    ( sleep 1; echo "hello from the DTLS client"; sleep "$hold" ) | \
      timeout 20 openssl s_client -dtls1_2 -connect 127.0.0.1:$DPORT -servername localhost \
        -CAfile "$PKI/ca.pem" -keylogfile "$D/client.keys" $certopt $extra > "$logf" 2>&1 || true
  else
    [ "$cert" != none ] && certopt="--x509certfile $PKI/$cert.pem --x509keyfile $PKI/$cert.key"
    ( sleep 1; echo "hello from the DTLS client"; sleep "$hold" ) | \
      SSLKEYLOGFILE=$D/client.keys timeout 20 gnutls-cli --udp -p $DPORT 127.0.0.1 \
        --x509cafile "$PKI/ca.pem" $certopt $extra > "$logf" 2>&1 || true
  fi
}
peer_name() { # ossl|gnu s_server|s_client
  if [ "$1" = ossl ]; then echo "openssl $2 $OSSL_VER"
  elif [ "$2" = s_server ]; then echo "gnutls-serv $GNUTLS_VER --udp"
  else echo "gnutls-cli $GNUTLS_VER --udp"; fi
}
# dtls_check EXPECTED: verify the wire with tshark (Decode As dtls)
dtsk() { tsk -d udp.port==$DPORT,dtls "$@"; }
dtls_wire() { # stream requested(yes|no) response(certificate|empty|-) verdict alert
  local st=$1 req=$2 resp=$3 verdict=$4 alert=$5 n ccl al
  n=$(dtsk -Y "udp.stream == $st && dtls.handshake.type == 13" | wc -l)
  if [ "$req" = yes ]; then [ "$n" -ge 1 ] || die "stream $st: no CertificateRequest on the wire"
  else [ "$n" = 0 ] || die "stream $st: a CertificateRequest on the wire"; fi
  ccl=$(dtsk -Y "udp.stream == $st && dtls.handshake.type == 11 && udp.srcport != $DPORT" -T fields -e dtls.handshake.certificates_length | head -1)
  case $resp in
    certificate) [ -n "$ccl" ] && [ "$ccl" != 0 ] || die "stream $st: client Certificate not non-empty ($ccl)" ;;
    empty) [ "$ccl" = 0 ] || die "stream $st: client Certificate not empty ($ccl)" ;;
  esac
  al=$(dtsk -Y "udp.stream == $st && dtls.alert_message.level == 2 && udp.srcport == $DPORT" -T fields -e dtls.alert_message.desc | head -1)
  case $verdict in
    rejected) [ -n "$alert" ] && [ "$alert" != - ] && { [ "$al" = "$(alert_num "$alert")" ] || die "stream $st: server alert $al, expected $alert"; } ;;
    *) [ -z "$al" ] || die "stream $st: unexpected fatal server alert $al" ;;
  esac
  if [ "$verdict" = accepted ] || [ "$verdict" = server-ignored ] || [ "$verdict" = not-requested ]; then
    dtsk -Y "udp.stream == $st && dtls.handshake.type == 20 && udp.srcport == $DPORT" | grep -q . \
      || die "stream $st: no (decrypted) Finished from the server (it did not go on)"
  fi
}
alert_num() { case $1 in handshake_failure) echo 40;; bad_certificate) echo 42;; unsupported_certificate) echo 43;;
  certificate_expired) echo 45;; certificate_unknown) echo 46;; unknown_ca) echo 48;; access_denied) echo 49;;
  decrypt_error) echo 51;; certificate_required) echo 116;; *) echo "?";; esac; }

# dtls_scenario NAME SRV "SRVOPTS" CLI CERT REQ RESP VERDICT ALERT SRV_REGEX CLI_REGEX
dtls_scenario() {
  NAME=$1; local srv=$2 sopt=$3 cli=$4 cert=$5 req=$6 resp=$7 verdict=$8 alert=$9 sre=${10} cre=${11}
  want "$NAME" || return 0
  log "$NAME"
  D=$WORK/$NAME; mkdir -p "$D"
  start_capture "udp port $DPORT"
  dtls_server "$srv" "$sopt"
  dtls_client "$cli" "$cert" "$D/client.log"
  stop_capture; stop_pid "$SRV_PID"
  need_log "$D/server.log" "$sre" "server log"
  need_log "$D/client.log" "$cre" "client log"
  finish "$D/client.keys" "$D/server.keys"
  dtls_wire 0 "$req" "$resp" "$verdict" "$alert"
  truth "$NAME.pcapng" dtls 0 1 handshake "$req" "$resp" "$verdict" "$alert" - \
    "$(peer_name "$srv" s_server) ${sopt:-(no client-auth option)} / $(peer_name "$cli" s_client) cert=$cert, DTLS 1.2 on udp 127.0.0.1:$DPORT: server log '$(how_line "$D/server.log" "$sre")'; client: '$(how_line "$D/client.log" "$cre")'"
}
# openssl <-> openssl
dtls_scenario dtls12-ossl-not-requested ossl "" ossl client no - not-requested - \
  'CIPHER is' 'No client certificate CA names sent'
dtls_scenario dtls12-ossl-required-good-cert ossl "-Verify 1" ossl client yes certificate accepted - \
  '^Client certificate' 'Verify return code: 0'
dtls_scenario dtls12-ossl-required-no-cert ossl "-Verify 1" ossl none yes empty rejected handshake_failure \
  'peer did not return a certificate' 'alert handshake failure'
dtls_scenario dtls12-ossl-required-untrusted-cert ossl "-Verify 1 -verify_return_error" ossl untrusted yes certificate rejected unknown_ca \
  'verify error:num=20' 'alert unknown ca'
dtls_scenario dtls12-ossl-optional-no-cert ossl "-verify 1" ossl none yes empty server-ignored - \
  'CIPHER is' 'Verify return code: 0'
# gnutls <-> gnutls
dtls_scenario dtls12-gnutls-required-good-cert gnu "-r" gnu client yes certificate accepted - \
  'Processing .* bytes command' 'Handshake was completed'
dtls_scenario dtls12-gnutls-optional-no-cert gnu "" gnu none yes empty server-ignored - \
  'Processing .* bytes command' 'Handshake was completed'
# gnutls-serv -r does not verify the chain in --udp mode (--verify-client-cert
# needs rawpkkeyfile): an untrusted certificate is accepted.
dtls_scenario dtls12-gnutls-required-untrusted-cert gnu "-r" gnu untrusted yes certificate accepted - \
  'Processing .* bytes command' 'Handshake was completed'
# crossed
dtls_scenario dtls12-gnutls-serv-ossl-cli-required-good-cert gnu "-r" ossl client yes certificate accepted - \
  'Processing .* bytes command' 'Verify return code: 0'
dtls_scenario dtls12-ossl-serv-gnutls-cli-required-good-cert ossl "-Verify 1" gnu client yes certificate accepted - \
  '^Client certificate' 'Handshake was completed'
dtls_scenario dtls12-ossl-serv-gnutls-cli-required-no-cert ossl "-Verify 1" gnu none yes empty rejected handshake_failure \
  'peer did not return a certificate' 'Received alert \[40\]'
dtls_scenario dtls12-ossl-serv-gnutls-cli-required-untrusted-cert ossl "-Verify 1 -verify_return_error" gnu untrusted yes certificate rejected unknown_ca \
  'verify error:num=20' 'Received alert \[48\]'

# gnutls-serv -r, no client certificate: the server aborts the handshake
# ("Error in handshake(): No certificate was found.") WITHOUT any alert; the
# client retransmits its last flight until it gives up.  Nothing on the wire
# says what the server did: verdict undetermined.
NAME=dtls12-gnutls-required-no-cert
if want "$NAME"; then
  log "$NAME"
  D=$WORK/$NAME; mkdir -p "$D"
  start_capture "udp port $DPORT"
  dtls_server gnu "-r"
  dtls_client gnu none "$D/client.log" "" 0
  stop_capture; stop_pid "$SRV_PID"
  need_log "$D/server.log" 'Error in handshake\(\): No certificate was found' "server log"
  finish "$D/client.keys" "$D/server.keys"
  dtls_wire 0 yes empty undetermined -
  [ "$(dtsk -Y 'udp.srcport != 4433 && dtls.handshake.type == 20' | wc -l)" -ge 2 ] || die "the client did not retransmit its final flight"
  truth "$NAME.pcapng" dtls 0 1 handshake yes empty undetermined - - \
    "gnutls-serv $GNUTLS_VER --udp -r / gnutls-cli $GNUTLS_VER --udp without a cert: server log '$(how_line "$D/server.log" 'Error in handshake')' but NO alert on the wire; the client retransmits its Certificate..Finished flight with no answer until it times out; the refusal is only visible as silence"
fi

# a lost datagram: the client reaches s_server through udp-drop-relay.py
# (127.0.0.2:4433 -> from 127.0.0.3 -> 127.0.0.1:4433), which does not pass on
# the server's 5th datagram (a Certificate fragment).  Only the relay <->
# server leg is captured, so the lost datagram is in the capture; s_server
# retransmits its whole flight after its 1 s timer.
NAME=dtls12-ossl-required-good-cert-server-retransmits
if want "$NAME"; then
  log "$NAME"
  D=$WORK/$NAME; mkdir -p "$D"
  start_capture "host 127.0.0.3 and udp port $DPORT"
  dtls_server ossl "-Verify 1"
  python3 "$HERE/udp-drop-relay.py" 127.0.0.2:$DPORT 127.0.0.3 127.0.0.1:$DPORT s5 > "$D/relay.log" 2>&1 &
  RELAY_PID=$!; PIDS="$PIDS $RELAY_PID"
  for _ in $(seq 50); do grep -q 'relay ready' "$D/relay.log" && break; sleep 0.1; done
  ( sleep 3; echo "hello from the DTLS client"; sleep 1 ) | \
    timeout 20 openssl s_client -dtls1_2 -connect 127.0.0.2:$DPORT -servername localhost \
      -CAfile "$PKI/ca.pem" -keylogfile "$D/client.keys" -cert "$PKI/client.pem" -key "$PKI/client.key" \
      > "$D/client.log" 2>&1 || true
  stop_capture; stop_pid "$RELAY_PID"; stop_pid "$SRV_PID"
  need_log "$D/relay.log" '^s5 .* DROPPED' "relay did not drop"
  need_log "$D/server.log" '^Client certificate' "server log"
  need_log "$D/client.log" 'Verify return code: 0' "client log"
  finish "$D/client.keys" "$D/server.keys"
  dtls_wire 0 yes certificate accepted -
  [ "$(dtsk -Y "udp.srcport == $DPORT && dtls.handshake.type == 11 && dtls.handshake.fragment_offset == 0" | wc -l)" -ge 2 ] \
    || die "the server did not retransmit its Certificate"
  truth "$NAME.pcapng" dtls 0 1 handshake yes certificate accepted - - \
    "openssl s_server $OSSL_VER -dtls1_2 -Verify 1 / s_client $OSSL_VER with a good cert through udp-drop-relay.py, which loses the server's 5th datagram (relay log '$(how_line "$D/relay.log" 'DROPPED')'): s_server resends its whole flight after 1 s; server log 'Client certificate'; client 'Verify return code: 0 (ok)'"
fi

# resumption: s_server -Verify 1 -naccept 2; s_client -sess_out, then -sess_in
NAME=dtls12-ossl-resumption
if want "$NAME"; then
  log "$NAME"
  D=$WORK/$NAME; mkdir -p "$D"
  start_capture "udp port $DPORT"
  NACCEPT=2 dtls_server ossl "-Verify 1"
  dtls_client ossl client "$D/client1.log" "-sess_out $D/sess.pem"
  dtls_client ossl client "$D/client2.log" "-sess_in $D/sess.pem"
  stop_capture; stop_pid "$SRV_PID"
  need_log "$D/client1.log" '^New, ' "first connection not new"
  need_log "$D/client2.log" '^Reused, ' "second connection not resumed"
  finish "$D/client.keys" "$D/server.keys"
  dtls_wire 0 yes certificate accepted -
  dtls_wire 1 no - not-requested -
  truth "$NAME.pcapng" dtls 0 1 handshake yes certificate accepted - - \
    "openssl s_server $OSSL_VER -dtls1_2 -Verify 1 -naccept 2 / s_client -sess_out: client '$(how_line "$D/client1.log" '^New, ')', server 'Client certificate'"
  truth "$NAME.pcapng" dtls 1 1 handshake no - not-requested - - \
    "second s_client -sess_in: '$(how_line "$D/client2.log" '^Reused, ')': abbreviated handshake, no CertificateRequest; the identity comes from the first session (resumed)"
fi

# renegotiation: s_server without client auth, then its 'R' command
# (renegotiate, requesting a certificate: SSL_VERIFY_PEER|SSL_VERIFY_CLIENT_ONCE)
NAME=dtls12-ossl-reneg-good-cert
if want "$NAME"; then
  log "$NAME"
  D=$WORK/$NAME; mkdir -p "$D"
  start_capture "udp port $DPORT"
  dtls_server ossl "" R 2.5
  dtls_client ossl client "$D/client.log" "" 4
  stop_capture; stop_pid "$SRV_PID"
  need_log "$D/server.log" 'SSL_do_handshake -> 1' "server did not renegotiate"
  need_log "$D/server.log" 'depth=0 CN = alice@example.org' "no client certificate in the renegotiation"
  need_log "$D/server.log" '3 server renegotiates' "no server renegotiation counted"
  finish "$D/client.keys" "$D/server.keys"
  [ "$(dtsk -Y 'dtls.handshake.type == 0' | wc -l)" -ge 1 ] || die "no HelloRequest"
  truth "$NAME.pcapng" dtls 0 1 handshake no - not-requested - - \
    "openssl s_server $OSSL_VER -dtls1_2 (no -verify) / s_client with a good cert: initial handshake without CertificateRequest"
  truth "$NAME.pcapng" dtls 0 2 renegotiation yes certificate accepted - - \
    "then s_server 'R' (stdin): log '$(how_line "$D/server.log" 'depth=0 CN')', 'verify return:1', '$(how_line "$D/server.log" 'SSL_do_handshake')', '$(how_line "$D/server.log" 'server renegotiates')'; the renegotiation (encrypted, epoch 1) carries the CertificateRequest and the client's certificate; the server's Finished follows"
fi

# client-initiated renegotiation (gnutls-cli -e) against gnutls-serv -r: the
# certificate is requested (and sent) in both handshakes
NAME=dtls12-gnutls-rehandshake-good-cert
if want "$NAME"; then
  log "$NAME"
  D=$WORK/$NAME; mkdir -p "$D"
  start_capture "udp port $DPORT"
  dtls_server gnu "-r"
  dtls_client gnu client "$D/client.log" "-e"
  stop_capture; stop_pid "$SRV_PID"
  need_log "$D/client.log" 'ReHandshake was completed' "no rehandshake"
  # GnuTLS logs the rehandshake's master secret under the same CLIENT_RANDOM
  # as the first handshake's; Wireshark keeps the last line per random, which
  # breaks the first handshake.  Embed only the first handshake's line (the
  # renegotiation is not decrypted by Wireshark 4.0.17 anyway, see README).
  [ "$(awk '{print $2}' "$D/client.keys" | sort -u | wc -l)" = 1 ] && [ "$(wc -l < "$D/client.keys")" = 2 ] \
    || die "expected two CLIENT_RANDOM lines with the same random from GnuTLS"
  head -1 "$D/client.keys" > "$D/first.keys"
  finish "$D/first.keys"
  dtls_wire 0 yes certificate accepted -
  [ "$(dtsk -Y 'udp.srcport != 4433 && dtls.handshake.type == 1' | wc -l)" -ge 3 ] || die "no second ClientHello"
  truth "$NAME.pcapng" dtls 0 1 handshake yes certificate accepted - - \
    "gnutls-serv $GNUTLS_VER --udp -r / gnutls-cli $GNUTLS_VER --udp -e with a good cert: first handshake with CertificateRequest and the client's certificate, server Finished follows"
  truth "$NAME.pcapng" dtls 0 2 renegotiation yes certificate accepted - - \
    "then the client's rehandshake (encrypted, epoch 1): gnutls-serv -r requests the certificate again; client: '$(how_line "$D/client.log" 'ReHandshake was completed')'; the server's Finished and the echoed data follow"
fi

# ==========================================================================
# QUIC v1: ngtcp2 0.12 examples gtlsserver / gtlsclient (GnuTLS), on
# 127.0.0.1:4434.  gtlsserver --verify-client requests a certificate and
# requires one; it does not check the chain (no CA option).
# ==========================================================================
QPORT=4434
quic_server() { # "opts"
  mkdir -p "$D/htdocs"; echo "hello from gtlsserver" > "$D/htdocs/index.html"
  SSLKEYLOGFILE=$D/server.keys gtlsserver $1 -d "$D/htdocs" 127.0.0.1 $QPORT \
    "$PKI/server.key" "$PKI/server.pem" > "$D/server.log" 2>&1 &
  SRV_PID=$!; PIDS="$PIDS $SRV_PID"
  sleep 1
}
quic_client() { # cert(none|name) log "opts"
  local certopt=
  [ "$1" != none ] && certopt="--key $PKI/$1.key --cert $PKI/$1.pem"
  SSLKEYLOGFILE=$D/client.keys timeout 15 gtlsclient $certopt $3 --exit-on-all-streams-close \
    127.0.0.1 $QPORT https://localhost/index.html > "$2" 2>&1 || true
}
qtsk() { tsk -d udp.port==$QPORT,quic "$@"; }
quic_wire() { # stream requested response verdict
  local st=$1 req=$2 resp=$3 verdict=$4 n ccl cc
  n=$(qtsk -Y "udp.stream == $st && tls.handshake.type == 13" | wc -l)
  if [ "$req" = yes ]; then [ "$n" -ge 1 ] || die "stream $st: no CertificateRequest (decrypted)"
  else [ "$n" = 0 ] || die "stream $st: a CertificateRequest"; fi
  ccl=$(qtsk -Y "udp.stream == $st && tls.handshake.type == 11 && udp.srcport != $QPORT" -T fields -e tls.handshake.certificates_length | head -1)
  case $resp in
    certificate) [ -n "$ccl" ] && [ "$ccl" != 0 ] || die "stream $st: client Certificate not non-empty ($ccl)" ;;
    empty) [ "$ccl" = 0 ] || die "stream $st: client Certificate not empty ($ccl)" ;;
  esac
  cc=$(qtsk -Y "udp.stream == $st && udp.srcport == $QPORT && quic.frame_type == 0x1c" -T fields -e quic.cc.error_code | head -1 | cut -d, -f1)
  if [ "$verdict" = rejected ]; then [ "$cc" = 372 ] || die "stream $st: server CONNECTION_CLOSE 0x1c code $cc, expected 372 (0x174)"
  else
    [ -z "$cc" ] || die "stream $st: server closed with transport error $cc"
    qtsk -Y "udp.stream == $st && udp.srcport == $QPORT && quic.frame_type == 0x1e" | grep -q . || die "stream $st: no HANDSHAKE_DONE"
  fi
}
# quic_scenario NAME "SRVOPTS" CERT "CLIOPTS" REQ RESP VERDICT
quic_scenario() {
  NAME=$1; local sopt=$2 cert=$3 copt=$4 req=$5 resp=$6 verdict=$7 sre outer=- alert=-
  want "$NAME" || return 0
  log "$NAME"
  D=$WORK/$NAME; mkdir -p "$D"
  start_capture "udp port $QPORT"
  quic_server "$sopt"
  quic_client "$cert" "$D/client.log" "$copt"
  stop_capture; stop_pid "$SRV_PID"
  if [ "$verdict" = rejected ]; then
    sre='frm tx [0-9]+ (Handshake|1RTT) CONNECTION_CLOSE\(0x1c\) error_code=CRYPTO_ERROR\(0x174\)'
    outer="QUIC CONNECTION_CLOSE 0x174 (certificate_required)"; alert=certificate_required
  else
    sre='frm tx [0-9]+ 1RTT HANDSHAKE_DONE\(0x1e\)'
    need_log "$D/client.log" 'frm rx [0-9]+ 1RTT STREAM' "client got no response stream"
  fi
  need_log "$D/server.log" "$sre" "server log"
  finish "$D/client.keys" "$D/server.keys"
  quic_wire 0 "$req" "$resp" "$verdict"
  truth "$NAME.pcapng" quic 0 1 handshake "$req" "$resp" "$verdict" "$alert" "$outer" \
    "gtlsserver (ngtcp2 $NGTCP2_VER, GnuTLS $GNUTLS_VER) ${sopt:-(no --verify-client)} / gtlsclient cert=$cert ${copt}: server log '$(grep -m1 -o -E "$sre.*" "$D/server.log" | sed -E 's/ +$//')'"
}
quic_scenario quic-ngtcp2-not-requested "" client "" no - not-requested
quic_scenario quic-ngtcp2-required-good-cert "--verify-client" client "" yes certificate accepted
quic_scenario quic-ngtcp2-required-no-cert "--verify-client" none "" yes empty rejected
# HelloRetryRequest: the server only takes secp384r1, the client's first two
# groups (its key shares) are x25519 and secp256r1.
quic_scenario quic-ngtcp2-hrr-required-good-cert "--verify-client --groups=-GROUP-ALL:+GROUP-SECP384R1" client \
  "--groups=-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1" yes certificate accepted
quic_scenario quic-ngtcp2-hrr-required-no-cert "--verify-client --groups=-GROUP-ALL:+GROUP-SECP384R1" none \
  "--groups=-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1" yes empty rejected

# resumption: two connections, the second with the first one's session ticket
NAME=quic-ngtcp2-resumption
if want "$NAME"; then
  log "$NAME"
  D=$WORK/$NAME; mkdir -p "$D"
  start_capture "udp port $QPORT"
  quic_server "--verify-client"
  quic_client client "$D/client1.log" "--session-file $D/session.pem --tp-file $D/tp.txt --disable-early-data"
  [ -s "$D/session.pem" ] || die "no session ticket saved"
  sleep 0.5
  quic_client client "$D/client2.log" "--session-file $D/session.pem --tp-file $D/tp.txt --disable-early-data"
  stop_capture; stop_pid "$SRV_PID"
  finish "$D/client.keys" "$D/server.keys"
  quic_wire 0 yes certificate accepted
  quic_wire 1 no - not-requested
  qtsk -Y 'udp.stream == 1 && tls.handshake.extensions.psk.identity.identity' | grep -q . || die "second ClientHello has no PSK"
  qtsk -Y 'udp.stream == 1 && tls.handshake.type == 2 && tls.handshake.extension.type == 41' | grep -q . \
    || die "second ServerHello did not accept the PSK (not resumed)"
  truth "$NAME.pcapng" quic 0 1 handshake yes certificate accepted - - \
    "gtlsserver --verify-client / gtlsclient with a good cert and --session-file: full handshake, HANDSHAKE_DONE, ticket saved"
  truth "$NAME.pcapng" quic 1 1 handshake no - not-requested - - \
    "second gtlsclient with the saved ticket (--session-file, --tp-file, --disable-early-data): its ServerHello carries pre_shared_key (checked with tshark); PSK handshake without CertificateRequest (resumed; identity from the first connection)"
fi

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
