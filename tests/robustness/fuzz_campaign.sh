#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fuzz_campaign.sh: a fuzz campaign over the sample captures.
#
#   tests/robustness/fuzz_campaign.sh [N]        N seeds per mutation (default 10)
#   tests/robustness/fuzz_campaign.sh --slice    the fixed CI slice (see below)
#   tests/robustness/fuzz_campaign.sh [N] -- CAPTURE...   only these captures
#
# Every capture is mutated, for seeds 1..N, by:
#   E         editcap --seed S -E RATE (random byte errors; RATE cycles 0.005..0.3)
#   s         editcap -s L (every packet cut at a random snap length 20..1500)
#   drop, dup, reorder, head, splice, mix
#             tests/robustness/mutate_pcapng.py: packets dropped, duplicated,
#             reordered, the capture cut after k packets, TLS records spliced across
#             connections (payloads swapped between connections, or replaced, extended
#             or cut with another capture's records), and combinations
# and each variant is read three ways with WIRESHARK_ABORT_ON_DISSECTOR_BUG=1:
# single pass with full trees (-V), single pass filtered with the plugin's reports
# (-Y mtls, plus -z mtls,tree / mtls,conv when this build has them), and two passes
# (-2 -V). A case fails on a non-zero exit, a signal, a timeout, or a GLib CRITICAL
# or dissector bug on stderr. That is 8 x N x 3 runs per capture: N=10 is ~9000
# runs for 37 captures, about 25-40 minutes on 2 cores.
#
# Each failing input is re-run with plain tshark (no plugin) to tell plugin failures
# from Wireshark's own, and kept as a regression capture:
#   tests/robustness/regressions/<capture>.<mutation>-<seed>.pcapng (+ .txt: how it
#   failed); tests/robustness/regressions.sh (ctest robustness.regressions) re-runs
#   them all.
#
# --slice: seed 1 of the packet-level mutations (drop, dup, reorder, splice) over
# every capture, read with -2 -V (the first pass, then the second with full trees):
# about 220 cases in 1-2 minutes; the editcap mutations are covered by fuzz_smoke.sh.
#
# Env: MTLS_BUILD_DIR      build directory (default <repo>/build)
#      MTLS_FUZZ_JOBS      parallel tshark runs (default: number of CPUs)
#      MTLS_FUZZ_TIMEOUT   seconds per run (default 120)
#      MTLS_FUZZ_KEEP      directory to keep crashing inputs in
#                          (default tests/robustness/regressions; --slice: none, only reported)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here=$repo/tests/robustness
tshark_mtls=$repo/scripts/tshark-mtls
jobs=${MTLS_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
limit=${MTLS_FUZZ_TIMEOUT:-120}

seeds=10
slice=0
captures=()
while [ $# -gt 0 ]; do
  case $1 in
    --slice) slice=1 ;;
    --) shift; captures=("$@"); break ;;
    -h | --help) awk 'NR > 2 && /^#/ {sub(/^# ?/, ""); print; next} NR > 2 {exit}' "$0"; exit 0 ;;
    *[!0-9]* | '') echo "usage: $0 [N | --slice] [-- CAPTURE...]" >&2; exit 2 ;;
    *) seeds=$1 ;;
  esac
  shift
