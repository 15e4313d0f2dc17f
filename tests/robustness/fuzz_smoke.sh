#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fuzz_smoke.sh: the plugin survives damaged captures.
#
# Every sample capture (or the captures given as arguments) is damaged with editcap:
# random byte errors (-E) at fixed seeds, packets cut at a few snap lengths (-s),
# and slices that start or end mid-connection (-r). Each variant, and the original,
# is read through scripts/tshark-mtls with WIRESHARK_ABORT_ON_DISSECTOR_BUG=1 three
# ways: single pass with full trees (-V), single pass filtered (-Y mtls), and two
# passes (-2 -Y mtls). A case fails on a non-zero exit, a signal, or a hang.
#
# Env: MTLS_FUZZ_JOBS   parallel tshark runs (default: number of CPUs)
#      MTLS_FUZZ_TIMEOUT seconds per run (default 120)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tshark_mtls=$repo/scripts/tshark-mtls
jobs=${MTLS_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
limit=${MTLS_FUZZ_TIMEOUT:-120}

# 7 variants x 3 ways per capture: about 2 minutes for 37 small captures on 2 cores.
error_cases=("0.02 1" "0.1 7")  # bit-error rate, seed
snaplens=(60 200)

if [ $# -gt 0 ]; then
  captures=("$@")
else
  shopt -s nullglob
  captures=("$repo"/sample-captures/*.pcapng)
  shopt -u nullglob
fi
if [ ${#captures[@]} -eq 0 ]; then
  echo "FAIL no captures: sample-captures/*.pcapng is empty" >&2
  exit 1
fi
for tool in editcap capinfos timeout xargs; do
  command -v "$tool" >/dev/null || { echo "FAIL missing $tool" >&2; exit 1; }
done
# Nothing here means anything if the plugin is not loaded.
if ! "$tshark_mtls" -G fields | awk -F'\t' '$3 == "mtls.verdict" {found=1} END {exit !found}'; then
  echo "FAIL the mtls plugin is not loaded (see tests/tshark/plugin_loaded.sh)" >&2
  exit 1
fi

work=$(mktemp -d /tmp/mtls-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"  # readable by the unprivileged user tshark-mtls runs as
mkdir "$work/variants" "$work/results"

# Make the damaged variants.
for capture in "${captures[@]}"; do
  name=$(basename "$capture" .pcapng)
  base=$work/variants/$name
  cp "$capture" "$base.orig.pcapng"
  # editcap 4.0 refuses to rewrite a pcapng made by editcap --inject-secrets ("can't be
  # written as a pcapng file"); one pass through tshark -w (secrets kept) fixes that.
  source=$work/$name.source.pcapng
  tshark -r "$capture" -F pcapng -w "$source" 2>/dev/null
  for error_case in "${error_cases[@]}"; do
    read -r rate seed <<< "$error_case"
    editcap --seed "$seed" -E "$rate" "$source" "$base.E$rate-seed$seed.pcapng"
  done
  for snaplen in "${snaplens[@]}"; do
    editcap -s "$snaplen" "$source" "$base.s$snaplen.pcapng"
  done
  count=$(capinfos -c -M "$source" | awk '/^Number of packets/ {print $NF}')
  if [ "${count:-0}" -ge 4 ]; then
    editcap -r "$source" "$base.head.pcapng" "1-$((count / 2))"
    editcap -r "$source" "$base.tail.pcapng" "$((count / 3 + 1))-$count"
  fi
done
chmod -R a+rX "$work/variants"

# One case per line: mode and file.
for file in "$work"/variants/*.pcapng; do
  printf 'verbose\t%s\nfiltered\t%s\ntwo-pass\t%s\n' "$file" "$file" "$file"
done > "$work/cases"

run_case() {
  local mode=$1 file=$2 status=0 out
  out=$work/results/$(basename "$file").$mode
  case $mode in
    verbose) timeout "$limit" "$tshark_mtls" -r "$file" -V >/dev/null 2>"$out.err" || status=$? ;;
    filtered) timeout "$limit" "$tshark_mtls" -r "$file" -Y mtls >/dev/null 2>"$out.err" || status=$? ;;
    two-pass) timeout "$limit" "$tshark_mtls" -r "$file" -2 -Y mtls >/dev/null 2>"$out.err" || status=$? ;;
  esac
  if [ "$status" = 0 ]; then
    touch "$out.pass"
  else
    echo "$status" > "$out.fail"
  fi
}
export -f run_case
export work limit tshark_mtls
export WIRESHARK_ABORT_ON_DISSECTOR_BUG=1

start=$SECONDS
tr '\t' '\n' < "$work/cases" | xargs -d '\n' -n 2 -P "$jobs" bash -c 'run_case "$1" "$2"' _

passed=$(find "$work/results" -name '*.pass' | wc -l)
failed=0
for fail in "$work"/results/*.fail; do
  [ -e "$fail" ] || continue
  failed=$((failed + 1))
  status=$(cat "$fail")
  case=${fail%.fail}
  why="exit $status"
  [ "$status" -gt 128 ] && why="$why (signal $((status - 128)))"
  [ "$status" = 124 ] && why="timeout after ${limit}s"
  echo "FAIL $(basename "$case"): $why"
  sed 's/^/     /' "$case.err" | head -n 20
done
total=$(wc -l < "$work/cases")
if [ $((passed + failed)) -ne "$total" ]; then
  echo "FAIL only $((passed + failed)) of $total cases reported a result"
  failed=$((failed + total - passed - failed))
fi
echo "${#captures[@]} captures, $total cases in $((SECONDS - start))s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
