#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# valgrind.sh: tshark with the mtls plugin under valgrind memcheck.
#
#   tests/robustness/valgrind.sh [CAPTURE...]
#
# By default over 6 sample captures: TLS 1.2 and 1.3, TLS 1.3 post-handshake auth,
# TLS 1.2 renegotiation, a client abort, and a TLS 1.3 capture with its secrets
# stripped (the inference path). Each is read once with `-2 -V` (both passes and
# full trees) plus the plugin's -z reports when tshark lists them, through
# scripts/tshark-mtls and a tshark shim on PATH (tshark_shim.sh) that runs
#   valgrind --error-exitcode=1 --errors-for-leak-kinds=definite --leak-check=full
# with XML reports (valgrind_filter.py judges them). Fails on any invalid
# read/write/free or use of uninitialised values, and on a definite leak whose stack
# includes the plugin; libwireshark's and glib's own leaks at exit are ignored.
#
# Env: MTLS_BUILD_DIR          build directory (default <repo>/build)
#      MTLS_VALGRIND_JOBS      parallel runs (default: number of CPUs)
#      MTLS_VALGRIND_TIMEOUT   seconds per run (default 600)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here=$repo/tests/robustness
jobs=${MTLS_VALGRIND_JOBS:-$(nproc 2>/dev/null || echo 2)}
limit=${MTLS_VALGRIND_TIMEOUT:-600}
command -v valgrind >/dev/null || { echo "FAIL valgrind not found (apt-get install valgrind)" >&2; exit 1; }

# shellcheck source=tests/robustness/tshark_shim.sh
source "$here/tshark_shim.sh"

work=$(mktemp -d /tmp/mtls-valgrind.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
mkdir -m 755 "$work/captures"

if [ $# -gt 0 ]; then
  captures=("$@")
else
  captures=()
  for name in ossl-tls12-required-no-cert ossl-tls13-required-untrusted-cert ossl-tls13-pha-no-cert \
              ossl-tls12-reneg-untrusted-cert ossl-tls12-client-aborts; do
    captures+=("$repo/sample-captures/$name.pcapng")
  done
  python3 "$repo/tests/lib/strip_secrets.py" "$repo/sample-captures/python-tls13-pha-required-no-cert.pcapng" \
    "$work/captures/python-tls13-pha-required-no-cert.nokeys.pcapng"
  captures+=("$work/captures/python-tls13-pha-required-no-cert.nokeys.pcapng")
fi
for capture in "${captures[@]}"; do
  [ -r "$capture" ] || { echo "FAIL no capture $capture" >&2; exit 1; }
done

logs=$work/logs
make_tshark_shim "$work" valgrind --tool=memcheck --error-exitcode=1 --errors-for-leak-kinds=definite \
  --leak-check=full --show-leak-kinds=definite --track-origins=yes --num-callers=40 \
  --xml=yes "--xml-file=$logs/vg.%p.xml" "--log-file=$logs/vg.%p.log"
# The plugin's -z reports, when this build has them (asked before the shim is on PATH).
zargs=()
zlist=$("$repo/scripts/tshark-mtls" -z help 2>&1 || true)
for report in mtls,tree mtls,conv; do
  if printf '%s\n' "$zlist" | grep -qx "[[:space:]]*$report"; then zargs+=(-z "$report"); fi
done

export PATH=$work/bin:$PATH

run_one() {
  local capture=$1 name status=0
  name=$(basename "$capture" .pcapng)
  timeout "$limit" "$repo/scripts/tshark-mtls" -r "$capture" -2 -V "${zargs[@]}" >"$work/$name.out" 2>"$work/$name.err" || status=$?
  echo "$status" > "$work/$name.status"
}

start=$SECONDS
running=0
for capture in "${captures[@]}"; do
  run_one "$capture" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
done
wait

failed=0
for capture in "${captures[@]}"; do
  name=$(basename "$capture" .pcapng)
  status=$(cat "$work/$name.status")
  # 0: clean; 1: valgrind found errors (judged below, leaks outside the plugin are
  # expected); anything else: tshark failed, timed out or died.
  if [ "$status" != 0 ] && [ "$status" != 1 ]; then
    echo "FAIL $name: exit $status$([ "$status" = 124 ] && echo " (timeout after ${limit}s)")"
    head -n 20 "$work/$name.err" | sed 's/^/     /'
    failed=$((failed + 1))
  elif ! grep -qiE 'mtls|TLS Client Authentication' "$work/$name.out"; then
    echo "FAIL $name: no mtls tree in the output (plugin not loaded?)"
    failed=$((failed + 1))
  else
    echo "ok   $name ran (valgrind exit $status)"
  fi
done

shopt -s nullglob
reports=("$logs"/vg.*.xml)
shopt -u nullglob
if [ ${#reports[@]} -lt ${#captures[@]} ]; then
  echo "FAIL ${#reports[@]} valgrind reports for ${#captures[@]} runs"
  failed=$((failed + 1))
fi
python3 "$here/valgrind_filter.py" "${reports[@]}" || failed=$((failed + 1))
echo "${#captures[@]} captures under valgrind in $((SECONDS - start))s"
[ "$failed" = 0 ]
