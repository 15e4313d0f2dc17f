#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/run.sh: what the mtls plugin costs, against plain tshark and a Lua reference.
#
#   bench/run.sh [--sizes 10000,100000] [--pairs 5] [--big-configs keys-single]
#
# For each size (number of TCP connections) it builds, with bench/make_capture.py,
# from every sample capture: a TLS-heavy capture with the secrets embedded ("keys"),
# the same without them ("nokeys") and the same connections with no TLS ("notls").
# Then, for each configuration (capture x single pass / -2), it runs alternately
#   plain   tshark with an empty plugin folder (no plugin)
#   mtls    tshark with the plugin from the build tree
#   lua     tshark with bench/reference.lua (keys captures only)
# Passes: single (tshark -r), two (-2), and, on the keys capture, tree (-Y tcp: a
# display filter makes every run build the protocol tree, as the GUI always does,
# so the plugin's own cost shows apart from the cost of building a tree at all).
# --pairs times (default 5), each under /usr/bin/time -v, and prints the medians of
# wall time and peak RSS, the median of the per-pair ratios mtls/plain and lua/plain,
# and the plugin's memory per connection ((RSS mtls - RSS plain) / connections).
# At the end it shows how wall time grows from the smallest to the largest size.
# tshark writes its one-line-per-packet output to /dev/null. As root every run drops
# to nobody (tshark ignores WIRESHARK_PLUGIN_DIR as root), with a throwaway HOME.
#
# Sizes after the first run only the configurations in --big-configs (default
# keys-single,notls-single), to stay within a reasonable time.
# Targets (issue 5): mtls/plain <= 1.05 on keys, <= 1.02 on notls, below lua; under
# 256 bytes per connection; linear growth.
#
# Env: MTLS_BUILD_DIR   build directory (default <repo>/build)
#      MTLS_BENCH_DIR   work directory (default /tmp/mtls-bench; captures are reused)
#      MTLS_BENCH_TIMEOUT seconds per tshark run (default 1800)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${MTLS_BUILD_DIR:-$repo/build}" && pwd)
work=${MTLS_BENCH_DIR:-/tmp/mtls-bench}
limit=${MTLS_BENCH_TIMEOUT:-1800}
sizes=10000,100000
pairs=5
big_configs=keys-single,notls-single
while [ $# -gt 0 ]; do
  case $1 in
    --sizes) sizes=$2; shift ;;
    --pairs) pairs=$2; shift ;;
    --big-configs) big_configs=$2; shift ;;
    -h | --help) awk 'NR > 2 && /^#/ {sub(/^# ?/, ""); print; next} NR > 2 {exit}' "$0"; exit 0 ;;
    *) echo "usage: $0 [--sizes N,N] [--pairs N] [--big-configs CFG,...]" >&2; exit 2 ;;
  esac
  shift
