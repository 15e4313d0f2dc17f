#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/profile.sh: what the mtls plugin costs, in instructions (repeatable).
#
#   bench/profile.sh [--connections N] [--rows LIST] [--functions] [--jobs N] [--repeat N] [CAPTURE]
#
# Wall time (bench/run.sh) is noisy on a shared machine; instruction counts are
# not. This runs tshark under valgrind --tool=callgrind and counts the instructions
# executed (Ir), less tshark's own start-up (plain tshark on the capture's first
# packet only), on three captures:
#   keys     CAPTURE (default: N connections cloned from the sample captures by
#            bench/make_capture.py, N = 300 by default, not the *-byte-segments
#            ones: see bench_sources in bench/common.sh), TLS secrets embedded
#   nokeys   the same without its secrets (tests/lib/strip_secrets.py)
#   notls    N connections from make_capture.py --no-tls: the same packets with
#            the TCP payload replaced by pseudo-random bytes on port 5999
# Rows (--rows, comma-separated; default all), each against its plain run, plain
# tshark -r with an empty plugin folder on the same capture and passes:
#   keys          plugin, single pass, keys capture            target <= +5 %
#   nokeys        plugin, single pass, nokeys capture          target <= +5 %
#   keys-2        plugin -2 against plain -2, keys capture     target <= +5 %
#   notls         plugin, single pass, notls capture           target <= +2 %
#   floor         plugin loaded, its post-dissector disabled (--disable-protocol
#                 mtls: dissect_mtls returns at once, checked), keys capture:
#                 what loading and registering alone costs (the tcp_follow helper
#                 listener stays registered), context
#   floor-notls   the same on the notls capture, context
#   tree          plain with -Y tcp (a display filter builds the protocol tree for
#                 every packet, as the GUI always does), keys capture, context
# The plugin's targets (issue 5) are the first four; the table says met or missed.
# Then the inclusive Ir of dissect_mtls and the self Ir of all of mtls.so in the
# plugin rows (tap callbacks the plugin registers run outside dissect_mtls).
# --functions also prints the 15 functions whose self cost differs most between
# plain and plugin in the first row given to --rows (callgrind_annotate).
# --jobs N runs N callgrind runs at once (default 1; the counts do not change).
# --repeat N runs each N times and takes the median count (default 1): wmem maps
# hash with a random seed per process, so one run's count moves by a few tenths
# of a percent from one run to the next.
# tshark writes its one-line-per-packet output to /dev/null. As root every run
# drops to nobody (tshark ignores WIRESHARK_PLUGIN_DIR as root), with a throwaway
# HOME and an empty extcap folder. Fails (FAIL ...) if tshark -G plugins does not
# list mtls with the plugin folder, so it never profiles without the plugin.
# callgrind is about 50 times slower than tshark: see the times it prints per run.
# Each run's callgrind.out.<run> stays in the work directory, printed at the end.
# Installs valgrind with apt-get if missing (as root).
#
# Env: MTLS_BUILD_DIR      build directory (default <repo>/build)
#      MTLS_BENCH_DIR      work directory (default /tmp/mtls-bench)
#      MTLS_BENCH_TIMEOUT  seconds per callgrind run (default 3600)
#      MTLS_BENCH_SOURCES  glob of the captures to clone (default: see bench/common.sh)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${MTLS_BUILD_DIR:-$repo/build}" && pwd)
work=${MTLS_BENCH_DIR:-/tmp/mtls-bench}
limit=${MTLS_BENCH_TIMEOUT:-3600}
all_rows=keys,nokeys,keys-2,notls,floor,floor-notls,tree
connections=300
functions=0
jobs=1
repeat=1
rows_arg=$all_rows
capture=
usage="usage: $0 [--connections N] [--rows $all_rows] [--functions] [--jobs N] [--repeat N] [CAPTURE]"
while [ $# -gt 0 ]; do
  case $1 in
    --connections) connections=$2; shift ;;
    --rows) rows_arg=$2; shift ;;
    --functions) functions=1 ;;
    --jobs) jobs=$2; shift ;;
    --repeat) repeat=$2; shift ;;
    -h | --help) awk 'NR > 2 && /^#/ {sub(/^# ?/, ""); print; next} NR > 2 {exit}' "$0"; exit 0 ;;
    -*) echo "$usage" >&2; exit 2 ;;
    *) capture=$1 ;;
  esac
  shift
done
IFS=, read -r -a rows <<< "$rows_arg"
for row in "${rows[@]}"; do
  [[ ",$all_rows," == *",$row,"* ]] || { echo "unknown row $row; $usage" >&2; exit 2; }
done
# shellcheck source=bench/common.sh
. "$repo/bench/common.sh"
bench_need valgrind valgrind
bench_need callgrind_annotate valgrind
for tool in tshark editcap setpriv; do
  command -v "$tool" >/dev/null || { echo "FAIL $tool missing (apt-get install tshark util-linux)" >&2; exit 1; }