done
if [ ${#captures[@]} -eq 0 ]; then
  shopt -s nullglob
  captures=("$repo"/sample-captures/*.pcapng)
  shopt -u nullglob
fi
[ ${#captures[@]} -gt 0 ] || { echo "FAIL no captures" >&2; exit 1; }
for tool in editcap tshark timeout xargs python3; do
  command -v "$tool" >/dev/null || { echo "FAIL missing $tool" >&2; exit 1; }
done
if ! "$tshark_mtls" -G fields | awk -F'\t' '$3 == "mtls.verdict" {found=1} END {exit !found}'; then
  echo "FAIL the mtls plugin is not loaded (see tests/tshark/plugin_loaded.sh)" >&2
  exit 1
fi
if [ "$slice" = 1 ]; then
  keep=${MTLS_FUZZ_KEEP:-}
  mutations=(drop dup reorder splice)
  seeds=1
  modes=(two-pass)  # -2 -V runs the first pass too
else
  keep=${MTLS_FUZZ_KEEP:-$here/regressions}
  mutations=(E s drop dup reorder head splice mix)
  modes=(verbose filtered two-pass)
fi
zargs=""
zlist=$("$tshark_mtls" -z help 2>&1 || true)
for report in mtls,tree mtls,conv; do
  if printf '%s\n' "$zlist" | grep -qx "[[:space:]]*$report"; then zargs="$zargs -z $report"; fi
done

work=$(mktemp -d /tmp/mtls-campaign.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
mkdir "$work/sources" "$work/variants" "$work/results" "$work/no-plugins" "$work/home"
# tshark without the plugin: an empty plugin folder and a throwaway HOME (no personal
# plugins); as root tshark loads neither anyway.
printf '#!/usr/bin/env bash\nexec env HOME=%q WIRESHARK_PLUGIN_DIR=%q tshark "$@"\n' \
  "$work/home" "$work/no-plugins" > "$work/plain-tshark"
chmod 755 "$work/plain-tshark"

rates=(0.005 0.01 0.02 0.05 0.1 0.3)
start=$SECONDS
echo "== mutating ${#captures[@]} captures: ${mutations[*]}, seeds 1..$seeds"
i=0
for capture in "${captures[@]}"; do
  name=$(basename "$capture" .pcapng)
  source=$work/sources/$name.pcapng
  # editcap 4.0 cannot rewrite pcapng made by --inject-secrets: one pass through tshark -w.
  tshark -r "$capture" -F pcapng -w "$source" 2>/dev/null
  # The donor of spliced records: the next capture in the list (other connection, other keys).
  donor=${captures[$(((i + 1) % ${#captures[@]}))]}
  i=$((i + 1))
  for mutation in "${mutations[@]}"; do
    for seed in $(seq 1 "$seeds"); do
      out=$work/variants/$name.$mutation-$seed.pcapng
      case $mutation in
        E) editcap --seed "$seed" -E "${rates[$((seed % ${#rates[@]}))]}" "$source" "$out" ;;
        s) editcap -s "$(( (seed * 7919 + ${#name} * 104729) % 1481 + 20 ))" "$source" "$out" ;;
        *) python3 "$here/mutate_pcapng.py" "$mutation" "$seed" "$capture" "$out" "$donor" ;;
      esac
    done
  done
done
chmod -R a+rX "$work/variants"

for file in "$work"/variants/*.pcapng; do
  for mode in "${modes[@]}"; do printf '%s\t%s\n' "$mode" "$file"; done
done > "$work/cases"
total=$(wc -l < "$work/cases")
echo "== $total cases ($(ls "$work/variants" | wc -l) variants x ${#modes[@]} modes), $jobs jobs"

run_case() {
  local mode=$1 file=$2 status=0 out tool=${3:-$tshark_mtls} filter=mtls z=$zargs
  out=$work/results/$(basename "$file").$mode
  if [ "$tool" = "$work/plain-tshark" ]; then out=$out.plain filter=tls z=""; fi
  case $mode in
    verbose) timeout "$limit" "$tool" -r "$file" -V >/dev/null 2>"$out.err" || status=$? ;;
    # shellcheck disable=SC2086
    filtered) timeout "$limit" "$tool" -r "$file" -Y "$filter" $z >/dev/null 2>"$out.err" || status=$? ;;
    two-pass) timeout "$limit" "$tool" -r "$file" -2 -V >/dev/null 2>"$out.err" || status=$? ;;
  esac
  if [ "$status" = 0 ] && grep -Eq 'CRITICAL|DISSECTOR BUG|Dissector bug|AddressSanitizer|runtime error:' "$out.err"; then
    status=250
  fi
  if [ "$status" = 0 ]; then touch "$out.pass"; else echo "$status" > "$out.fail"; fi
}
export -f run_case
export work limit tshark_mtls zargs
export WIRESHARK_ABORT_ON_DISSECTOR_BUG=1

tr '\t' '\n' < "$work/cases" | xargs -d '\n' -n 2 -P "$jobs" bash -c 'run_case "$1" "$2"' _

passed=$(find "$work/results" -name '*.pass' | wc -l)
failed=0
wireshark_only=0
for fail in "$work"/results/*.fail; do
  [ -e "$fail" ] || continue
  case=${fail%.fail}
  base=$(basename "$case")              # <variant>.pcapng.<mode>
  mode=${base##*.}
  variant=${base%.*}
  status=$(cat "$fail")
  why="exit $status"
  [ "$status" -gt 128 ] && [ "$status" -lt 250 ] && why="$why (signal $((status - 128)))"
  [ "$status" = 124 ] && why="timeout after ${limit}s"
  [ "$status" = 250 ] && why="GLib CRITICAL, dissector bug or sanitizer report on stderr"
  # The same input through tshark without the plugin.
  plain=failed
  run_case "$mode" "$work/variants/$variant" "$work/plain-tshark"
  if [ -e "$case.plain.pass" ]; then
    plain=passes
  fi
  if [ "$plain" = failed ]; then
    wireshark_only=$((wireshark_only + 1))
    echo "WARN $variant ($mode): $why, and plain tshark without the plugin fails too (a Wireshark bug)"
  else
    failed=$((failed + 1))
    echo "FAIL $variant ($mode): $why; plain tshark without the plugin passes"
  fi
  sed 's/^/     /' "$case.err" | tail -n 15
  if [ -n "$keep" ]; then
    mkdir -p "$keep"
    cp "$work/variants/$variant" "$keep/$variant"
    {
      echo "mode: $mode"
      echo "failure: $why"
      echo "plain tshark without the plugin: $plain"
      echo "found by: tests/robustness/fuzz_campaign.sh, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
      echo "stderr (tail):"
      tail -n 30 "$case.err"
    } > "$keep/${variant%.pcapng}.txt"
    echo "     kept as $keep/$variant"
  fi
done
if [ $((passed + failed + wireshark_only)) -ne "$total" ]; then
  echo "FAIL only $((passed + failed + wireshark_only)) of $total cases reported a result"
  failed=$((failed + total - passed - failed - wireshark_only))
fi
echo "${#captures[@]} captures, $total cases in $((SECONDS - start))s"
echo "$passed passed, $failed failed, $wireshark_only failing without the plugin too"
[ "$failed" = 0 ]
