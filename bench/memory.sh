#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/memory.sh: where the plugin's memory goes, per connection.
#
#   bench/memory.sh [--connections N] [-2] [CAPTURE]
#
# Runs tshark with the plugin from the build tree under heaptrack on CAPTURE
# (default: N connections cloned from the sample captures by bench/make_capture.py,
# not the *-byte-segments ones, see bench/common.sh,
# N = 1000 by default), and prints the heap the plugin holds at tshark's peak,
# by allocation site (the last frames of the plugin's own stack), in bytes per
# connection, then how much of it only open connections hold (their scanner and
# application reader, freed when each closes: that part depends on how many are
# open at the peak) and how much is kept until the file is closed. -2: tshark
# with two passes. heaptrack counts the bytes asked for, not malloc's own
# overhead: bench/run.sh measures the whole (RSS) and this one says which part
# is whose.
#
# Env: MTLS_BUILD_DIR  build directory (default <repo>/build)
#      MTLS_BENCH_DIR  work directory (default /tmp/mtls-bench)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${MTLS_BUILD_DIR:-$repo/build}" && pwd)
work=${MTLS_BENCH_DIR:-/tmp/mtls-bench}
connections=1000
capture=
passes=()
while [ $# -gt 0 ]; do
  case $1 in
    --connections) connections=$2; shift ;;
    -2) passes=(-2) ;;
    -h | --help) awk 'NR > 2 && /^#/ {sub(/^# ?/, ""); print; next} NR > 2 {exit}' "$0"; exit 0 ;;
    *) capture=$1 ;;
  esac
  shift
done
# shellcheck source=bench/common.sh
. "$repo/bench/common.sh"
bench_need heaptrack heaptrack
bench_need heaptrack_print heaptrack
ls "$build"/plugins/*/epan/mtls.so >/dev/null 2>&1 || { echo "FAIL no mtls.so in $build/plugins" >&2; exit 1; }

mkdir -p "$work"
run=$(mktemp -d "$work/memory.XXXXXX")
trap 'rm -rf "$run"' EXIT
chmod 777 "$run"
mkdir -m 777 "$run/home"
cp -r "$build/plugins" "$run/plugins" && chmod -R a+rX "$run/plugins"
bench_capture

as_user=()
[ "$(id -u)" = 0 ] && as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
"${as_user[@]}" env HOME="$run/home" WIRESHARK_PLUGIN_DIR="$run/plugins" \
  heaptrack -o "$run/heap" tshark "${passes[@]}" -r "$capture" >/dev/null 2>"$run/heaptrack.log" ||
  { cat "$run/heaptrack.log" >&2; exit 1; }
heaptrack_print -f "$run"/heap.*zst --flamegraph-cost-type peak -F "$run/stacks" >/dev/null 2>&1

# One stack per line, "frame;frame;... bytes". Keep the stacks through the
# plugin, name each by its innermost plugin functions.
python3 - "$run/stacks" "$connections" <<'EOF'
import re, sys
stacks, connections = sys.argv[1], int(sys.argv[2])
ours = re.compile(r"\((?:packet-mtls[^)]*|mtls_[a-z_]+)\.c\)")
sites, total = {}, 0
with open(stacks) as lines:
    for line in lines:
        frames, _, size = line.rstrip("\n").rpartition(" ")
        frames = frames.split(";")
        mine = [i for i, frame in enumerate(frames) if ours.search(frame)]
        if not mine:
            continue
        # From the outermost plugin frame that is not the dissector entry, to the
        # allocator: e.g. "analyse_frame > mtls_conn_new".
        names = [re.sub(r" \(.*", "", frame) for frame in frames[mine[0]:mine[-1] + 1]]
        names = [n for n in names if n not in ("dissect_mtls",)]
        site = " > ".join(names[-3:]) if names else "?"
        after = frames[mine[-1] + 1:]
        if after:
            site += " > " + re.sub(r" \(.*", "", after[0])
        sites[site] = sites.get(site, 0) + int(size)
        total += int(size)
print(f"plugin heap at tshark's peak, {connections} connections (bytes asked for, "
      "without malloc's overhead):")
for site, size in sorted(sites.items(), key=lambda item: -item[1]):
    if size * 1000 >= total:
        print(f"  {size / connections:8.1f} B/conn  {site}")
print(f"  {total / connections:8.1f} B/conn  total")
# What only open connections hold (freed when each closes: how much is held at
# the peak depends on how many are open at once, not on the capture's length),
# and the rest, kept until the file is closed.
live = re.compile(r"mtls_app_reader_new|mtls_tls_stream_|new_live > |new_connection > $")
open_state = sum(size for site, size in sites.items() if live.search(site))
print(f"  {open_state / connections:8.1f} B/conn  of it: open connections' state (scanner, "
      "application reader)")
print(f"  {(total - open_state) / connections:8.1f} B/conn  of it: kept until the file is closed")
EOF