done
ls "$build"/plugins/*/epan/mtls.so >/dev/null 2>&1 || { echo "FAIL no mtls.so in $build/plugins" >&2; exit 1; }
started=$SECONDS

# row -> "run-of-the-row base-run target-percent" (target - for context rows).
declare -A row_run=(
  [keys]="plugin plain 5" [nokeys]="plugin-nokeys plain-nokeys 5" [keys-2]="plugin-2 plain-2 5"
  [notls]="plugin-notls plain-notls 2" [floor]="floor plain -" [floor-notls]="floor-notls plain-notls -"
  [tree]="tree plain -"
)

mkdir -p "$work"
chmod 755 "$work"
run=$(mktemp -d "$work/profile.XXXXXX")
chmod 777 "$run"
mkdir -m 777 "$run/home"
mkdir -m 755 "$run/empty"
cp -r "$build/plugins" "$run/plugins"   # readable by nobody, and frozen for the whole run
chmod -R a+rX "$run/plugins"
bench_capture
need_capture() { for r in "${rows[@]}"; do [[ " ${row_run[$r]} " == *"$1 "* ]] && return 0; done; return 1; }
if need_capture -nokeys; then bench_no_keys "$capture" "$run/nokeys.pcapng"; fi
if need_capture -notls; then bench_no_tls "$connections" "$run/notls.pcapng"; fi
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

# total RUN: its Ir, the median of its --repeat runs (wmem maps hash with a
# per-process random seed: a run's count moves by a few tenths of a percent).
total() {
  for file in "$run/callgrind.out.$1" "$run/callgrind.out.$1".r*; do
    if [ -e "$file" ]; then awk '/^(summary|totals):/ {print $2; exit}' "$file"; fi
  done | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2)}'
}
# profile RUN PLUGDIR CAPTURE TSHARK-ARGS...: callgrind.out.RUN in $run; on failure
# $run/FAILED.RUN and status 1.
profile() {
  local name=$1 plugdir=$2 file=$3 t0=$SECONDS
  shift 3
  if ! as_tshark_user "$plugdir" timeout "$limit" valgrind --tool=callgrind \
      --callgrind-out-file="$run/callgrind.out.$name" tshark -r "$file" "$@" \
      >/dev/null 2>"$run/valgrind.$name.log"; then
    echo "FAIL callgrind run $name:" >&2
    tail -n 5 "$run/valgrind.$name.log" >&2
    touch "$run/FAILED.$name"
    return 1
  fi
  echo "== $name: $(total "$name") Ir ($((SECONDS - t0)) s)" >&2
}
# launch RUN ...: profile, at most $jobs at once.
launch() {
  if [ "$jobs" -le 1 ]; then
    profile "$@"
    return
  fi
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  profile "$@" &
}
# run_spec RUN: plugin folder, capture and arguments of a run.
run_spec() {
  local keys=$capture nokeys=$run/nokeys.pcapng notls=$run/notls.pcapng plain=$run/empty plug=$run/plugins
  case $1 in
    start-up) echo "$plain $run/one.pcapng" ;;
    plain) echo "$plain $keys" ;;
    plugin) echo "$plug $keys" ;;
    plain-nokeys) echo "$plain $nokeys" ;;
    plugin-nokeys) echo "$plug $nokeys" ;;
    plain-2) echo "$plain $keys -2" ;;
    plugin-2) echo "$plug $keys -2" ;;
    plain-notls) echo "$plain $notls" ;;
    plugin-notls) echo "$plug $notls" ;;
    floor) echo "$plug $keys --disable-protocol mtls" ;;
    floor-notls) echo "$plug $notls --disable-protocol mtls" ;;
    tree) echo "$plain $keys -Y tcp" ;;
  esac
}

runs=(start-up)
for row in "${rows[@]}"; do
  read -r r base _ <<< "${row_run[$row]}"
  for name in "$base" "$r"; do
    [[ " ${runs[*]} " == *" $name "* ]] || runs+=("$name")
  done
done
# --functions compares the first row's two runs (by default the keys row's).
read -r function_run function_base _ <<< "${row_run[${rows[0]}]}"
if [ "$functions" = 1 ]; then
  for name in "$function_base" "$function_run"; do
    [[ " ${runs[*]} " == *" $name "* ]] || runs+=("$name")
  done
fi

echo "== profiling $connections connections in $run: ${runs[*]}" >&2
for name in "${runs[@]}"; do
  # shellcheck disable=SC2046
  launch "$name" $(run_spec "$name")
  for ((i = 2; i <= repeat; i++)); do
    # shellcheck disable=SC2046
    launch "$name.r$i" $(run_spec "$name")
  done
done
wait
if compgen -G "$run/FAILED.*" >/dev/null; then exit 1; fi

# annotate ARGS...: callgrind_annotate, from a fixed folder (its output depends on
# the current one), without its Perl warnings.
annotate() { (cd "$run" && callgrind_annotate --threshold=100 "$@" 2>/dev/null); }
# inclusive RUN FUNCTION: inclusive Ir of a function in a run (0 if it never ran):
# its largest entry (callgrind_annotate may list it more than once, by file).
inclusive() {
  annotate --inclusive=yes "$run/callgrind.out.$1" |
    awk -v f="$2" '!found && $0 ~ "[: ]" f "( \\[|$)" {gsub(",", "", $1); print $1; found = 1} END {if (!found) print 0}'
}
# own RUN: self Ir of every function in mtls.so.
own() {
  annotate --inclusive=no "$run/callgrind.out.$1" |
    awk '/\[[^]]*mtls\.so\]$/ {gsub(",", "", $1); s += $1} END {print s + 0}'
}
for row in floor floor-notls; do
  [[ " ${runs[*]} " == *" $row "* ]] || continue
  # dissect_mtls is still called (its handle has no protocol: it checks that
  # mtls is enabled itself) but must return at once.
  if [ "$(inclusive "$row" mtls_tls_stream_segment)" != 0 ]; then
    echo "FAIL the TLS scanner ran with --disable-protocol mtls: the $row row would include the analysis" >&2
    exit 1
  fi
done
if [[ " ${runs[*]} " == *" plugin "* ]] && [ "$(inclusive plugin dissect_mtls)" = 0 ]; then
  echo "FAIL dissect_mtls never ran in the keys row" >&2
  exit 1
fi

startup=$(total start-up)
count() { tshark -r "$1" 2>/dev/null | wc -l; }
describe="keys capture $connections connections, $(count "$capture") packets"
[ -e "$run/notls.pcapng" ] && describe+="; notls capture $(count "$run/notls.pcapng") packets"
echo
source_dir=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
commit=$(git -C "${source_dir:-$repo}" rev-parse --short HEAD 2>/dev/null || echo "?")
[ -z "$(git -C "${source_dir:-$repo}" status --porcelain -- plugin 2>/dev/null)" ] || commit+=" + uncommitted changes"
echo "tshark $(tshark -v 2>/dev/null | head -n1 | awk '{print $3}'), plugin from $build (source ${source_dir:-?} at $commit)"
echo "$describe; callgrind Ir after tshark's start-up ($(awk -v s="$startup" 'BEGIN {printf "%.1fM", s / 1e6}')" \
  "Ir; loading the plugin is counted in its rows)"
printf '%-12s %-44s %11s %11s %9s %9s %8s  %s\n' row run plain "with mtls" "vs plain" "+Ir/conn" target result
met=0 missed=0
for row in "${rows[@]}"; do
  read -r r base target <<< "${row_run[$row]}"
  read -r _ file args <<< "$(run_spec "$r")"
  what=${file##*/}
  what=${what%.pcapng}
  [ "$what" = capture ] && what=keys
  what+=" ${args}"
  [ "$r" = tree ] && what="no plugin, $what"
  [[ $r == floor* ]] && what="plugin loaded, $what"
  line=$(awk -v row="$row" -v what="$what" -v ir="$(total "$r")" -v s="$startup" -v p="$(total "$base")" \
      -v n="$connections" -v t="$target" '
    function m(x) {return sprintf("%.1fM", x / 1e6)}
    BEGIN {
      pct = ((ir - s) / (p - s) - 1) * 100
      result = t == "-" ? "context" : (sprintf("%.1f", pct) + 0 <= t ? "met" : "missed")
      printf "%-12s %-44s %11s %11s %+8.1f%% %9.0f %8s  %s\n", row, what, m(p - s), m(ir - s), pct,
        (ir - p) / n, (t == "-" ? "-" : "<= +" t "%"), result
    }')
  echo "$line"
  case $line in
    *" met") met=$((met + 1)) ;;
    *" missed") missed=$((missed + 1)) ;;
  esac
done
echo "targets: $met met, $missed missed"
for row in keys nokeys keys-2 notls; do
  [[ " ${rows[*]} " == *" $row "* ]] || continue
  read -r r _ <<< "${row_run[$row]}"
  awk -v row="$row" -v d="$(inclusive "$r" dissect_mtls)" -v o="$(own "$r")" -v n="$connections" \
    'BEGIN {printf "%-8s dissect_mtls inclusive %8.1fM Ir (%5.0f per connection); mtls.so self %8.1fM Ir\n",
            row, d / 1e6, d / n, o / 1e6}'
done

if [ "$functions" = 1 ]; then
  echo
  echo "15 functions whose self cost differs most, $function_base -> $function_run (row ${rows[0]}, Ir):"
  annotate --inclusive=no "$run/callgrind.out.$function_base" >"$run/annotate.base"
  annotate --inclusive=no "$run/callgrind.out.$function_run" >"$run/annotate.run"
  python3 - "$run/annotate.base" "$run/annotate.run" <<'EOF'
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
