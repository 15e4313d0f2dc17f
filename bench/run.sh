#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/run.sh: what the mtls plugin costs in wall time and memory, against plain tshark.
#
#   bench/run.sh [--sizes 10000,100000] [--pairs 5] [--rows LIST] [--big-rows LIST] [--lua]
#
# For each size (number of TCP connections) it builds three captures, kept in the
# work directory and reused while the sources and make_capture.py stay the same:
#   keys     the sample captures cloned into N connections (bench/make_capture.py;
#            not the *-byte-segments ones: see bench_sources in bench/common.sh),
#            TLS secrets embedded
#   nokeys   the same without its secrets (tests/lib/strip_secrets.py)
#   notls    the same connections with the TCP payload replaced by pseudo-random
#            bytes on port 5999 (make_capture.py --no-tls): no TLS
# Rows (--rows, comma-separated; default keys,nokeys,keys-2,notls):
#   keys, nokeys, notls      tshark -r on that capture, single pass
#   keys-2                   tshark -r -2 on the keys capture
#   nokeys-2, notls-2        the same with -2 (not by default)
#   tree                     -Y tcp on the keys capture (a display filter builds the
#                            protocol tree for every packet, as the GUI does; context)
# For each row it runs alternately, --pairs times (default 5; plain first in odd
# pairs, the plugin first in even ones), each under /usr/bin/time -v:
#   plain   tshark with an empty plugin folder (no plugin)
#   mtls    tshark with the plugin from the build tree
#   lua     tshark with the Lua post-dissector bench/reference.lua (keys rows, only
#           with --lua: it costs about as much time as the other two together)
# and prints the median of the per-pair wall-time ratios mtls/plain, the same for
# CPU time (user + system: context, less moved by other jobs), and the memory
# the plugin costs, (median peak RSS mtls - median peak RSS plain) / connections,
# each with its target (issue 5) and met or missed:
#   wall time   keys (single pass) <= 1.05; the other rows have no wall-time target
#               (bench/profile.sh counts their instructions, which is repeatable)
#   memory      <= 256 B per connection over plain tshark, every row but tree
# Sizes after the first run only the rows in --big-rows (default keys,notls). With
# more than one size it also shows how wall time and memory grow from the smallest
# to the largest size (the growth of the RSS difference per added connection leaves
# out the constant cost of loading the plugin).
# tshark writes its one-line-per-packet output to /dev/null. As root every run drops
# to nobody (tshark ignores WIRESHARK_PLUGIN_DIR as root), with a throwaway HOME;
# fails (FAIL ...) if tshark -G plugins does not list mtls with the plugin folder.
#
# Env: MTLS_BUILD_DIR   build directory (default <repo>/build)
#      MTLS_BENCH_DIR   work directory (default /tmp/mtls-bench; captures are reused)
#      MTLS_BENCH_TIMEOUT seconds per tshark run (default 1800)
#      MTLS_BENCH_SOURCES glob of the captures to clone (default: see bench/common.sh)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${MTLS_BUILD_DIR:-$repo/build}" && pwd)
work=${MTLS_BENCH_DIR:-/tmp/mtls-bench}
limit=${MTLS_BENCH_TIMEOUT:-1800}
all_rows=keys,nokeys,keys-2,notls,nokeys-2,notls-2,tree
sizes=10000,100000
pairs=5
rows_arg=keys,nokeys,keys-2,notls
big_rows=keys,notls
lua=0
usage="usage: $0 [--sizes N,N] [--pairs N] [--rows $all_rows] [--big-rows ROW,...] [--lua]"
# Row names of earlier versions of this script (keys-single, keys-two, ...).
normalize() { sed -e 's/-single\b//g' -e 's/-two\b/-2/g' <<< "$1"; }
while [ $# -gt 0 ]; do
  case $1 in
    --sizes) sizes=$2; shift ;;
    --pairs) pairs=$2; shift ;;
    --rows) rows_arg=$(normalize "$2"); shift ;;
    --big-rows | --big-configs) big_rows=$(normalize "$2"); shift ;;
    --lua) lua=1 ;;
    -h | --help) awk 'NR > 2 && /^#/ {sub(/^# ?/, ""); print; next} NR > 2 {exit}' "$0"; exit 0 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
  shift