done
[ -x /usr/bin/time ] || { echo "FAIL /usr/bin/time missing: apt-get install time" >&2; exit 1; }
ls "$build"/plugins/*/epan/mtls.so >/dev/null 2>&1 || { echo "FAIL no mtls.so in $build/plugins" >&2; exit 1; }

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

# run KIND CAPTURE PASS -> "wall_seconds max_rss_kb"
run() {
  local kind=$1 capture=$2 pass=$3 plugdir=$work/empty-plugins extra=() out
  case $kind in
    mtls) plugdir=$plugins ;;
    lua) extra=(-X "lua_script:$work/reference.lua") ;;
  esac
  [ "$pass" = two ] && extra+=(-2)
  [ "$pass" = tree ] && extra+=(-Y tcp)  # a display filter builds the tree anyway (as the GUI does)
  out=$work/runs/time.$$
  if ! timeout "$limit" "${as_user[@]}" env HOME="$work/home" WIRESHARK_PLUGIN_DIR="$plugdir" \
      WIRESHARK_EXTCAP_DIR="$work/empty-plugins" \
      /usr/bin/time -v -o "$out" tshark -r "$capture" "${extra[@]}" >/dev/null 2>"$work/runs/err.$$"; then
    echo "FAIL tshark ($kind, $pass) on $capture:" >&2
    tail -n 5 "$work/runs/err.$$" >&2
    exit 1
  fi
  awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; w = s}
              /Maximum resident set size/ {r = $2} END {printf "%.3f %d\n", w, r}' "$out"
}

median() { sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# Captures.
IFS=, read -r -a size_list <<< "$sizes"
for n in "${size_list[@]}"; do
  for variant in keys nokeys notls; do
    file=$work/$variant-$n.pcapng
    [ -s "$file" ] && continue
    case $variant in
      keys) flags=() ;;
      nokeys) flags=(--no-keys) ;;
      notls) flags=(--no-tls) ;;
    esac
    echo "== building $file"
    timeout 3600 python3 "$repo/bench/make_capture.py" --connections "$n" "${flags[@]}" "$file" \
      "$repo"/sample-captures/*.pcapng
    chmod 644 "$file"
  done
done

echo
echo "tshark $(tshark -v 2>/dev/null | head -n1 | awk '{print $3}'), plugin from $build, $pairs pairs per configuration, $(nproc) CPUs"
printf '%-8s %-14s %8s %8s %8s %8s %8s | %9s %9s %9s %8s %8s %8s\n' size config "plain s" "mtls s" "lua s" \
  "mtls/pl" "lua/pl" "plain MB" "mtls MB" "lua MB" "mtls/pl" "lua/pl" "B/conn"
declare -A wall_mtls wall_plain
first=${size_list[0]}
for n in "${size_list[@]}"; do
  for variant in keys nokeys notls; do
    for pass in single two tree; do
      config=$variant-$pass
      if [ "$pass" = tree ] && [ "$variant" != keys ]; then continue; fi
      if [ "$n" != "$first" ] && [[ ",$big_configs," != *",$config,"* ]]; then continue; fi
      capture=$work/$variant-$n.pcapng
      kinds=(plain mtls)
      [ "$variant" = keys ] && kinds+=(lua)
      : > "$work/runs/$config-$n.tsv"
      for i in $(seq 1 "$pairs"); do
        for kind in "${kinds[@]}"; do
          read -r wall rss < <(run "$kind" "$capture" "$pass")
          printf '%s\t%s\t%s\t%s\n' "$i" "$kind" "$wall" "$rss" >> "$work/runs/$config-$n.tsv"
        done
      done
      tsv=$work/runs/$config-$n.tsv
      med() { awk -F'\t' -v k="$1" -v c="$2" '$2 == k {print $c}' "$tsv" | median; }
      ratio() {  # median over pairs of kind/plain for column c
        awk -F'\t' -v k="$1" -v c="$2" '$2 == "plain" {p[$1] = $c} $2 == k {v[$1] = $c}
          END {for (i in v) if (p[i] > 0) printf "%.4f\n", v[i] / p[i]}' "$tsv" | median
      }
      pw=$(med plain 3); mw=$(med mtls 3); pr=$(med plain 4); mr=$(med mtls 4)
      lw=-; lr=-; lwr=-; lrr=-
      if [ "$variant" = keys ]; then lw=$(med lua 3); lr=$(med lua 4); lwr=$(ratio lua 3); lrr=$(ratio lua 4); fi
      per_conn=$(awk -v a="$mr" -v b="$pr" -v n="$n" 'BEGIN {printf "%.0f", (a - b) * 1024 / n}')
      wall_mtls[$config-$n]=$mw
      wall_plain[$config-$n]=$pw
      printf '%-8s %-14s %8s %8s %8s %8s %8s | %9s %9s %9s %8s %8s %8s\n' "$n" "$config" "$pw" "$mw" "$lw" \
        "$(ratio mtls 3)" "$lwr" "$((pr / 1024))" "$((mr / 1024))" "$([ "$lr" = - ] && echo - || echo $((lr / 1024)))" \
        "$(ratio mtls 4)" "$lrr" "$per_conn"
    done
  done
done

if [ "${#size_list[@]}" -gt 1 ]; then
  last=${size_list[-1]}
  echo
  echo "growth ${first} -> ${last} connections (x$((last / first))): median wall time ratio"
  for config in keys-single keys-two nokeys-single nokeys-two notls-single notls-two; do
    [ -n "${wall_mtls[$config-$last]:-}" ] && [ -n "${wall_mtls[$config-$first]:-}" ] || continue
    awk -v c="$config" -v p1="${wall_plain[$config-$first]}" -v p2="${wall_plain[$config-$last]}" \
        -v m1="${wall_mtls[$config-$first]}" -v m2="${wall_mtls[$config-$last]}" \
        'BEGIN {printf "  %-14s plain x%.2f   mtls x%.2f   plugin share %.1f%% -> %.1f%%\n", c, p2 / p1, m2 / m1,
                (m1 - p1) * 100 / p1, (m2 - p2) * 100 / p2}'
  done
fi
echo "raw timings: $work/runs/*.tsv"
