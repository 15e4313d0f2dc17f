#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/profile.sh: what the mtls plugin costs, in instructions (repeatable).
#
#   bench/profile.sh [--connections N] [--functions] [CAPTURE]
#
# Wall time (bench/run.sh) is noisy on a shared machine; instruction counts are
# not. This runs tshark under valgrind --tool=callgrind on CAPTURE (default: N
# connections cloned from the sample captures by bench/make_capture.py, N = 300
# by default, with keys) and counts the instructions executed (Ir) in each of
#   start-up   plain tshark on the capture's first packet only: tshark's own
#              start-up, taken off every other row
#   plain      tshark -r, empty plugin folder (no plugin)
#   tree       plain with -Y tcp (a display filter builds the protocol tree for
#              every packet, as the GUI always does)
#   fields     the plugin loaded but its analysis off: --disable-protocol mtls.
#              tshark 4.0 then no longer calls the post-dissector (dissect_mtls),
#              but still primes the fields it wants (set_postdissector_wanted_hfids)
#              and so builds a tree for every packet: what asking for the fields
#              costs, without the analysis. The plugin has no switch of its own
#              (its preferences change what it infers or shows, not whether it
#              runs). Checked in the profile: if dissect_mtls ran, this fails; if
#              the fields were not primed, the row is dropped with a note.
#   plugin     tshark -r with the plugin from the build tree
#   plain-2, plugin-2   the same with -2 (two passes)
# and prints, per row: Ir, Ir after start-up, the ratio to plain after start-up
# (-2 rows to plain-2), Ir per connection after start-up, and per connection over
# plain. Also the inclusive cost of the plugin's dissect_mtls in the plugin rows.
# --functions also prints the 15 functions whose self cost differs most between
# plain and plugin (callgrind_annotate).
# tshark writes its one-line-per-packet output to /dev/null. As root every run
# drops to nobody (tshark ignores WIRESHARK_PLUGIN_DIR as root), with a throwaway
# HOME and an empty extcap folder. Fails (FAIL ...) if tshark -G plugins does not
# list mtls with the plugin folder, so it never profiles without the plugin.
# callgrind is about 50 times slower than tshark: 300 connections take minutes.
# Each run's callgrind.out.<row> stays in the work directory, printed at the end.
#
# Env: MTLS_BUILD_DIR      build directory (default <repo>/build)
#      MTLS_BENCH_DIR      work directory (default /tmp/mtls-bench)
#      MTLS_BENCH_TIMEOUT  seconds per callgrind run (default 3600)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${MTLS_BUILD_DIR:-$repo/build}" && pwd)
work=${MTLS_BENCH_DIR:-/tmp/mtls-bench}
limit=${MTLS_BENCH_TIMEOUT:-3600}
connections=300
functions=0
capture=
while [ $# -gt 0 ]; do
  case $1 in
    --connections) connections=$2; shift ;;
    --functions) functions=1 ;;
    -h | --help) awk 'NR > 2 && /^#/ {sub(/^# ?/, ""); print; next} NR > 2 {exit}' "$0"; exit 0 ;;
    -*) echo "usage: $0 [--connections N] [--functions] [CAPTURE]" >&2; exit 2 ;;
    *) capture=$1 ;;
  esac
  shift
done
for tool in valgrind callgrind_annotate tshark editcap; do
  command -v "$tool" >/dev/null || { echo "FAIL $tool missing (apt-get install valgrind tshark)" >&2; exit 1; }