done
IFS=, read -r -a rows <<< "$rows_arg"
for row in "${rows[@]}"; do
  [[ ",$all_rows," == *",$row,"* ]] || { echo "unknown row $row; $usage" >&2; exit 2; }
done
# shellcheck source=bench/common.sh
. "$repo/bench/common.sh"
bench_need /usr/bin/time time
command -v setpriv >/dev/null || { echo "FAIL setpriv missing: apt-get install util-linux" >&2; exit 1; }
command -v tshark >/dev/null || { echo "FAIL tshark missing: apt-get install tshark" >&2; exit 1; }
ls "$build"/plugins/*/epan/mtls.so >/dev/null 2>&1 || { echo "FAIL no mtls.so in $build/plugins" >&2; exit 1; }
started=$SECONDS

mkdir -p "$work/empty-plugins" "$work/home" "$work/runs"
chmod 755 "$work" "$work/empty-plugins"
chmod 777 "$work/home" "$work/runs"
plugins=$work/plugins
rm -rf "$plugins"
cp -r "$build/plugins" "$plugins"   # readable by nobody, and frozen for the whole run
chmod -R a+rX "$plugins"
cp "$repo/bench/reference.lua" "$work/reference.lua"
chmod 644 "$work/reference.lua"

as_user=()
if [ "$(id -u)" = 0 ]; then
  as_user=(setpriv --reuid=nobody --regid="$(id -gn nobody)" --clear-groups)
fi
as_tshark_user() {
  local plugdir=$1
  shift
  "${as_user[@]}" env HOME="$work/home" WIRESHARK_PLUGIN_DIR="$plugdir" \
    WIRESHARK_EXTCAP_DIR="$work/empty-plugins" "$@"
}
if ! as_tshark_user "$plugins" tshark -G plugins 2>/dev/null | grep -q '^mtls\.so'; then
  echo "FAIL tshark -G plugins does not list mtls with WIRESHARK_PLUGIN_DIR=$plugins" >&2
  exit 1
fi
if as_tshark_user "$work/empty-plugins" tshark -G plugins 2>/dev/null | grep -q '^mtls\.so'; then
  echo "FAIL tshark -G plugins lists mtls with an empty plugin folder (is it installed system-wide?)" >&2
  exit 1
fi

# run KIND CAPTURE ROW -> "wall_seconds max_rss_kb"
run() {
  local kind=$1 capture=$2 row=$3 plugdir=$work/empty-plugins extra=() out
  case $kind in
    mtls) plugdir=$plugins ;;
    lua) extra=(-X "lua_script:$work/reference.lua") ;;
  esac
  [[ $row == *-2 ]] && extra+=(-2)
  [ "$row" = tree ] && extra+=(-Y tcp)
  out=$work/runs/time.$$
  if ! timeout "$limit" "${as_user[@]}" env HOME="$work/home" WIRESHARK_PLUGIN_DIR="$plugdir" \
      WIRESHARK_EXTCAP_DIR="$work/empty-plugins" \
      /usr/bin/time -v -o "$out" tshark -r "$capture" "${extra[@]}" >/dev/null 2>"$work/runs/err.$$"; then
    echo "FAIL tshark ($kind, $row) on $capture:" >&2
    tail -n 5 "$work/runs/err.$$" >&2
    exit 1
  fi
  awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; w = s}
              /User time \(seconds\)|System time \(seconds\)/ {c += $2}
              /Maximum resident set size/ {r = $2} END {printf "%.3f %d %.3f\n", w, r, c}' "$out"
}

median() { sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
capture_of() {  # ROW N -> capture file
  local variant=${1%-2}
  [ "$variant" = tree ] && variant=keys
  echo "$work/$variant-$2.pcapng"
}

# Captures.
IFS=, read -r -a size_list <<< "$sizes"
first=${size_list[0]}
wanted() {  # ROW N: whether ROW runs at size N
  [[ " ${rows[*]} " == *" $1 "* ]] && { [ "$2" = "$first" ] || [[ ",$big_rows," == *",$1,"* ]]; }
}
signature=$(bench_signature)
for n in "${size_list[@]}"; do
  if [ "$(cat "$work/captures-$n.sig" 2>/dev/null)" != "$signature" ]; then
    rm -f "$work/keys-$n.pcapng" "$work/nokeys-$n.pcapng" "$work/notls-$n.pcapng"
    echo "$signature" > "$work/captures-$n.sig"
  fi
  declare -A need=()
  for row in "${rows[@]}"; do
    if wanted "$row" "$n"; then need[$(capture_of "$row" "$n")]=1; fi
  done
  [ -z "${need[$work/nokeys-$n.pcapng]:-}" ] || need[$work/keys-$n.pcapng]=1  # nokeys is made from keys
  for variant in keys nokeys notls; do
    file=$work/$variant-$n.pcapng
    [ -n "${need[$file]:-}" ] || continue
    [ -s "$file" ] && continue
    echo "== building $file" >&2
    case $variant in
      keys) bench_make_capture --connections "$n" "$file"
            chmod 644 "$file" ;;
      nokeys) bench_no_keys "$work/keys-$n.pcapng" "$file" ;;
      notls) bench_no_tls "$n" "$file" ;;
    esac
  done
  unset need
done

source_dir=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
commit=$(git -C "${source_dir:-$repo}" rev-parse --short HEAD 2>/dev/null || echo "?")
[ -z "$(git -C "${source_dir:-$repo}" status --porcelain -- plugin 2>/dev/null)" ] || commit+=" + uncommitted changes"
echo
echo "tshark $(tshark -v 2>/dev/null | head -n1 | awk '{print $3}'), plugin from $build (source ${source_dir:-?} at $commit)," \
  "$pairs pairs per row, $(nproc) CPUs"
echo "wall: median of the per-pair ratios mtls/plain (cpu: the same for user + system time);" \
  "memory: (median peak RSS mtls - plain) / connections"
header=$(printf '%-7s %-8s %8s %8s %7s %7s %-7s %6s | %8s %8s %7s %6s %-7s' size row "plain s" "mtls s" ratio \
  target result cpu "plain MB" "mtls MB" "B/conn" target result)
[ "$lua" = 1 ] && header+=$(printf ' | %7s %7s %7s' "lua s" "lua/pl" "lua MB")
echo "$header"
declare -A wall_mtls wall_plain rss_mtls rss_plain
met=0 missed=0
for n in "${size_list[@]}"; do
  for row in "${rows[@]}"; do
    wanted "$row" "$n" || continue
    capture=$(capture_of "$row" "$n")
    kinds=(plain mtls)
    [ "$lua" = 1 ] && [[ $row == keys* || $row == tree ]] && kinds+=(lua)
    tsv=$work/runs/$row-$n.tsv
    : > "$tsv"
    for i in $(seq 1 "$pairs"); do
      # Plain first in odd pairs, the plugin first in even ones: whatever favours
      # the first (or second) run of a pair does not favour one side.
      order=("${kinds[@]}")
      [ $((i % 2)) = 0 ] && order=("${kinds[@]:1}" "${kinds[0]}")
      for kind in "${order[@]}"; do
        read -r wall rss cpu < <(run "$kind" "$capture" "$row")
        printf '%s\t%s\t%s\t%s\t%s\n' "$i" "$kind" "$wall" "$rss" "$cpu" >> "$tsv"
      done
    done
    med() { awk -F'\t' -v k="$1" -v c="$2" '$2 == k {print $c}' "$tsv" | median; }
    ratio() {  # median over pairs of kind/plain for column c
      awk -F'\t' -v k="$1" -v c="$2" '$2 == "plain" {p[$1] = $c} $2 == k {v[$1] = $c}
        END {for (i in v) if (p[i] > 0) printf "%.4f\n", v[i] / p[i]}' "$tsv" | median
    }
    pw=$(med plain 3); mw=$(med mtls 3); pr=$(med plain 4); mr=$(med mtls 4); wr=$(ratio mtls 3)
    cr=$(ratio mtls 5)
    wall_mtls[$row-$n]=$mw wall_plain[$row-$n]=$pw rss_mtls[$row-$n]=$mr rss_plain[$row-$n]=$pr
    wall_target=-
    [ "$row" = keys ] && wall_target=1.05
    mem_target=256
    [ "$row" = tree ] && mem_target=-
    line=$(awk -v n="$n" -v row="$row" -v pw="$pw" -v mw="$mw" -v wr="$wr" -v cr="$cr" -v wt="$wall_target" \
        -v mt="$mem_target" -v pr="$pr" -v mr="$mr" '
      BEGIN {
        b = (mr - pr) * 1024 / n
        wres = wt == "-" ? "-" : (sprintf("%.3f", wr) + 0 <= wt ? "met" : "missed")  # as printed
        mres = mt == "-" ? "-" : (sprintf("%.0f", b) + 0 <= mt ? "met" : "missed")
        printf "%-7s %-8s %8.2f %8.2f %7.3f %7s %-7s %6.3f | %8.1f %8.1f %7.0f %6s %-7s", n, row, pw, mw,
          wr, (wt == "-" ? "-" : "<=" wt), wres, cr, pr / 1024, mr / 1024, b, (mt == "-" ? "-" : "<=" mt),
          mres
      }')
    if [[ " ${kinds[*]} " == *" lua "* ]]; then
      line+=$(awk -v lw="$(med lua 3)" -v lr="$(med lua 4)" -v r="$(ratio lua 3)" \
        'BEGIN {printf " | %7.2f %7.3f %7.1f", lw, r, lr / 1024}')
    elif [ "$lua" = 1 ]; then
      line+=$(printf ' | %7s %7s %7s' - - -)
    fi
    echo "$line"
    met=$((met + $(awk '{for (i = 1; i <= NF; i++) n += $i == "met"} END {print n + 0}' <<< "$line")))
    missed=$((missed + $(awk '{for (i = 1; i <= NF; i++) n += $i == "missed"} END {print n + 0}' <<< "$line")))
  done
done
echo "targets: $met met, $missed missed"

if [ "${#size_list[@]}" -gt 1 ]; then
  last=${size_list[-1]}
  echo
  echo "growth ${first} -> ${last} connections (x$((last / first))): median wall time, and the RSS difference per added connection"
  for row in "${rows[@]}"; do
    if [ -z "${wall_mtls[$row-$last]:-}" ] || [ -z "${wall_mtls[$row-$first]:-}" ]; then continue; fi
    awk -v c="$row" -v p1="${wall_plain[$row-$first]}" -v p2="${wall_plain[$row-$last]}" \
        -v m1="${wall_mtls[$row-$first]}" -v m2="${wall_mtls[$row-$last]}" \
        -v r1="$(( ${rss_mtls[$row-$first]} - ${rss_plain[$row-$first]} ))" \
        -v r2="$(( ${rss_mtls[$row-$last]} - ${rss_plain[$row-$last]} ))" -v n1="$first" -v n2="$last" \
        'BEGIN {printf "  %-9s plain x%.2f   mtls x%.2f   plugin share %.1f%% -> %.1f%%   %.0f B per added connection\n",
                c, p2 / p1, m2 / m1, (m1 - p1) * 100 / p1, (m2 - p2) * 100 / p2, (r2 - r1) * 1024 / (n2 - n1)}'
  done
fi
echo "raw timings: $work/runs/*.tsv (took $((SECONDS - started)) s)"
