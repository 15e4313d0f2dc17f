# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/common.sh: sourced by bench/memory.sh and bench/profile.sh, which set
# repo, run, connections and capture first.
# shellcheck disable=SC2154

# bench_capture: with $capture empty, builds $run/capture.pcapng of $connections
# connections cloned from the sample captures (bench/make_capture.py); otherwise
# copies $capture there and counts its connections. Sets capture and connections.
bench_capture() {
  if [ -z "$capture" ]; then
    capture=$run/capture.pcapng
    python3 "$repo/bench/make_capture.py" --connections "$connections" "$capture" \
      "$repo"/sample-captures/*.pcapng >&2
  else
    cp "$capture" "$run/capture.pcapng"
    capture=$run/capture.pcapng
    connections=$(tshark -r "$capture" -T fields -e tcp.stream 2>/dev/null | sort -un | wc -l)
  fi
  chmod 644 "$capture"
}