done
ls "$build"/plugins/*/epan/mtls.so >/dev/null 2>&1 || { echo "FAIL no mtls.so in $build/plugins" >&2; exit 1; }
started=$SECONDS

mkdir -p "$work"
chmod 755 "$work"
run=$(mktemp -d "$work/profile.XXXXXX")
chmod 777 "$run"
mkdir -m 777 "$run/home"
mkdir -m 755 "$run/empty"
cp -r "$build/plugins" "$run/plugins"   # readable by nobody, and frozen for the whole run
chmod -R a+rX "$run/plugins"
# shellcheck source=bench/common.sh
. "$repo/bench/common.sh"
bench_capture
editcap -r "$capture" "$run/one.pcapng" 1
chmod 644 "$run/one.pcapng"

as_user=()
if [ "$(id -u)" = 0 ]; then
  as_user=(setpriv --reuid=nobody --regid="$(id -gn nobody)" --clear-groups)
fi
# as_tshark_user PLUGDIR CMD...: run CMD as the user tshark runs as, with PLUGDIR as plugin folder.
as_tshark_user() {
  local plugdir=$1
  shift
  "${as_user[@]}" env HOME="$run/home" WIRESHARK_PLUGIN_DIR="$plugdir" \
    WIRESHARK_EXTCAP_DIR="$run/empty" "$@"
}

# Sanity: the plugin folder gives tshark the plugin, the empty one does not.
with_plugin=$(as_tshark_user "$run/plugins" tshark -G plugins 2>/dev/null || true)
without_plugin=$(as_tshark_user "$run/empty" tshark -G plugins 2>/dev/null || true)
if ! grep -q '^mtls\.so' <<< "$with_plugin"; then
  echo "FAIL tshark -G plugins does not list mtls with WIRESHARK_PLUGIN_DIR=$run/plugins" >&2
  exit 1
fi
if grep -q '^mtls\.so' <<< "$without_plugin"; then
  echo "FAIL tshark -G plugins lists mtls with an empty plugin folder (is it installed system-wide?)" >&2
  exit 1
fi

# profile ROW PLUGDIR CAPTURE TSHARK-ARGS...: callgrind.out.ROW in $run.
profile() {
  local row=$1 plugdir=$2 file=$3 t0=$SECONDS
  shift 3
  if ! as_tshark_user "$plugdir" timeout "$limit" valgrind --tool=callgrind \
      --callgrind-out-file="$run/callgrind.out.$row" tshark -r "$file" "$@" \
      >/dev/null 2>"$run/valgrind.$row.log"; then
    echo "FAIL callgrind run $row:" >&2
    tail -n 5 "$run/valgrind.$row.log" >&2
    exit 1
  fi
  echo "== $row: $(total "$row") Ir ($((SECONDS - t0)) s)" >&2
}
total() { awk '/^(summary|totals):/ {print $2; exit}' "$run/callgrind.out.$1"; }

echo "== profiling $connections connections in $run" >&2
profile start-up "$run/empty" "$run/one.pcapng"
profile start-up-plugin "$run/plugins" "$run/one.pcapng"
profile plain "$run/empty" "$capture"
profile tree "$run/empty" "$capture" -Y tcp
profile fields "$run/plugins" "$capture" --disable-protocol mtls
profile plugin "$run/plugins" "$capture"
profile plain-2 "$run/empty" "$capture" -2
profile plugin-2 "$run/plugins" "$capture" -2

# annotate ARGS...: callgrind_annotate, from a fixed folder (its output depends on
# the current one), without its Perl warnings.
annotate() { (cd "$run" && callgrind_annotate --threshold=100 "$@" 2>/dev/null); }
# inclusive ROW FUNCTION: inclusive Ir of a function in a row (0 if it never ran):
# its largest entry (callgrind_annotate may list it more than once, by file).
inclusive() {
  annotate --inclusive=yes "$run/callgrind.out.$1" |
    awk -v f="$2" '!found && $0 ~ "[: ]" f "( \\[|$)" {gsub(",", "", $1); print $1; found = 1} END {if (!found) print 0}'
}
rows=(start-up start-up-plugin plain tree fields plugin plain-2 plugin-2)
if [ "$(inclusive fields dissect_mtls)" != 0 ]; then
  echo "FAIL dissect_mtls ran with --disable-protocol mtls: the fields row would include the analysis" >&2
  exit 1
fi
[ "$(inclusive plugin dissect_mtls)" != 0 ] || { echo "FAIL dissect_mtls never ran in the plugin row" >&2; exit 1; }
fields_note="fields row: --disable-protocol mtls; dissect_mtls never ran, the wanted fields were primed"
if [ "$(inclusive fields epan_dissect_prime_with_hfid_array)" = 0 ]; then
  rows=(start-up start-up-plugin plain tree plugin plain-2 plugin-2)
  fields_note="fields row dropped: with --disable-protocol mtls this tshark does not prime the plugin's wanted"
  fields_note+=" fields either, and the plugin has no switch that keeps them primed but skips its analysis"
fi

startup=$(total start-up)
packets=$(tshark -r "$capture" 2>/dev/null | wc -l)
not_tcp=$((packets - $(tshark -r "$capture" -Y tcp 2>/dev/null | wc -l)))
echo
echo "tshark $(tshark -v 2>/dev/null | head -n1 | awk '{print $3}'), plugin from $build," \
  "$connections connections, $packets packets; callgrind Ir"
printf '%-16s %15s %15s %9s %12s %12s\n' row Ir "Ir - start-up" "vs plain" "Ir/conn" "+plain/conn"
for row in "${rows[@]}"; do
  base=plain
  [[ $row == *-2 ]] && base=plain-2
  awk -v row="$row" -v ir="$(total "$row")" -v s="$startup" -v p="$(total "$base")" -v n="$connections" '
    function m(x) {return sprintf("%.1fM", x / 1e6)}
    BEGIN {
      if (row ~ /^start-up/) {
        printf "%-16s %15s %15s %9s %12s %12s\n", row, m(ir), (row == "start-up" ? "" : "+" m(ir - s)), "", "", ""
        exit
      }
      printf "%-16s %15s %15s %9.3f %12.0f %12.0f\n", row, m(ir), m(ir - s), (ir - s) / (p - s),
        (ir - s) / n, (ir - p) / n
    }'
done
for row in plugin plugin-2; do
  awk -v row="$row" -v d="$(inclusive "$row" dissect_mtls)" -v n="$connections" \
    'BEGIN {printf "dissect_mtls inclusive, %-8s %.1fM Ir, %.0f per connection\n", row, d / 1e6, d / n}'
done
echo "$fields_note"
[ "$not_tcp" = 0 ] || echo "note: $not_tcp packets are not TCP: the tree row does not print them"

if [ "$functions" = 1 ]; then
  echo
  echo "15 functions whose self cost differs most, plain -> plugin (Ir):"
  annotate --inclusive=no "$run/callgrind.out.plain" >"$run/annotate.plain"
  annotate --inclusive=no "$run/callgrind.out.plugin" >"$run/annotate.plugin"
  python3 - "$run/annotate.plain" "$run/annotate.plugin" <<'EOF'
import re, sys
row = re.compile(r"^\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?(\S.*)$")
def load(path):
    cost = {}
    with open(path) as lines:
        for line in lines:
            match = row.match(line)
            if match and "PROGRAM TOTALS" not in match.group(2):
                # "file:function [object]": one entry per function, whatever file
                # (or inlined file) callgrind charged the lines to.
                name = re.sub(r"^\S*?:(?=\S)", "", match.group(2), count=1)
                name = re.sub(r" \[.*\]$", "", name)
                cost[name] = cost.get(name, 0) + int(match.group(1).replace(",", ""))
    return cost
plain, plugin = load(sys.argv[1]), load(sys.argv[2])
names = sorted(set(plain) | set(plugin), key=lambda n: -abs(plugin.get(n, 0) - plain.get(n, 0)))
print(f"  {'plain':>12} {'plugin':>12} {'diff':>12}  function")
for name in names[:15]:
    a, b = plain.get(name, 0), plugin.get(name, 0)
    print(f"  {a:12,d} {b:12,d} {b - a:+12,d}  {name}")
EOF
fi
echo
echo "callgrind outputs: $run/callgrind.out.* (callgrind_annotate FILE; took $((SECONDS - started)) s)"
