#!/usr/bin/env bash
# Regenerate the application-level sample captures of the mtls plugin (issue 12):
# real servers that refuse (or accept) a client certificate inside TLS, above
# TLS in their own protocol, or silently (handshake done, the client speaks,
# the server closes without a word).
#
# Run as root.  Everything runs in a private network namespace (unshare --net,
# only lo), each server on its standard port, so Wireshark's port-based
# detection works without "Decode As".  Every capture holds its TLS secrets
# (editcap --inject-secrets): from openssl s_client -keylogfile, from
# SSLKEYLOGFILE (curl, GnuTLS clients: ldapsearch), from Node's 'keylog'
# event, or from keylog-preload.so (LD_PRELOAD shim that sets OpenSSL's keylog
# callback: psql, mariadb, mosquitto_pub).
#
# Each scenario is checked against the server log, the client transcript and
# plain tshark dissection; the script stops with "FATAL" if a scenario did not
# behave as intended.  The rows of the made captures in truth.tsv (TLS level)
# and app-truth.tsv (application level) are written from the scenario
# definitions below, only after every check passed, and replace the rows of
# the same captures (other rows are kept).
#
# Usage: sudo ./make-app-captures.sh [output-dir] [scenario...]
#          scenario: capture names without .pcapng, shell globs allowed
#          (e.g. 'pgsql-*'); without scenario arguments all are made.
#        ./make-app-captures.sh --list       prints the scenario names and exits.
# Env:   KEEP_WORK=1 keeps the temporary work dir (PKI, raw pcaps, logs).
# Needs: postfix, dovecot-imapd, dovecot-pop3d, slapd, ldap-utils,
#        mariadb-server, mariadb-client, postgresql-15, mosquitto,
#        mosquitto-clients, nodejs, curl, openssl, tcpdump, tshark (Debian 12).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LIST=
if [ "${1:-}" = --list ]; then LIST=1; shift; fi
if [ $# -gt 0 ] && [ -d "$1" ]; then OUT=$(cd "$1" && pwd); shift; else OUT=$HERE; fi
SELECT=("$@")
declare -A SELECT_HIT=()
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
# any_want PATTERN...: is any scenario of a server selected? (starts the server)
any_want() {
  local n; for n in "$@"; do
    if [ -n "$LIST" ]; then echo "$n"; continue; fi
    want "$n" && return 0
  done
  return 1
}
ADDR=127.0.0.1
PG_BIN=/usr/lib/postgresql/15/bin

if [ -z "$LIST" ]; then
for tool in openssl tcpdump tshark editcap ss ip unshare timeout curl node cc \
            /usr/sbin/postfix /usr/sbin/dovecot /usr/sbin/slapd ldapsearch \
            mariadbd mariadb mariadb-install-db $PG_BIN/postgres psql mosquitto mosquitto_pub; do
  command -v "$tool" >/dev/null || { echo "FATAL: missing $tool" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "FATAL: run as root" >&2; exit 1; }
if [ -z "${MTLS_IN_NETNS:-}" ]; then
  export MTLS_IN_NETNS=1
  exec unshare --net --mount --uts -- "$HERE/$(basename "${BASH_SOURCE[0]}")" "$OUT" "${SELECT[@]}"
fi
ip link set lo up
hostname mtls-sample
fi

WORK=$(mktemp -d /tmp/mtls-app-captures.XXXXXX)
chmod 755 "$WORK"
PKI=$WORK/pki
NEW=$WORK/out
mkdir -p "$PKI" "$NEW"
TRUTH=$NEW/truth.tsv
APPTRUTH=$NEW/app-truth.tsv
printf 'capture\tstream\texchange\tphase\trequested\tresponse\tverdict\talert\tresumed\tpha_offered\tserver\tclient\thow\n' > "$TRUTH"
printf 'capture\tstream\texchange\tapp_protocol\tapp_status\tapp_refused\tapp_reply\thow\n' > "$APPTRUTH"

TCPDUMP_PID= SRV_PIDS=
cleanup() {
  local p
  for p in $SRV_PIDS $TCPDUMP_PID; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${KEEP_WORK:-}" ]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

die() {
  echo "FATAL [${NAME:-setup}]: $*" >&2
  if [ -n "${D:-}" ] && [ -d "$D" ]; then
    for f in "$D"/server.log "$D"/client*.log; do
      [ -f "$f" ] && { echo "---- $f" >&2; head -60 "$f" >&2; }
    done
  fi
  exit 1
}
log() { echo "[$(date +%T)] $*" >&2; }

# --------------------------------------------------------------------------
# Throwaway PKI
#   ca         trusted CA, EC P-256
#   ca2        second CA, NOT trusted by any server
#   server     RSA 2048, CN/SAN localhost + IP 127.0.0.1, signed by ca
#   client     EC P-256, CN=mtlsuser, clientAuth, signed by ca (the good cert)
#   other      EC P-256, CN=otheruser, clientAuth, signed by ca
#   untrusted  EC P-256, CN=mtlsuser, clientAuth, signed by ca2
# --------------------------------------------------------------------------
make_pki() {
  local days=3650
  cd "$PKI"
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout ca.key -out ca.pem -days $days -subj "/CN=mtls sample trusted CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
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
  local CLI=$'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth'
  leaf server rsa ca localhost $'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1'
  leaf client ec ca mtlsuser "$CLI"
  leaf other ec ca otheruser "$CLI"
  leaf untrusted ec ca2 mtlsuser "$CLI"
  openssl verify -CAfile ca.pem server.pem client.pem other.pem >/dev/null || die "PKI: good certs do not verify"
  if openssl verify -CAfile ca.pem untrusted.pem >/dev/null 2>&1; then die "PKI: untrusted cert verifies"; fi
  chmod 644 ./*.pem; chmod 600 ./*.key; chmod 644 server.key   # servers run as their own users
  cd - >/dev/null
}

# --------------------------------------------------------------------------
# Capture plumbing
# --------------------------------------------------------------------------
listening() { ss -ltnH "sport = :$1" | grep -q .; }
wait_listen() { # port pid
  local i; for i in $(seq 150); do
    listening "$1" && return 0
    if [ -n "${2:-}" ]; then kill -0 "$2" 2>/dev/null || die "server exited before listening on $1"; fi
    sleep 0.1
  done
  die "nothing listens on port $1"
}

# begin_capture NAME PORT [SERVER-LOG]: tcpdump on lo for that port; the part of
# SERVER-LOG written during the capture becomes $D/server.log.
begin_capture() {
  NAME=$1; PORT=$2; SRVLOG=${3:-}; D=$WORK/$NAME; mkdir -p "$D"; : > "$D/keylog"; chmod 666 "$D/keylog"; CLIENT_N=0
  SRVLOG_OFF=0; [ -n "$SRVLOG" ] && [ -f "$SRVLOG" ] && SRVLOG_OFF=$(stat -c %s "$SRVLOG")
  log "scenario $NAME"
  tcpdump -i lo -n -U --immediate-mode -B 16384 -w "$D/raw.pcap" "tcp port $PORT" 2> "$D/tcpdump.log" & TCPDUMP_PID=$!
  local i; for i in $(seq 100); do grep -qs "listening on" "$D/tcpdump.log" && break; sleep 0.1; done
  grep -q "listening on" "$D/tcpdump.log" || die "tcpdump did not start"
}
run_client() { # cmd...   (output -> client$N.log, never fails)
  CLIENT_N=$((CLIENT_N + 1))
  local rc=0
  "$@" > "$D/client$CLIENT_N.log" 2>&1 || rc=$?
  echo "client exit status: $rc" >> "$D/client$CLIENT_N.log"
}
end_capture() {
  sleep 1   # the server's last words and the FIN/ACKs
  if [ -n "$SRVLOG" ]; then tail -c +$((SRVLOG_OFF + 1)) "$SRVLOG" > "$D/server.log"; else : > "$D/server.log"; fi
  kill -INT "$TCPDUMP_PID"; wait "$TCPDUMP_PID" 2>/dev/null || true; TCPDUMP_PID=
  grep -q "^0 packets dropped by kernel" "$D/tcpdump.log" || die "tcpdump lost packets: $(grep dropped "$D/tcpdump.log" | paste -sd' ')"
  [ -s "$D/keylog" ] || die "empty key log"
  editcap --inject-secrets "tls,$D/keylog" "$D/raw.pcap" "$NEW/$NAME.pcapng" || die "editcap failed"
}

srv_log_has()   { grep -qF -- "$1" "$D/server.log" || die "server log lacks: $1"; }
srv_log_lacks() { if grep -qF -- "$1" "$D/server.log"; then die "server log unexpectedly has: $1"; fi; }
cli_log_has()   { grep -qF -- "$2" "$D/client$1.log" || die "client$1 log lacks: $2"; }
cli_log_lacks() { if grep -qF -- "$2" "$D/client$1.log"; then die "client$1 log unexpectedly has: $2"; fi; }

ts() { tshark -r "$NEW/$NAME.pcapng" "$@" 2>/dev/null; }
# wire -> facts of stream 0 from plain tshark dissection:
#   tls=<negotiated version> scr=<n CertificateRequest> ccert=<client Certificate: c/e>
#   salert=<server fatal alerts> calert=<client fatal alerts> (close_notify is a warning: not listed)
wire() {
  local f="tcp.stream==0" ver scr ccert salert calert
  ver=$(ts -Y "$f && tls.handshake.type==2" -T fields -e tls.handshake.extensions.supported_version -e tls.handshake.version | head -1 | awk '{print ($1!=""?$1:$2)}')
  case $ver in 0x0304) ver=1.3 ;; 0x0303) ver=1.2 ;; esac
  scr=$(ts -Y "$f && tcp.srcport==$PORT" -T fields -e tls.handshake.type -E occurrence=a | tr ',' '\n' | grep -cx 13 || true)
  ccert=$(ts -Y "$f && tcp.dstport==$PORT && tls.handshake.certificates_length" -T fields -e tls.handshake.certificates_length -E occurrence=a |
          tr ',' '\n' | awk 'NF{printf "%s", ($1>0?"c":"e")}')
  salert=$(ts -Y "$f && tcp.srcport==$PORT && tls.alert_message.level==2" -T fields -e tls.alert_message.desc -E occurrence=a | paste -sd, -)
  calert=$(ts -Y "$f && tcp.dstport==$PORT && tls.alert_message.level==2" -T fields -e tls.alert_message.desc -E occurrence=a | paste -sd, -)
  echo "tls=${ver:--} scr=$scr ccert=${ccert:--} salert=${salert:--} calert=${calert:--}"
}
expect_wire() {
  local got; got=$(wire)
  [ "$got" = "$1" ] || die "on the wire: got '$got', expected '$1'"
  echo "$got" > "$D/wire"
}
expect_streams() {
  local n; n=$(ts -T fields -e tcp.stream | sort -u | grep -c . || true)
  [ "$n" = "${1:-1}" ] || die "expected ${1:-1} TCP connection(s), capture has $n"
  n=$(ts -Y "tcp.flags.fin==1 || tcp.flags.reset==1" -T fields -e tcp.stream | sort -u | grep -c . || true)
  [ "$n" = "${1:-1}" ] || die "connection does not end with FIN/RST in the capture"
  n=$(ts -Y "tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment" -T fields -e frame.number | grep -c . || true)
  [ "$n" = 0 ] || die "segments missing from the capture"
}
# expect_dissect FILTER [min]: plain tshark shows at least min (1) frames matching
expect_dissect() {
  local n; n=$(ts -Y "$1" -T fields -e frame.number | grep -c . || true)
  [ "$n" -ge "${2:-1}" ] || die "tshark shows no '$1'"
}
# expect_no_dissect FILTER
expect_no_dissect() {
  local n; n=$(ts -Y "$1" -T fields -e frame.number | grep -c . || true)
  [ "$n" = 0 ] || die "tshark unexpectedly shows '$1'"
}
# silent_close: after the handshake the client sent application data and the
# server sent none and closed (FIN or RST)
expect_silent_close() {
  local capp sapp sfin
  capp=$(ts -Y "tcp.dstport==$PORT && tls.record.content_type==23" -T fields -e frame.number | grep -c . || true)
  sapp=$(ts -Y "tcp.srcport==$PORT && tls.record.content_type==23" -T fields -e frame.number | grep -c . || true)
  sfin=$(ts -Y "tcp.srcport==$PORT && (tcp.flags.fin==1 || tcp.flags.reset==1)" -T fields -e frame.number | grep -c . || true)
  [ "$capp" -ge 1 ] && [ "$sfin" -ge 1 ] || die "silent close: client app records $capp, server FIN/RST $sfin"
  [ "${1:-}" = tls13 ] || { [ "$sapp" = 0 ] || die "silent close: server sent $sapp app-data records"; }
}

# row EXCHANGE-COLUMNS... (12 fields: stream exchange phase requested response verdict alert resumed pha server client how)
row() {
  [ $# = 12 ] || die "row needs 12 fields, got $#"
  local IFS=$'\t'
  printf '%s\n' "$NAME.pcapng	$*" >> "$TRUTH"
}
# app STREAM EXCHANGE PROTOCOL STATUS REFUSED REPLY HOW
app() {
  [ $# = 7 ] || die "app needs 7 fields, got $#"
  local IFS=$'\t'
  printf '%s\n' "$NAME.pcapng	$*" >> "$APPTRUTH"
}
pha() { # pha_offered of stream 0 (ClientHello with post_handshake_auth)
  if [ -n "$(ts -Y "tls.handshake.type==1 && tls.handshake.extension.type==49" -T fields -e frame.number)" ]; then echo yes; else echo no; fi
}

[ -n "$LIST" ] || { make_pki; cc -shared -fPIC -O2 -o "$WORK/keylog-preload.so" "$HERE/keylog-preload.c" -ldl -lssl || die "cannot build keylog-preload.so"; }
SHIM=$WORK/keylog-preload.so
T0=$SECONDS
OSSL_VER=$(openssl version | awk '{print $2}')
CL_OSSL="openssl s_client $OSSL_VER"
GOOD=(-cert "$PKI/client.pem" -key "$PKI/client.key")
UNTRUSTED=(-cert "$PKI/untrusted.pem" -key "$PKI/untrusted.key")

#@@SCENARIOS@@
# ==========================================================================
# Postfix 3.7 on 25 (SMTP STARTTLS): smtpd_tls_req_ccert and smtpd_tls_ask_ccert
#   Runs with its own /etc/postfix and /var/spool/postfix (bind mounts inside
#   this script's private mount namespace).  Clients: openssl s_client
#   -starttls smtp and swaks (Net::SSLeay, secrets through keylog-preload.so).
# ==========================================================================
PF_NAMES=(postfix-smtp-starttls-tls13-req-ccert-good-cert postfix-smtp-starttls-tls13-req-ccert-no-cert
          postfix-smtp-starttls-tls13-req-ccert-untrusted-cert postfix-smtp-starttls-tls12-req-ccert-no-cert
          postfix-smtp-starttls-tls13-ask-ccert-no-cert-swaks postfix-smtp-starttls-tls13-ask-ccert-good-cert-swaks)
if any_want "${PF_NAMES[@]}"; then
  PFD=$WORK/pf; mkdir -p "$PFD/etc" "$PFD/spool"
  cp -a /etc/postfix/. "$PFD/etc/"     # Debian keeps postfix-script, post-install there
  : > "$PFD/etc/main.cf"                # compiled-in defaults + the settings below
  mount --bind "$PFD/etc" /etc/postfix
  mount --bind "$PFD/spool" /var/spool/postfix
  PF_VER=$(postconf -h mail_version 2>/dev/null)
  postconf -e compatibility_level=3.6 myhostname=mx.mtls.test mydomain=mtls.test myorigin=mtls.test \
    'mydestination=mtls.test, localhost' inet_interfaces=$ADDR inet_protocols=ipv4 'mynetworks=' \
    maillog_file=$PFD/maillog maillog_file_prefixes=/tmp smtpd_tls_loglevel=1 smtpd_tls_cert_file=$PKI/server.pem \
    smtpd_tls_key_file=$PKI/server.key smtpd_tls_CAfile=$PKI/ca.pem \
    'smtpd_relay_restrictions=permit_tls_all_clientcerts, reject_unauth_destination' \
    smtputf8_enable=no biff=no alias_maps= alias_database= 'queue_directory=/var/spool/postfix' \
    'data_directory=/var/spool/postfix/data'
  postconf -F 'smtp/inet/chroot=n' 'postlog/unix-dgram/chroot=n'
  mkdir -p /var/spool/postfix/data
  chown postfix: /var/spool/postfix/data
  postfix check 2>"$PFD/check.log" || die "postfix check failed: $(cat "$PFD/check.log")"
  pf_start() { # mode: req|ask  [max TLS protocol]
    if [ "$1" = req ]; then
      postconf -e smtpd_tls_security_level=encrypt smtpd_tls_ask_ccert=yes smtpd_tls_req_ccert=yes
    else
      postconf -e smtpd_tls_security_level=may smtpd_tls_ask_ccert=yes smtpd_tls_req_ccert=no
    fi
    if [ -n "${2:-}" ]; then postconf -e "smtpd_tls_protocols=$2" "smtpd_tls_mandatory_protocols=$2"
    else postconf -e 'smtpd_tls_protocols=>=TLSv1.2' 'smtpd_tls_mandatory_protocols=>=TLSv1.2'; fi
    postfix start >> "$PFD/start.log" 2>&1 || die "postfix start failed: $(cat "$PFD/start.log")"
    wait_listen 25
  }
  pf_stop() {
    postfix stop >> "$PFD/start.log" 2>&1 || true
    local i; for i in $(seq 50); do listening 25 || break; sleep 0.1; done
    sleep 0.5
  }
  # s_client -starttls smtp does EHLO + STARTTLS itself; then: EHLO, MAIL, RCPT, QUIT
  # (-nocommands: lines starting with Q or R are sent, not taken as s_client commands)
  smtp_client() { # s_client args...
    ( sleep 1; printf 'EHLO client.mtls.test\r\n'; sleep 0.5; printf 'MAIL FROM:<sender@mtls.test>\r\n'; sleep 0.5
      printf 'RCPT TO:<user@remote.example>\r\n'; sleep 0.5; printf 'QUIT\r\n'; sleep 1 ) |
      timeout 20 openssl s_client -connect $ADDR:25 -starttls smtp -name client.mtls.test -nocommands \
        -servername localhost -CAfile "$PKI/ca.pem" -verify_return_error -keylogfile "$D/keylog" "$@"
  }
  swaks_client() { # swaks args...
    LD_PRELOAD=$SHIM SSLKEYLOGFILE=$D/keylog timeout 20 swaks --server $ADDR:25 --helo client.mtls.test \
      --from sender@mtls.test --to user@remote.example --tls --quit-after RCPT "$@"
  }
  SV_PF="Postfix $PF_VER"
  SWAKS_VER=$(swaks --version 2>&1 | awk 'NR==1{print $3}')
  CL_SWAKS="swaks $SWAKS_VER (Net::SSLeay, OpenSSL $OSSL_VER)"
  pf_log() { grep -m1 -o "$1.*" "$D/server.log" | sed 's/ from localhost\[127.0.0.1\]//' ; }

  # CASE: tls-version mode cert | smtp-reply-after-TLS | log line | client | verdict
  for CASE in tls13-req-ccert-good-cert tls13-req-ccert-no-cert tls13-req-ccert-untrusted-cert tls12-req-ccert-no-cert \
              tls13-ask-ccert-no-cert-swaks tls13-ask-ccert-good-cert-swaks; do
    want postfix-smtp-starttls-$CASE || continue
    case $CASE in *req-ccert*) MODE=req ;; *) MODE=ask ;; esac
    case $CASE in tls12*) pf_start $MODE TLSv1.2; TV=1.2 ;; *) pf_start $MODE; TV=1.3 ;; esac
    begin_capture postfix-smtp-starttls-$CASE 25 "$PFD/maillog"
    case $CASE in
      *good-cert-swaks) run_client swaks_client --tls-cert "$PKI/client.pem" --tls-key "$PKI/client.key"; CL=$CL_SWAKS ;;
      *swaks) run_client swaks_client; CL=$CL_SWAKS ;;
      *good*) run_client smtp_client "${GOOD[@]}"; CL="$CL_OSSL -starttls smtp" ;;
      *untrusted*) run_client smtp_client "${UNTRUSTED[@]}"; CL="$CL_OSSL -starttls smtp" ;;
      *) run_client smtp_client; CL="$CL_OSSL -starttls smtp" ;;
    esac
    end_capture; pf_stop; expect_streams
    expect_dissect "smtp.req.command == \"STAR\""   # (Wireshark 4.0 keeps 4 letters)
    if [ $MODE = req ]; then SVC="$SV_PF smtpd_tls_req_ccert=yes (security_level encrypt)"
    else SVC="$SV_PF smtpd_tls_ask_ccert=yes (security_level may), relay: permit_tls_all_clientcerts"; fi
    case $CASE in
      *good-cert|*good-cert-swaks)
        srv_log_has "Trusted TLS connection established from localhost[127.0.0.1]: TLSv$TV"
        srv_log_has "rcpt=1 quit=1"
        expect_wire "tls=$TV scr=1 ccert=c salert=- calert=-"
        expect_dissect 'smtp.response.code == 250 && smtp.rsp.parameter contains "2.1.5 Ok"'
        row 0 1 handshake yes certificate accepted - no "$(pha)" "$SVC" "$CL" \
          "postfix $MODE-ccert (TLS $TV); good cert; log: '$(pf_log 'Trusted TLS connection established' | cut -d: -f1-2)', '$(pf_log disconnect)'; RCPT to a remote domain accepted (relay by client cert)."
        app 0 1 smtp 250 no "SMTP 250 2.1.5 Ok" "no 4xx/5xx after TLS; the decisive reply is the one that accepted RCPT TO:<user@remote.example> (relay allowed by the client certificate): '250 2.1.5 Ok'." ;;
      *req-ccert-no-cert)
        srv_log_has "NOQUEUE: abort: TLS from localhost[127.0.0.1]: No client certificate presented"
        expect_wire "tls=$TV scr=1 ccert=e salert=- calert=-"
        expect_dissect 'smtp.response.code == 421'
        cli_log_has 1 "421 4.7.1 mx.mtls.test Error: No client certificate presented"
        row 0 1 handshake yes empty server-ignored - no "$(pha)" "$SVC" "$CL" \
          "postfix req-ccert (TLS $TV); client without cert sent an empty Certificate, the handshake completed (no alert); log: 'Anonymous TLS connection established', 'NOQUEUE: abort: TLS from localhost[127.0.0.1]: No client certificate presented'; the first command after TLS (EHLO) got 421 and the server closed."
        app 0 1 smtp 421 yes "SMTP 421 4.7.1 mx.mtls.test Error: No client certificate presented" \
          "the reply to the first command after STARTTLS (EHLO), then close_notify and FIN; s_client: '421 4.7.1 mx.mtls.test Error: No client certificate presented'." ;;
      *req-ccert-untrusted-cert)
        srv_log_has "certificate verification failed for localhost[127.0.0.1]: untrusted issuer /CN=mtls sample UNTRUSTED CA"
        srv_log_has "NOQUEUE: abort: TLS from localhost[127.0.0.1]: Client certificate not trusted"
        expect_wire "tls=$TV scr=1 ccert=c salert=- calert=-"
        expect_dissect 'smtp.response.code == 421'
        row 0 1 handshake yes certificate accepted - no "$(pha)" "$SVC" "$CL" \
          "postfix req-ccert (TLS $TV); cert from an untrusted CA, the handshake completed (no alert); log: 'certificate verification failed for localhost[127.0.0.1]: untrusted issuer /CN=mtls sample UNTRUSTED CA', 'Untrusted TLS connection established', 'NOQUEUE: abort: TLS from localhost[127.0.0.1]: Client certificate not trusted'. Refused above TLS."
        app 0 1 smtp 421 yes "SMTP 421 4.7.1 mx.mtls.test Error: Client certificate not trusted" \
          "the reply to the first command after STARTTLS (EHLO), then close_notify and FIN." ;;
      *ask-ccert-no-cert-swaks)
        srv_log_has "NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 554 5.7.1 <user@remote.example>: Relay access denied"
        expect_wire "tls=$TV scr=1 ccert=e salert=- calert=-"
        expect_dissect 'smtp.response.code == 554'
        cli_log_has 1 "554 5.7.1 <user@remote.example>: Relay access denied"
        row 0 1 handshake yes empty server-ignored - no "$(pha)" "$SVC" "$CL" \
          "postfix ask-ccert (TLS $TV); swaks without cert sent an empty Certificate, the handshake completed; log: 'Anonymous TLS connection established', 'NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 554 5.7.1 <user@remote.example>: Relay access denied'."
        app 0 1 smtp 554 yes "SMTP 554 5.7.1 <user@remote.example>: Relay access denied" \
          "EHLO and MAIL got 250, RCPT TO:<user@remote.example> got the first 4xx/5xx after TLS: '554 5.7.1 <user@remote.example>: Relay access denied' (swaks: '<~* 554 ...')." ;;
    esac
  done
  umount /var/spool/postfix /etc/postfix
fi
# ==========================================================================
# Dovecot 2.3: IMAP STARTTLS (143), imaps (993), POP3 STLS (110)
#   ssl_verify_client_cert = yes, auth_ssl_require_client_cert = yes
# ==========================================================================
DC_NAMES=(dovecot-imap-starttls-tls13-good-cert dovecot-imap-starttls-tls13-no-cert dovecot-imaps-tls13-untrusted-cert
          dovecot-imaps-tls12-no-cert dovecot-pop3-starttls-tls13-no-cert)
if any_want "${DC_NAMES[@]}"; then
  DCD=$WORK/dc; mkdir -p "$DCD/mail"; chown nobody: "$DCD/mail"
  echo "mtlsuser:{PLAIN}mtls-pw::::::" > "$DCD/passwd"
  cat > "$DCD/dovecot.conf" <<CONF
base_dir = $DCD/run
state_dir = $DCD/state
log_path = $DCD/server.log
protocols = imap pop3
listen = $ADDR
ssl = yes
ssl_cert = <$PKI/server.pem
ssl_key = <$PKI/server.key
ssl_ca = <$PKI/ca.pem
ssl_verify_client_cert = yes
ssl_require_crl = no
ssl_min_protocol = TLSv1.2
auth_ssl_require_client_cert = yes
auth_verbose = yes
auth_mechanisms = plain
first_valid_uid = 1
mail_location = maildir:$DCD/mail/%u
passdb {
  driver = passwd-file
  args = $DCD/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$DCD/mail/%u
}
service imap-login {
  inet_listener imap {
    port = 143
  }
  inet_listener imaps {
    port = 993
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 110
  }
  inet_listener pop3s {
    port = 0
  }
}
CONF
  dovecot -F -c "$DCD/dovecot.conf" & DC_PID=$!; SRV_PIDS="$SRV_PIDS $DC_PID"
  wait_listen 143 $DC_PID; wait_listen 993 $DC_PID; wait_listen 110 $DC_PID
  DC_VER=$(dovecot --version | awk '{print $1}')
  SV_DC="Dovecot $DC_VER ssl_verify_client_cert=yes, auth_ssl_require_client_cert=yes"
  imap_client() { # port s_client-args...
    local port=$1; shift
    ( sleep 1; printf 'a LOGIN mtlsuser mtls-pw\r\n'; sleep 0.7; printf 'b LOGOUT\r\n'; sleep 1 ) |
      timeout 20 openssl s_client -connect $ADDR:$port -nocommands -servername localhost -CAfile "$PKI/ca.pem" \
        -verify_return_error -keylogfile "$D/keylog" "$@"
  }
  pop3_client() { # s_client-args...
    ( sleep 1; printf 'USER mtlsuser\r\n'; sleep 0.5; printf 'PASS mtls-pw\r\n'; sleep 0.7; printf 'QUIT\r\n'; sleep 1 ) |
      timeout 20 openssl s_client -connect $ADDR:110 -starttls pop3 -nocommands -servername localhost -CAfile "$PKI/ca.pem" \
        -verify_return_error -keylogfile "$D/keylog" "$@"
  }
  for CASE in imap-starttls-tls13-good-cert imap-starttls-tls13-no-cert imaps-tls13-untrusted-cert imaps-tls12-no-cert pop3-starttls-tls13-no-cert; do
    want dovecot-$CASE || continue
    case $CASE in imaps*) P=993 ;; pop3*) P=110 ;; *) P=143 ;; esac
    begin_capture dovecot-$CASE $P "$DCD/server.log"
    A=()
    case $CASE in *good*) A=("${GOOD[@]}") ;; *untrusted*) A=("${UNTRUSTED[@]}") ;; esac
    case $CASE in *tls12*) A+=(-tls1_2) ;; esac
    case $CASE in
      imap-starttls*) run_client imap_client 143 -starttls imap "${A[@]}" ;;
      imaps*) run_client imap_client 993 "${A[@]}" ;;
      pop3*) run_client pop3_client "${A[@]}" ;;
    esac
    end_capture; expect_streams
    case $CASE in *tls12*) TV=1.2 ;; *) TV=1.3 ;; esac; PHA=$(pha)
    case $CASE in imap-starttls*) HOW="IMAP STARTTLS on 143"; CL="$CL_OSSL -starttls imap" ;;
                  imaps*) HOW="imaps on 993"; CL="$CL_OSSL" ;;
                  pop3*) HOW="POP3 STLS on 110"; CL="$CL_OSSL -starttls pop3" ;; esac
    case $CASE in
      imap*good-cert)
        srv_log_has "imap-login: Info: Login: user=<mtlsuser>, method=PLAIN"
        expect_wire "tls=$TV scr=1 ccert=c salert=- calert=-"
        expect_dissect 'imap.response contains "a OK Logged in"'
        row 0 1 handshake yes certificate accepted - no "$PHA" "$SV_DC" "$CL" \
          "dovecot $HOW (TLS $TV); good cert; LOGIN accepted; log: '$(grep -m1 -o 'imap-login: Info: Login: user=<mtlsuser>, method=PLAIN, [^,]*, [^,]*, [^,]*, TLS' "$D/server.log")'."
        app 0 1 imap - no "IMAP OK Logged in" "the tagged answer to 'a LOGIN': '* CAPABILITY ...' then 'a OK Logged in'." ;;
      imap*)
        case $CASE in *untrusted*) CC=c; R=certificate; V=accepted; WHY="client sent an invalid cert"; WHAT="cert from an untrusted CA, the handshake completed (no alert)"
                      ;; *) CC=e; R=empty; V=server-ignored; WHY="client didn't send a cert"; WHAT="client without cert sent an empty Certificate, the handshake completed" ;; esac
        srv_log_has "Client didn't present valid SSL certificate"
        srv_log_has "Aborted login by logging out ($WHY)"
        expect_wire "tls=$TV scr=1 ccert=$CC salert=- calert=-"
        expect_dissect "imap.response contains \"a NO [ALERT] Client didn't present valid SSL certificate\""
        cli_log_has 1 "a NO [ALERT] Client didn't present valid SSL certificate"
        row 0 1 handshake yes $R $V - no "$PHA" "$SV_DC" "$CL" \
          "dovecot $HOW (TLS $TV); $WHAT; LOGIN refused; log: 'auth: Info: plain(?,127.0.0.1,...): Client didn't present valid SSL certificate', 'imap-login: Info: Disconnected: Aborted login by logging out ($WHY)'."
        app 0 1 imap - yes "IMAP NO [ALERT] Client didn't present valid SSL certificate" \
          "the tagged answer to 'a LOGIN mtlsuser ...': 'a NO [ALERT] Client didn't present valid SSL certificate' (then the client's LOGOUT got '* BYE Logging out', 'b OK Logout completed.')." ;;
      pop3*)
        srv_log_has "Client didn't present valid SSL certificate"
        srv_log_has "pop3-login: Info: Disconnected: Aborted login by logging out (client didn't send a cert)"
        expect_wire "tls=$TV scr=1 ccert=e salert=- calert=-"
        expect_dissect "pop.response.description contains \"[AUTH] Client didn't present valid SSL certificate\""
        row 0 1 handshake yes empty server-ignored - no "$PHA" "$SV_DC" "$CL" \
          "dovecot $HOW (TLS $TV); client without cert sent an empty Certificate, the handshake completed; USER got +OK, PASS got -ERR; log: 'Client didn't present valid SSL certificate', 'pop3-login: Info: Disconnected: Aborted login by logging out (client didn't send a cert)'."
        app 0 1 pop3 - yes "POP3 -ERR [AUTH] Client didn't present valid SSL certificate" \
          "USER mtlsuser got a bare '+OK' (not an acceptance: the password is still to come), PASS got '-ERR [AUTH] Client didn't present valid SSL certificate' (the decisive answer), QUIT '+OK Logging out'." ;;
    esac
  done
  kill $DC_PID; wait $DC_PID 2>/dev/null || true
fi
# ==========================================================================
# OpenLDAP slapd 2.5 (GnuTLS): StartTLS on 389 (ldapsearch -ZZ), ldaps on 636
#   TLSVerifyClient demand.  slapd checks the client certificate after the
#   GnuTLS handshake: a bad one is dropped without an alert.
# ==========================================================================
LD_NAMES=(slapd-ldaps-tls13-good-cert-sasl-external slapd-ldap-starttls-tls13-good-cert-bad-password
          slapd-ldap-starttls-tls13-no-cert slapd-ldaps-tls12-no-cert slapd-ldaps-tls13-untrusted-cert
          slapd-ldaps-tls12-untrusted-cert)
if any_want "${LD_NAMES[@]}"; then
  LDD=$WORK/ldap; mkdir -p "$LDD/db"; chown -R openldap: "$LDD"
  ld_start() { # gnutls-priority
    cat > "$LDD/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
pidfile $LDD/slapd.pid
argsfile $LDD/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCACertificateFile $PKI/ca.pem
TLSCertificateFile $PKI/server.pem
TLSCertificateKeyFile $PKI/server.key
TLSVerifyClient demand
TLSCipherSuite $1
authz-regexp "^cn=mtlsuser\$" "cn=mtlsuser,dc=mtls,dc=test"
database mdb
maxsize 10485760
suffix "dc=mtls,dc=test"
rootdn "cn=admin,dc=mtls,dc=test"
rootpw mtls-admin-pw
directory $LDD/db
CONF
    slapd -d 264 -u openldap -g openldap -f "$LDD/slapd.conf" -h "ldap://$ADDR/ ldaps://$ADDR/" >> "$LDD/server.log" 2>&1 &
    LD_PID=$!; SRV_PIDS="$SRV_PIDS $LD_PID"
    wait_listen 389 $LD_PID; wait_listen 636 $LD_PID
  }
  ld_stop() { kill $LD_PID; wait $LD_PID 2>/dev/null || true; }
  LD_VER=$(slapd -VV 2>&1 | grep -o 'slapd [0-9.]*' | head -1 | awk '{print $2}')
  SV_LD="slapd $LD_VER (GnuTLS) TLSVerifyClient demand"
  CL_LD="ldapsearch $LD_VER (libldap, GnuTLS)"
  ld_client() { # cert|untrusted|none args...
    local c=$1; shift
    local cert= key=
    case $c in cert) cert=$PKI/client.pem key=$PKI/client.key ;; untrusted) cert=$PKI/untrusted.pem key=$PKI/untrusted.key ;; esac
    env SSLKEYLOGFILE=$D/keylog HOME=$WORK LDAPCONF=/dev/null LDAPRC=/dev/null LDAPTLS_CACERT=$PKI/ca.pem LDAPTLS_REQCERT=demand \
      ${cert:+LDAPTLS_CERT=$cert LDAPTLS_KEY=$key} \
      timeout 20 ldapsearch -LLL -o nettimeout=10 -b "dc=mtls,dc=test" -s base "$@" "(objectClass=*)" dn
  }
  # ldapsearch (GnuTLS) sends only a certificate whose issuer is in the server's
  # CertificateRequest CA list, so it never sends the untrusted one: those
  # scenarios use openssl s_client on ldaps and an anonymous simple BindRequest
  # (messageID 1, version 3, name "", simple "") written as raw BER.
  BIND_BER='\x30\x0c\x02\x01\x01\x60\x07\x02\x01\x03\x04\x00\x80\x00'
  ldaps_raw_client() { # s_client args...
    ( printf "$BIND_BER"; sleep 1.5 ) |   # at once: sent right after the handshake, as ldapsearch does
      timeout 20 openssl s_client -connect $ADDR:636 -nocommands -servername localhost -CAfile "$PKI/ca.pem" \
        -verify_return_error -keylogfile "$D/keylog" "$@"
  }
  for CASE in ldaps-tls13-good-cert-sasl-external ldap-starttls-tls13-good-cert-bad-password ldap-starttls-tls13-no-cert \
              ldaps-tls12-no-cert ldaps-tls13-untrusted-cert ldaps-tls12-untrusted-cert; do
    want slapd-$CASE || continue
    case $CASE in *tls12*) ld_start NORMAL:-VERS-ALL:+VERS-TLS1.2; TV=1.2; SVP="$SV_LD, TLSCipherSuite NORMAL:-VERS-ALL:+VERS-TLS1.2" ;;
                  *) ld_start NORMAL; TV=1.3; SVP="$SV_LD" ;; esac
    case $CASE in ldaps*) P=636 ;; *) P=389 ;; esac
    for TRY in 1 2 3 4 5 6 7 8 9 10; do
    begin_capture slapd-$CASE $P "$LDD/server.log"
    case $CASE in
      *sasl-external) run_client ld_client cert -H ldaps://$ADDR -Y EXTERNAL; CL="$CL_LD -H ldaps:// -Y EXTERNAL" ;;
      *bad-password) run_client ld_client cert -H ldap://$ADDR -ZZ -x -D "cn=admin,dc=mtls,dc=test" -w wrong-pw; CL="$CL_LD -ZZ -x (simple bind)" ;;
      ldap-starttls*no-cert) run_client ld_client none -H ldap://$ADDR -ZZ -x -D "cn=admin,dc=mtls,dc=test" -w mtls-admin-pw; CL="$CL_LD -ZZ -x (simple bind)" ;;
      ldaps*no-cert) run_client ld_client none -H ldaps://$ADDR -x -D "cn=admin,dc=mtls,dc=test" -w mtls-admin-pw; CL="$CL_LD -H ldaps:// -x (simple bind)" ;;
      *untrusted*) run_client ldaps_raw_client "${UNTRUSTED[@]}"; CL="$CL_OSSL (raw anonymous BindRequest)" ;;
    esac
    end_capture
    # the untrusted-cert scenarios show the silent refusal only when the
    # client's BindRequest gets out before slapd's close (a race that slapd
    # often wins over TLS 1.2): run them again until it does
    case $CASE in *untrusted*)
      if [ -z "$(ts -Y "ldap.protocolOp == 0" -T fields -e frame.number)" ] && [ $TRY -lt 10 ]; then
        log "  slapd closed before the client's BindRequest left (try $TRY): again"; sleep 0.5; continue
      fi ;;
    esac
    break
    done
    ld_stop; expect_streams
    PHA=$(pha)
    case $CASE in
      *sasl-external)
        srv_log_has 'BIND dn="" method=163'; srv_log_has 'BIND authcid="cn=mtlsuser" authzid="cn=mtlsuser"'
        srv_log_has 'op=0 RESULT tag=97 err=0'
        expect_wire "tls=$TV scr=1 ccert=c salert=- calert=-"
        expect_dissect "ldap.protocolOp == 1 && ldap.resultCode == 0"
        row 0 1 handshake yes certificate accepted - no "$PHA" "$SVP" "$CL" \
          "slapd ldaps, TLSVerifyClient demand (TLS $TV); good cert CN=mtlsuser; SASL EXTERNAL bind succeeded; log: 'BIND dn=\"\" method=163', 'BIND authcid=\"cn=mtlsuser\" authzid=\"cn=mtlsuser\"', 'RESULT tag=97 err=0'."
        app 0 1 ldap 0 no "LDAP bindResponse 0 success" "bindResponse(1) resultCode 0 to the SASL EXTERNAL bind (log: 'op=0 RESULT tag=97 err=0'); then the search." ;;
      *bad-password)
        srv_log_has 'STARTTLS'; srv_log_has 'BIND dn="cn=admin,dc=mtls,dc=test" method=128'; srv_log_has 'RESULT tag=97 err=49'
        cli_log_has 1 "ldap_bind: Invalid credentials (49)"
        expect_wire "tls=$TV scr=1 ccert=c salert=- calert=-"
        expect_dissect "ldap.protocolOp == 1 && ldap.resultCode == 49"
        row 0 1 handshake yes certificate accepted - no "$PHA" "$SVP" "$CL" \
          "slapd StartTLS on 389, TLSVerifyClient demand (TLS $TV); good cert, TLS accepted; then a simple bind as cn=admin with a wrong password; log: 'BIND dn=\"cn=admin,dc=mtls,dc=test\" method=128', 'RESULT tag=97 err=49'; ldapsearch: 'ldap_bind: Invalid credentials (49)'. Refused above TLS (password, not certificate)."
        app 0 1 ldap 49 yes "LDAP bindResponse 49 invalidCredentials" "bindResponse(2) resultCode 49 (invalidCredentials) to the simple bind (the StartTLS extendedResp(1) before TLS is not the decisive answer)." ;;
      ldap-starttls*no-cert)
        srv_log_has 'STARTTLS'; srv_log_has "TLS: can't accept: Certificate is required"; srv_log_has "closed (TLS negotiation failure)"
        srv_log_lacks "BIND"
        expect_wire "tls=$TV scr=1 ccert=e salert=- calert=-"
        expect_no_dissect "ldap.protocolOp == 1"
        expect_no_dissect "tcp.srcport==389 && tls.record.content_type==23"
        expect_no_dissect "tcp.srcport==389 && tls.handshake.type==4"
        # a race: ldapsearch sends its bindRequest right after its Finished,
        # slapd closes right after reading that Finished
        if [ -n "$(ts -Y "ldap.protocolOp == 0" -T fields -e frame.number)" ]; then
          expect_silent_close
          WHEN="the handshake completed for the client, which sent its bindRequest; slapd (GnuTLS) sent no alert, no ticket, no answer: FIN then RST (silent refusal)"
          APPW="silent refusal: the bindRequest after TLS was answered by FIN/RST"
        else
          WHEN="slapd (GnuTLS) closed right after the client's Finished (FIN then RST), before the client's bindRequest was sent: no alert, no ticket, no application data (a close before it went on; this run did not catch the client's bindRequest, which it sends right after its Finished)"
          APPW="no application data after TLS from either side: slapd closed before the client's bindRequest"
        fi
        row 0 1 handshake yes empty rejected - no "$PHA" "$SVP" "$CL" \
          "slapd StartTLS on 389, TLSVerifyClient demand (TLS $TV); ldapsearch without cert sent an empty Certificate and Finished; $WHEN; log: 'TLS: can't accept: Certificate is required..', 'closed (TLS negotiation failure)'; ldapsearch: '$(grep -m1 -o 'ldap_[a-z_]*[:(].*' "$D/client1.log")'."
        app 0 1 ldap - no - "$APPW; the StartTLS extendedResp(1) in clear before TLS is the only LDAP answer (not decisive)." ;;
      ldaps*no-cert)
        srv_log_has "TLS: can't accept: No certificate was found"; srv_log_has "closed (TLS negotiation failure)"
        expect_wire "tls=$TV scr=1 ccert=e salert=- calert=-"
        expect_no_dissect "tcp.srcport==636 && tls.record.content_type==20"
        expect_no_dissect "tcp.dstport==636 && tls.record.content_type==23"
        row 0 1 handshake yes empty rejected - no "$(pha)" "$SVP" "$CL" \
          "slapd ldaps, TLSVerifyClient demand (TLS $TV); ldapsearch without cert sent an empty Certificate; slapd (GnuTLS) closed at once (FIN, then RST for the client's late ClientKeyExchange), before its ChangeCipherSpec/Finished and without an alert; log: 'TLS: can't accept: No certificate was found..', 'closed (TLS negotiation failure)'; ldapsearch: '$(grep -m1 -o 'ldap_sasl_bind.*' "$D/client1.log")'."
        app 0 1 - - no - "no application data either way: the handshake never completed." ;;
      *untrusted*)
        srv_log_has "TLS: can't accept: (unknown error code)"; srv_log_has "closed (TLS negotiation failure)"
        srv_log_lacks "BIND"
        cli_log_has 1 "unexpected eof while reading"
        # s_client answers the server's FIN with a decode_error alert when it
        # gets there before the server's RST (a race): after the server's close
        CA=$(wire | sed 's/.*calert=//')
        case $CA in -) CAW="" ;; 50) CAW=" (s_client answered the FIN with a fatal decode_error alert, after the server's close, before the RST)" ;;
                    *) die "unexpected client alert $CA" ;; esac
        expect_wire "tls=$TV scr=1 ccert=c salert=- calert=$CA"
        expect_dissect "ldap.protocolOp == 0"
        expect_silent_close
        if [ $TV = 1.2 ]; then expect_dissect "tcp.srcport==636 && tls.handshake.type==20"; FINW="slapd sent ChangeCipherSpec and Finished (handshake complete)"
        else FINW="the handshake completed for the client (TLS 1.3), no NewSessionTicket"; fi
        row 0 1 handshake yes certificate rejected - no "$PHA" "$SVP" "$CL" \
          "slapd ldaps, TLSVerifyClient demand (TLS $TV); s_client sent a cert from an untrusted CA; $FINW; the client sent its BindRequest; slapd (GnuTLS) sent no alert and no answer: FIN then RST$CAW (silent refusal, as in issue 12); log: 'TLS: can't accept: (unknown error code).', 'closed (TLS negotiation failure)'; s_client: 'unexpected eof while reading'."
        app 0 1 ldap - no - "silent refusal: the anonymous BindRequest after the handshake was answered by FIN/RST, no LDAP message from the server." ;;
    esac
  done
fi
# ==========================================================================
# MariaDB 10.11 on 3306: an account with REQUIRE X509
#   ssl-ca set: the server sends a CertificateRequest on every TLS connection;
#   no certificate goes through TLS and the login gets ERR 1045; an untrusted
#   one is refused in TLS.
# ==========================================================================
MY_NAMES=(mariadb-tls13-x509-good-cert mariadb-tls13-x509-no-cert mariadb-tls13-x509-untrusted-cert
          mariadb-tls12-x509-no-cert)
if any_want "${MY_NAMES[@]}"; then
  MYD=$WORK/my; mkdir -p "$MYD/data"; chown -R mysql: "$MYD"
  mariadb-install-db --no-defaults --datadir="$MYD/data" --user=mysql --skip-test-db > "$MYD/install.log" 2>&1 || die "mariadb-install-db failed"
  mariadbd --no-defaults --user=mysql --datadir="$MYD/data" --socket="$MYD/sock" --pid-file="$MYD/pid" \
    --port=3306 --bind-address=$ADDR --skip-name-resolve --log-warnings=4 --log-error="$MYD/server.log" \
    --ssl-ca="$PKI/ca.pem" --ssl-cert="$PKI/server.pem" --ssl-key="$PKI/server.key" &
  MY_PID=$!; SRV_PIDS="$SRV_PIDS $MY_PID"
  wait_listen 3306 $MY_PID
  mariadb --no-defaults -S "$MYD/sock" -u root -e "CREATE USER 'x509user'@'127.0.0.1' IDENTIFIED BY 'mtls-pw' REQUIRE X509; GRANT USAGE ON *.* TO 'x509user'@'127.0.0.1';" || die "mariadb setup failed"
  MY_VER=$(mariadbd --version | awk '{print $3}' | sed 's/-MariaDB.*//')
  SV_MY="MariaDB $MY_VER REQUIRE X509"
  CL_MY="mariadb client $(mariadb --version | awk '{print $3}' | tr -d ,) (OpenSSL $OSSL_VER)"
  my_client() { # extra-options...
    LD_PRELOAD=$SHIM SSLKEYLOGFILE=$D/keylog timeout 20 mariadb --no-defaults -h $ADDR -P 3306 -u x509user -pmtls-pw \
      --ssl --ssl-ca="$PKI/ca.pem" --ssl-verify-server-cert "$@" -e "SELECT 'mtls ok'"
  }
  MY_GOOD=(--ssl-cert="$PKI/client.pem" --ssl-key="$PKI/client.key")
  DENIED="Access denied for user 'x509user'@'127.0.0.1' (using password: YES)"

  if want mariadb-tls13-x509-good-cert; then
    begin_capture mariadb-tls13-x509-good-cert 3306 "$MYD/server.log"
    run_client my_client --tls-version=TLSv1.3 "${MY_GOOD[@]}"
    end_capture; expect_streams
    cli_log_has 1 "mtls ok"
    expect_wire "tls=1.3 scr=1 ccert=c salert=- calert=-"
    expect_dissect "mysql.response_code == 0x00"
    row 0 1 handshake yes certificate accepted - no "$(pha)" "$SV_MY" "$CL_MY" \
      "account x509user@127.0.0.1 REQUIRE X509, server ssl-ca set (TLS 1.3); the client sent the good cert; login OK, query answered ('mtls ok'); no error in the server log."
    app 0 1 mysql 0 no "MySQL OK" "OK packet to the login (tshark: mysql.response_code 0x00); the client printed 'mtls ok'."
  fi

  if want mariadb-tls13-x509-no-cert; then
    begin_capture mariadb-tls13-x509-no-cert 3306 "$MYD/server.log"
    run_client my_client --tls-version=TLSv1.3
    end_capture; expect_streams
    cli_log_has 1 "ERROR 1045 (28000): $DENIED"
    srv_log_has "$DENIED"
    expect_wire "tls=1.3 scr=1 ccert=e salert=- calert=-"
    expect_dissect "mysql.error_code == 1045"
    row 0 1 handshake yes empty server-ignored - no "$(pha)" "$SV_MY" "$CL_MY" \
      "account REQUIRE X509, server ssl-ca set (TLS 1.3); the client without cert sent an empty Certificate, the handshake completed, then ERR to the login; client: 'ERROR 1045 (28000): $DENIED'; server log: 'Access denied for user ...'."
    app 0 1 mysql 1045 yes "MySQL ERROR 1045 (28000) $DENIED" "ERR packet to the login (error 1045, SQLSTATE 28000); client: 'ERROR 1045 (28000): $DENIED'."
  fi

  if want mariadb-tls13-x509-untrusted-cert; then
    begin_capture mariadb-tls13-x509-untrusted-cert 3306 "$MYD/server.log"
    run_client my_client --tls-version=TLSv1.3 --ssl-cert="$PKI/untrusted.pem" --ssl-key="$PKI/untrusted.key"
    end_capture; expect_streams
    cli_log_has 1 "alert unknown ca"
    expect_wire "tls=1.3 scr=1 ccert=c salert=48 calert=-"
    row 0 1 handshake yes certificate rejected unknown_ca no "$(pha)" "$SV_MY" "$CL_MY" \
      "account REQUIRE X509, server ssl-ca set (TLS 1.3); the client sent a cert from an untrusted CA; the server sent alert unknown_ca; client: '$(grep -m1 -o 'ERROR.*' "$D/client1.log")'."
    app 0 1 mysql - no - "refused inside TLS: the server sent no application data after the handshake (its greeting and the client's SSL request were in clear before TLS); the client's Login Request followed the alert inside TLS and was never answered."
  fi

  if want mariadb-tls12-x509-no-cert; then
    begin_capture mariadb-tls12-x509-no-cert 3306 "$MYD/server.log"
    run_client my_client --tls-version=TLSv1.2
    end_capture; expect_streams
    cli_log_has 1 "ERROR 1045 (28000): $DENIED"
    srv_log_has "$DENIED"
    expect_wire "tls=1.2 scr=1 ccert=e salert=- calert=-"
    expect_dissect "mysql.error_code == 1045"
    row 0 1 handshake yes empty server-ignored - no "$(pha)" "$SV_MY" "$CL_MY --tls-version=TLSv1.2" \
      "account REQUIRE X509, server ssl-ca set (TLS 1.2); the client without cert sent an empty Certificate, the handshake completed, then ERR to the login; client: 'ERROR 1045 (28000): $DENIED'."
    app 0 1 mysql 1045 yes "MySQL ERROR 1045 (28000) $DENIED" "ERR packet to the login (error 1045, SQLSTATE 28000); client: 'ERROR 1045 (28000): $DENIED'."
  fi
  kill $MY_PID; wait $MY_PID 2>/dev/null || true
fi
# ==========================================================================
# PostgreSQL 15 on 5432: hostssl ... cert and clientcert=verify-ca
#   ssl_ca_file set: the server sends a CertificateRequest on every TLS
#   connection (SSL_VERIFY_PEER without FAIL_IF_NO_PEER_CERT): no certificate
#   goes through TLS and is refused by pg_hba in the startup (ErrorResponse);
#   an untrusted one is refused in TLS (alert unknown_ca).
# ==========================================================================
PG_NAMES=(pgsql-tls13-cert-good-cert pgsql-tls13-cert-no-cert pgsql-tls13-cert-untrusted-cert
          pgsql-tls13-cert-wrong-cn pgsql-tls12-verify-ca-no-cert)
if any_want "${PG_NAMES[@]}"; then
  PGD=$WORK/pg; mkdir -p "$PGD"; chown postgres: "$PGD"
  cp "$PKI/server.key" "$PGD/server.key"; chown postgres: "$PGD/server.key"; chmod 600 "$PGD/server.key"
  runuser -u postgres -- $PG_BIN/initdb -D "$PGD/data" -A trust -U postgres > "$PGD/initdb.log" 2>&1 || die "initdb failed"
  cat >> "$PGD/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = 5432
unix_socket_directories = '$PGD'
ssl = on
ssl_cert_file = '$PKI/server.pem'
ssl_key_file = '$PGD/server.key'
ssl_ca_file = '$PKI/ca.pem'
log_connections = on
log_min_messages = info
CONF
  cat > "$PGD/data/pg_hba.conf" <<CONF
local     all  postgres                  trust
hostssl   all  mtlsuser   127.0.0.1/32   cert
hostssl   all  otheruser  127.0.0.1/32   trust clientcert=verify-ca
CONF
  setpriv --reuid postgres --regid postgres --init-groups -- $PG_BIN/postgres -D "$PGD/data" > "$PGD/server.log" 2>&1 & SRV_PIDS="$SRV_PIDS $!"; PG_PID=$!
  wait_listen 5432 $PG_PID
  runuser -u postgres -- psql -h "$PGD" -U postgres -q -c "CREATE USER mtlsuser; CREATE USER otheruser;" postgres > /dev/null || die "psql setup failed"
  PG_VER=$($PG_BIN/postgres --version | awk '{print $3}')
  SV_PG="PostgreSQL $PG_VER"
  CL_PG="psql $PG_VER (libpq, OpenSSL $OSSL_VER)"
  pg_client() { # user extra-conninfo...
    local user=$1; shift
    LD_PRELOAD=$SHIM SSLKEYLOGFILE=$D/keylog timeout 20 psql -X -w \
      "host=$ADDR port=5432 dbname=postgres user=$user sslmode=verify-full sslrootcert=$PKI/ca.pem gssencmode=disable sslcert=$WORK/none.pem sslkey=$WORK/none.key $*" \
      -c "SELECT 'mtls ok'"
  }
  PG_GOOD="sslcert=$PKI/client.pem sslkey=$PKI/client.key"

  if want pgsql-tls13-cert-good-cert; then
    begin_capture pgsql-tls13-cert-good-cert 5432 "$PGD/server.log"
    run_client pg_client mtlsuser "$PG_GOOD"
    end_capture; expect_streams
    cli_log_has 1 "mtls ok"
    srv_log_has "connection authorized: user=mtlsuser database=postgres application_name=psql SSL enabled (protocol=TLSv1.3"
    expect_wire "tls=1.3 scr=1 ccert=c salert=- calert=-"
    expect_dissect "pgsql.type == \"Authentication request\" && pgsql.authtype == 0"
    row 0 1 handshake yes certificate accepted - no "$(pha)" "$SV_PG hostssl cert" "$CL_PG" \
      "pg_hba 'hostssl all mtlsuser 127.0.0.1/32 cert', ssl_ca_file set (TLS 1.3); psql sent the good cert CN=mtlsuser; log: 'connection authenticated: identity=\"CN=mtlsuser\" method=cert', 'connection authorized: user=mtlsuser database=postgres application_name=psql SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384'; query answered."
    app 0 1 pgsql - no "PostgreSQL AuthenticationOk" \
      "server answered the startup with AuthenticationOk (R, code 0) then ReadyForQuery; psql printed the query result 'mtls ok'."
  fi

  if want pgsql-tls13-cert-no-cert; then
    begin_capture pgsql-tls13-cert-no-cert 5432 "$PGD/server.log"
    run_client pg_client mtlsuser
    end_capture; expect_streams
    cli_log_has 1 "FATAL:  connection requires a valid client certificate"
    srv_log_has "FATAL:  connection requires a valid client certificate"
    expect_wire "tls=1.3 scr=1 ccert=e salert=- calert=-"
    expect_dissect 'pgsql.type == "Error" && pgsql.code == "28000"'
    row 0 1 handshake yes empty server-ignored - no "$(pha)" "$SV_PG hostssl cert" "$CL_PG" \
      "pg_hba 'hostssl all mtlsuser 127.0.0.1/32 cert', ssl_ca_file set (TLS 1.3); psql without cert sent an empty Certificate, the handshake completed; then ErrorResponse; log: 'FATAL:  connection requires a valid client certificate'."
    app 0 1 pgsql - yes "PostgreSQL FATAL 28000 connection requires a valid client certificate" \
      "ErrorResponse to the startup message: S FATAL, C 28000, M 'connection requires a valid client certificate'; psql: 'FATAL:  connection requires a valid client certificate'."
  fi

  if want pgsql-tls13-cert-untrusted-cert; then
    begin_capture pgsql-tls13-cert-untrusted-cert 5432 "$PGD/server.log"
    run_client pg_client mtlsuser "sslcert=$PKI/untrusted.pem sslkey=$PKI/untrusted.key"
    end_capture; expect_streams
    srv_log_has "could not accept SSL connection"
    cli_log_has 1 "alert unknown ca"
    expect_wire "tls=1.3 scr=1 ccert=c salert=48 calert=-"
    row 0 1 handshake yes certificate rejected unknown_ca no "$(pha)" "$SV_PG hostssl cert" "$CL_PG" \
      "pg_hba 'hostssl ... cert', ssl_ca_file set (TLS 1.3); psql sent a cert from an untrusted CA; server sent alert unknown_ca; log: '$(grep -m1 -o 'could not accept SSL connection.*' "$D/server.log")'; psql: '$(grep -m1 -o 'SSL error.*' "$D/client1.log")'."
    app 0 1 pgsql - no - "refused inside TLS: after its Finished the client sent no startup message and the server sent no application data (only the SSLRequest and its 'S' in clear before TLS)."
  fi

  if want pgsql-tls13-cert-wrong-cn; then
    begin_capture pgsql-tls13-cert-wrong-cn 5432 "$PGD/server.log"
    run_client pg_client mtlsuser "sslcert=$PKI/other.pem sslkey=$PKI/other.key"
    end_capture; expect_streams
    srv_log_has 'FATAL:  certificate authentication failed for user "mtlsuser"'
    srv_log_has 'provided user name (mtlsuser) and authenticated user name (otheruser) do not match'
    cli_log_has 1 'FATAL:  certificate authentication failed for user "mtlsuser"'
    expect_wire "tls=1.3 scr=1 ccert=c salert=- calert=-"
    expect_dissect 'pgsql.type == "Error" && pgsql.code == "28000"'
    row 0 1 handshake yes certificate accepted - no "$(pha)" "$SV_PG hostssl cert" "$CL_PG" \
      "pg_hba 'hostssl all mtlsuser 127.0.0.1/32 cert' (TLS 1.3); psql as mtlsuser sent a good cert with CN=otheruser: TLS accepted it; log: 'provided user name (mtlsuser) and authenticated user name (otheruser) do not match', 'FATAL:  certificate authentication failed for user \"mtlsuser\"'. Refused above TLS."
    app 0 1 pgsql - yes 'PostgreSQL FATAL 28000 certificate authentication failed for user "mtlsuser"' \
      "ErrorResponse to the startup message: S FATAL, C 28000, M 'certificate authentication failed for user \"mtlsuser\"'."
  fi

  if want pgsql-tls12-verify-ca-no-cert; then
    begin_capture pgsql-tls12-verify-ca-no-cert 5432 "$PGD/server.log"
    run_client pg_client otheruser "ssl_max_protocol_version=TLSv1.2"
    end_capture; expect_streams
    cli_log_has 1 "FATAL:  connection requires a valid client certificate"
    srv_log_has "FATAL:  connection requires a valid client certificate"
    expect_wire "tls=1.2 scr=1 ccert=e salert=- calert=-"
    expect_dissect 'pgsql.type == "Error" && pgsql.code == "28000"'
    row 0 1 handshake yes empty server-ignored - no "$(pha)" "$SV_PG hostssl trust clientcert=verify-ca" "$CL_PG ssl_max_protocol_version=TLSv1.2" \
      "pg_hba 'hostssl all otheruser 127.0.0.1/32 trust clientcert=verify-ca', ssl_ca_file set (TLS 1.2); psql without cert sent an empty Certificate, the handshake completed; log: 'FATAL:  connection requires a valid client certificate'."
    app 0 1 pgsql - yes "PostgreSQL FATAL 28000 connection requires a valid client certificate" \
      "ErrorResponse to the startup message: S FATAL, C 28000, M 'connection requires a valid client certificate'."
  fi
  kill $PG_PID; wait $PG_PID 2>/dev/null || true
fi
# ==========================================================================
# Mosquitto 2.0 on 8883 (MQTT over TLS): require_certificate true, with and
# without use_identity_as_username (allow_anonymous is false by default in 2.0)
# ==========================================================================
MQ_NAMES=(mosquitto-mqtt-tls13-good-cert-no-identity mosquitto-mqtt-tls13-identity-good-cert
          mosquitto-mqtt-tls13-no-cert mosquitto-mqtt-tls13-untrusted-cert)
if any_want "${MQ_NAMES[@]}"; then
  MQD=$WORK/mq; mkdir -p "$MQD"; chmod 777 "$MQD"
  MQ_VER=$( (mosquitto -h 2>/dev/null || true) | awk 'NR==1{print $3}')
  CL_MQ="mosquitto_pub $MQ_VER -V mqttv311 (OpenSSL $OSSL_VER)"
  mq_start() { # use_identity_as_username true|false
    cat > "$MQD/mosquitto.conf" <<CONF
user mosquitto
log_dest file $MQD/server.log
log_type all
connection_messages true
listener 8883 $ADDR
cafile $PKI/ca.pem
certfile $PKI/server.pem
keyfile $PKI/server.key
require_certificate true
use_identity_as_username $1
CONF
    mosquitto -c "$MQD/mosquitto.conf" & MQ_PID=$!; SRV_PIDS="$SRV_PIDS $MQ_PID"
    wait_listen 8883 $MQ_PID
  }
  mq_stop() { kill $MQ_PID; wait $MQ_PID 2>/dev/null || true; }
  mq_client() { # extra-options...
    LD_PRELOAD=$SHIM SSLKEYLOGFILE=$D/keylog timeout 20 mosquitto_pub -d -V mqttv311 -h localhost -p 8883 -i mtls-sample \
      --cafile "$PKI/ca.pem" -t mtls/sample -m hello "$@"
  }
  MQ_GOOD=(--cert "$PKI/client.pem" --key "$PKI/client.key")

  if want mosquitto-mqtt-tls13-good-cert-no-identity; then
    mq_start false
    begin_capture mosquitto-mqtt-tls13-good-cert-no-identity 8883 "$MQD/server.log"
    run_client mq_client "${MQ_GOOD[@]}"
    end_capture; mq_stop; expect_streams
    cli_log_has 1 "Connection error: Connection Refused: not authorised."
    srv_log_has "not authorised"
    expect_wire "tls=1.3 scr=1 ccert=c salert=- calert=-"
    expect_dissect "mqtt.conack.val == 5"
    row 0 1 handshake yes certificate accepted - no "$(pha)" "mosquitto $MQ_VER require_certificate true, use_identity_as_username false" "$CL_MQ" \
      "mosquitto require_certificate true without use_identity_as_username (TLS 1.3); the good cert was accepted in TLS, then CONNACK 5; log: '$(grep -m1 -o 'Client .*not authorised.*' "$D/server.log" || grep -m1 -o '[^:]*not authorised.*' "$D/server.log")'; client: 'Connection error: Connection Refused: not authorised.'"
    app 0 1 mqtt 5 yes "MQTT CONNACK 5 not authorised" "CONNACK return code 5 (MQTT 3.1.1 'Connection Refused, not authorized'); allow_anonymous defaults to false in 2.0 and the client sent no username."
  fi

  if want mosquitto-mqtt-tls13-identity-good-cert; then
    mq_start true
    begin_capture mosquitto-mqtt-tls13-identity-good-cert 8883 "$MQD/server.log"
    run_client mq_client "${MQ_GOOD[@]}"
    end_capture; mq_stop; expect_streams
    cli_log_has 1 "Client mtls-sample received CONNACK (0)"
    srv_log_has "u'mtlsuser'"
    expect_wire "tls=1.3 scr=1 ccert=c salert=- calert=-"
    expect_dissect "mqtt.conack.val == 0"
    row 0 1 handshake yes certificate accepted - no "$(pha)" "mosquitto $MQ_VER require_certificate true, use_identity_as_username true" "$CL_MQ" \
      "mosquitto require_certificate true, use_identity_as_username true (TLS 1.3); good cert CN=mtlsuser; log: '$(grep -m1 -o 'New client connected.*' "$D/server.log")'; client: 'received CONNACK (0)', PUBLISH sent."
    app 0 1 mqtt 0 no "MQTT CONNACK 0 accepted" "CONNACK return code 0 (Connection Accepted); the certificate's CN mtlsuser became the user name."
  fi

  if want mosquitto-mqtt-tls13-no-cert; then
    mq_start true
    begin_capture mosquitto-mqtt-tls13-no-cert 8883 "$MQD/server.log"
    run_client mq_client
    end_capture; mq_stop; expect_streams
    expect_wire "tls=1.3 scr=1 ccert=e salert=116 calert=-"
    row 0 1 handshake yes empty rejected certificate_required no "$(pha)" "mosquitto $MQ_VER require_certificate true" "$CL_MQ" \
      "mosquitto require_certificate true (TLS 1.3); client without cert sent an empty Certificate; the server sent alert certificate_required; log: '$(grep -m1 -o 'OpenSSL Error.*' "$D/server.log")'; client: '$(grep -m1 -o 'Error.*' "$D/client1.log")'."
    app 0 1 mqtt - no - "refused inside TLS: no application data from the server."
  fi

  if want mosquitto-mqtt-tls13-untrusted-cert; then
    mq_start true
    begin_capture mosquitto-mqtt-tls13-untrusted-cert 8883 "$MQD/server.log"
    run_client mq_client --cert "$PKI/untrusted.pem" --key "$PKI/untrusted.key"
    end_capture; mq_stop; expect_streams
    expect_wire "tls=1.3 scr=1 ccert=c salert=48 calert=-"
    row 0 1 handshake yes certificate rejected unknown_ca no "$(pha)" "mosquitto $MQ_VER require_certificate true" "$CL_MQ" \
      "mosquitto require_certificate true (TLS 1.3); client cert from an untrusted CA; the server sent alert unknown_ca; log: '$(grep -m1 -o 'OpenSSL Error.*' "$D/server.log")'; client: '$(grep -m1 -o 'Error.*' "$D/client1.log")'."
    app 0 1 mqtt - no - "refused inside TLS: no application data from the server."
  fi
fi
# ==========================================================================
# Node.js https on 443: requestCert true with rejectUnauthorized false (the
# application answers 401/403 itself) and rejectUnauthorized true (node
# checks the certificate after the handshake and destroys the socket)
# ==========================================================================
NODE_NAMES=(node-https-tls13-reqcert-good-cert node-https-tls13-reqcert-no-cert-401 node-https-tls13-reqcert-untrusted-cert-403
            node-https-tls13-reject-unauthorized-no-cert node-https-tls13-reject-unauthorized-untrusted-cert
            node-https-tls12-reject-unauthorized-untrusted-cert)
if any_want "${NODE_NAMES[@]}"; then
  NODE_VER=$(node --version)
  CURL_VER=$(curl --version | awk 'NR==1{print $2}')
  CL_CURL="curl $CURL_VER (OpenSSL $OSSL_VER)"
  cat > "$WORK/server.js" <<'JS'
// requestCert: true; rejectUnauthorized from argv[2]; max TLS version argv[3]
const https = require('https');
const fs = require('fs');
const pki = process.env.PKI;
const reject = process.argv[2] === 'true';
const server = https.createServer({
  key: fs.readFileSync(pki + '/server.key'), cert: fs.readFileSync(pki + '/server.pem'),
  ca: fs.readFileSync(pki + '/ca.pem'), requestCert: true, rejectUnauthorized: reject,
  maxVersion: process.argv[3] || 'TLSv1.3',
}, (req, res) => {
  const s = req.socket;
  const peer = s.getPeerCertificate();
  let status, body;
  if (s.authorized) { status = 200; body = 'hello ' + peer.subject.CN + '\n'; }
  else if (!peer || !peer.subject) { status = 401; body = 'client certificate required\n'; }
  else { status = 403; body = 'client certificate not trusted: ' + s.authorizationError + '\n'; }
  console.log('request ' + req.method + ' ' + req.url + ' authorized=' + s.authorized +
              ' authorizationError=' + s.authorizationError + ' -> ' + status);
  res.writeHead(status, { 'Content-Type': 'text/plain', 'Connection': 'close' });
  res.end(body);
});
server.on('secureConnection', (s) => console.log('secureConnection ' + s.getProtocol() +
  ' authorized=' + s.authorized + ' authorizationError=' + s.authorizationError));
server.on('tlsClientError', (e, s) => console.log('tlsClientError ' + e.code + ': ' + e.message));
server.listen(443, '127.0.0.1', () => console.log('listening'));
JS
  node_start() { # rejectUnauthorized maxVersion
    PKI=$PKI node "$WORK/server.js" "$@" > "$D/node.log" 2>&1 & NODE_PID=$!; SRV_PIDS="$SRV_PIDS $NODE_PID"
    wait_listen 443 $NODE_PID
  }
  node_stop() { kill $NODE_PID; wait $NODE_PID 2>/dev/null || true; }
  curl_client() { # extra-options...
    SSLKEYLOGFILE=$D/keylog timeout 20 curl -sS -v --http1.1 --resolve localhost:443:$ADDR --cacert "$PKI/ca.pem" "$@" https://localhost/
  }
  C_GOOD=(--cert "$PKI/client.pem" --key "$PKI/client.key")
  C_UNTRUSTED=(--cert "$PKI/untrusted.pem" --key "$PKI/untrusted.key")
  SV_NODE="node $NODE_VER https requestCert true"

  if want node-https-tls13-reqcert-good-cert; then
    begin_capture node-https-tls13-reqcert-good-cert 443
    node_start false
    run_client curl_client "${C_GOOD[@]}"
    end_capture; node_stop; cp "$D/node.log" "$D/server.log"; expect_streams
    srv_log_has "secureConnection TLSv1.3 authorized=true"; srv_log_has "-> 200"
    cli_log_has 1 "hello mtlsuser"
    expect_wire "tls=1.3 scr=1 ccert=c salert=- calert=-"
    expect_dissect "http.response.code == 200"
    row 0 1 handshake yes certificate accepted - no "$(pha)" "$SV_NODE, rejectUnauthorized false" "$CL_CURL" \
      "node https requestCert true, rejectUnauthorized false (TLS 1.3); good cert; log: 'secureConnection TLSv1.3 authorized=true', 'request GET / authorized=true ... -> 200'; curl got 'hello mtlsuser'."
    app 0 1 http 200 no "HTTP 200 OK" "the application answered 200 (socket.authorized true); curl: '< HTTP/1.1 200 OK'."
  fi

  if want node-https-tls13-reqcert-no-cert-401; then
    begin_capture node-https-tls13-reqcert-no-cert-401 443
    node_start false
    run_client curl_client
    end_capture; node_stop; cp "$D/node.log" "$D/server.log"; expect_streams
    srv_log_has "authorizationError=UNABLE_TO_GET_ISSUER_CERT -> 401"
    cli_log_has 1 "< HTTP/1.1 401 Unauthorized"
    expect_wire "tls=1.3 scr=1 ccert=e salert=- calert=-"
    expect_dissect "http.response.code == 401"
    row 0 1 handshake yes empty server-ignored - no "$(pha)" "$SV_NODE, rejectUnauthorized false" "$CL_CURL" \
      "node https requestCert true, rejectUnauthorized false (TLS 1.3); curl without cert sent an empty Certificate; handshake completed; log: '$(grep -m1 -o 'secureConnection.*' "$D/server.log")', '$(grep -m1 -o 'request .*' "$D/server.log")'."
    app 0 1 http 401 yes "HTTP 401 Unauthorized" "the application answered 401 'client certificate required' (no peer certificate); curl: '< HTTP/1.1 401 Unauthorized'."
  fi

  if want node-https-tls13-reqcert-untrusted-cert-403; then
    begin_capture node-https-tls13-reqcert-untrusted-cert-403 443
    node_start false
    run_client curl_client "${C_UNTRUSTED[@]}"
    end_capture; node_stop; cp "$D/node.log" "$D/server.log"; expect_streams
    srv_log_has "authorizationError=UNABLE_TO_VERIFY_LEAF_SIGNATURE -> 403"
    cli_log_has 1 "< HTTP/1.1 403 Forbidden"
    expect_wire "tls=1.3 scr=1 ccert=c salert=- calert=-"
    expect_dissect "http.response.code == 403"
    row 0 1 handshake yes certificate accepted - no "$(pha)" "$SV_NODE, rejectUnauthorized false" "$CL_CURL" \
      "node https requestCert true, rejectUnauthorized false (TLS 1.3); cert from an untrusted CA went through TLS; log: '$(grep -m1 -o 'secureConnection.*' "$D/server.log")', '$(grep -m1 -o 'request .*' "$D/server.log")'. Refused above TLS."
    app 0 1 http 403 yes "HTTP 403 Forbidden" "the application answered 403 'client certificate not trusted: UNABLE_TO_VERIFY_LEAF_SIGNATURE'; curl: '< HTTP/1.1 403 Forbidden'."
  fi

  if want node-https-tls13-reject-unauthorized-no-cert; then
    begin_capture node-https-tls13-reject-unauthorized-no-cert 443
    node_start true
    run_client curl_client
    end_capture; node_stop; cp "$D/node.log" "$D/server.log"; expect_streams
    srv_log_has "tlsClientError ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE"
    expect_wire "tls=1.3 scr=1 ccert=e salert=116 calert=-"
    row 0 1 handshake yes empty rejected certificate_required no "$(pha)" "$SV_NODE, rejectUnauthorized true" "$CL_CURL" \
      "node https requestCert true, rejectUnauthorized true (TLS 1.3: SSL_VERIFY_FAIL_IF_NO_PEER_CERT); curl without cert sent an empty Certificate; the server sent alert certificate_required; log: 'tlsClientError ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE ... peer did not return a certificate'; curl: '$(grep -m1 -o 'curl: .*' "$D/client1.log")'."
    app 0 1 http - no - "refused inside TLS: curl's GET (TLS 1.3: sent right after its Finished) followed the alert and was never answered."
  fi

  if want node-https-tls13-reject-unauthorized-untrusted-cert; then
    begin_capture node-https-tls13-reject-unauthorized-untrusted-cert 443
    node_start true
    run_client curl_client "${C_UNTRUSTED[@]}"
    end_capture; node_stop; cp "$D/node.log" "$D/server.log"; expect_streams
    srv_log_lacks "secureConnection"; srv_log_lacks "request "
    cli_log_has 1 "> GET / HTTP/1.1"
    # node destroys the socket: RST when the GET is still unread, else FIN (then RST)
    if grep -q "Connection reset by peer" "$D/client1.log"; then CLOSE=RST; else cli_log_has 1 "Empty reply from server"; CLOSE="FIN (then RST for the client's close_notify)"; fi
    expect_wire "tls=1.3 scr=1 ccert=c salert=- calert=-"
    expect_dissect "http.request.method == \"GET\""
    expect_no_dissect "tcp.srcport==443 && tls.record.content_type==23"
    expect_silent_close
    row 0 1 handshake yes certificate rejected - no "$(pha)" "$SV_NODE, rejectUnauthorized true" "$CL_CURL" \
      "node https requestCert true, rejectUnauthorized true (TLS 1.3); cert from an untrusted CA; the handshake completed (no alert), curl sent 'GET / HTTP/1.1', node checked the cert after the handshake and destroyed the socket: $CLOSE, no alert, no ticket, no application data (silent refusal); no 'secureConnection' in the log, only '$(grep -m1 -o 'tlsClientError.*' "$D/server.log")'; curl: '$(grep -m1 -o 'curl: .*' "$D/client1.log")'."
    app 0 1 http - no - "silent refusal: curl's GET was answered by $CLOSE, no HTTP response."
  fi

  if want node-https-tls12-reject-unauthorized-untrusted-cert; then
    begin_capture node-https-tls12-reject-unauthorized-untrusted-cert 443
    node_start true TLSv1.2
    run_client curl_client "${C_UNTRUSTED[@]}"
    end_capture; node_stop; cp "$D/node.log" "$D/server.log"; expect_streams
    srv_log_lacks "secureConnection"; srv_log_lacks "request "
    cli_log_lacks 1 "> GET"; cli_log_has 1 "SSL_ERROR_SYSCALL"
    expect_wire "tls=1.2 scr=1 ccert=c salert=- calert=-"
    expect_no_dissect "tcp.srcport==443 && tls.record.content_type==20"
    expect_no_dissect "tcp.dstport==443 && tls.record.content_type==23"
    expect_dissect "tcp.srcport==443 && tcp.flags.fin==1"
    row 0 1 handshake yes certificate rejected - no "$(pha)" "$SV_NODE, rejectUnauthorized true, maxVersion TLSv1.2" "$CL_CURL" \
      "node https requestCert true, rejectUnauthorized true, maxVersion TLSv1.2; cert from an untrusted CA; after the client's Finished node closed (FIN) without its ChangeCipherSpec/Finished and without an alert: the handshake never completed, the client sent no application data; no 'secureConnection' in the log, only '$(grep -m1 -o 'tlsClientError.*' "$D/server.log")'; curl: '$(grep -m1 -o 'curl: .*' "$D/client1.log")'."
    app 0 1 - - no - "no application data either way: the server closed before its Finished (TLS 1.2), curl never sent its request."
  fi
fi

# ==========================================================================
[ -n "$LIST" ] && exit 0
NAME=install
for pat in "${SELECT[@]}"; do [ -n "${SELECT_HIT[$pat]:-}" ] || die "no scenario matches '$pat' (see --list)"; done
log "scenarios passed in $((SECONDS - T0)) s; installing into $OUT"
cp "$NEW"/*.pcapng "$OUT/"
# truth.tsv, app-truth.tsv: replace the rows of the made captures (in place),
# append the rows of captures not listed yet; other rows are kept.
merge() { # new old
  local old=$2; [ -f "$old" ] || head -1 "$1" > "$old"
  awk -F'\t' -v OFS='\t' '
    FNR == 1 { if (NR == 1) print; next }
    NR == FNR { n[$1]++; rows[$1, n[$1]] = $0; if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 }; next }
    ($1 in n) { if (!($1 in done)) { done[$1] = 1; for (i = 1; i <= n[$1]; i++) print rows[$1, i] }; next }
    { print }
    END { for (j = 1; j <= k; j++) if (!(order[j] in done)) for (i = 1; i <= n[order[j]]; i++) print rows[order[j], i] }
  ' "$1" "$old" > "$WORK/merged"
  cp "$WORK/merged" "$old"
}
merge "$TRUTH" "$OUT/truth.tsv"
merge "$APPTRUTH" "$OUT/app-truth.tsv"
ls -l "$NEW"/*.pcapng >&2
