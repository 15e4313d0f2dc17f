#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# regressions.sh: every input kept by fuzz_campaign.sh still reads without a crash.
#
#   tests/robustness/regressions.sh [DIR]      (default tests/robustness/regressions)
#
# Each DIR/*.pcap* is read through scripts/tshark-mtls with
# WIRESHARK_ABORT_ON_DISSECTOR_BUG=1 three ways (-V, -Y mtls, -2 -V). A case fails on
# a non-zero exit, a signal, a timeout, or a GLib CRITICAL / dissector bug on stderr,
# unless tshark without the plugin fails on the same input too (a Wireshark bug the
# plugin cannot fix: reported as WARN; the .txt next to the capture says which).
# No regression capture is not an error.
#
# Env: MTLS_BUILD_DIR, MTLS_FUZZ_TIMEOUT (seconds per run, default 120)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir=${1:-$repo/tests/robustness/regressions}
tshark_mtls=$repo/scripts/tshark-mtls
limit=${MTLS_FUZZ_TIMEOUT:-120}
export WIRESHARK_ABORT_ON_DISSECTOR_BUG=1

shopt -s nullglob
inputs=("$dir"/*.pcap "$dir"/*.pcapng)
shopt -u nullglob
if [ ${#inputs[@]} -eq 0 ]; then
  echo "no regression captures in $dir"
  exit 0
fi
if ! "$tshark_mtls" -G fields | awk -F'\t' '$3 == "mtls.verdict" {found=1} END {exit !found}'; then
  echo "FAIL the mtls plugin is not loaded (see tests/tshark/plugin_loaded.sh)" >&2
  exit 1
fi

work=$(mktemp -d /tmp/mtls-regressions.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/home" "$work/no-plugins"

run() {  # run TOOL FILTER FILE MODE -> exit status (250: stderr says something broke)
  local tool=$1 filter=$2 file=$3 mode=$4 status=0
  case $mode in
    verbose) timeout "$limit" "$tool" -r "$file" -V >/dev/null 2>"$work/err" || status=$? ;;
    filtered) timeout "$limit" "$tool" -r "$file" -Y "$filter" >/dev/null 2>"$work/err" || status=$? ;;
    two-pass) timeout "$limit" "$tool" -r "$file" -2 -V >/dev/null 2>"$work/err" || status=$? ;;
  esac
  if [ "$status" = 0 ] && grep -Eq 'CRITICAL|DISSECTOR BUG|Dissector bug' "$work/err"; then status=250; fi
  return "$status"
}
plain() { env HOME="$work/home" WIRESHARK_PLUGIN_DIR="$work/no-plugins" tshark "$@"; }

failed=0
warned=0
passed=0
for input in "${inputs[@]}"; do
  for mode in verbose filtered two-pass; do
    status=0
    run "$tshark_mtls" mtls "$input" "$mode" || status=$?
    if [ "$status" = 0 ]; then
      passed=$((passed + 1))
      continue
    fi
    cp "$work/err" "$work/err.plugin"
    if run plain tls "$input" "$mode"; then
      failed=$((failed + 1))
      echo "FAIL $(basename "$input") ($mode): exit $status; tshark without the plugin passes"
      tail -n 15 "$work/err.plugin" | sed 's/^/     /'
    else
      warned=$((warned + 1))
      echo "WARN $(basename "$input") ($mode): exit $status, tshark without the plugin fails too"
    fi
  done
done
echo "${#inputs[@]} regression captures: $passed passed, $failed failed, $warned failing without the plugin too"
[ "$failed" = 0 ]
