# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/common.sh: sourced by bench/memory.sh, bench/profile.sh and bench/run.sh,
# which set repo (and, for bench_capture, run, connections and capture) first.
# shellcheck disable=SC2154

# bench_need TOOL PACKAGE: TOOL on PATH, else installed with apt-get when root
# (after apt-get update), else FAIL.
bench_need() {
  local tool=$1 package=$2
  command -v "$tool" >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing $package (for $tool)" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package"; } >&2 ||
      { echo "FAIL apt-get install $package" >&2; exit 1; }
  fi
  command -v "$tool" >/dev/null || { echo "FAIL $tool missing: apt-get install $package" >&2; exit 1; }
}

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

# bench_no_keys KEYS OUT: OUT is KEYS without its Decryption Secrets Blocks
# (tests/lib/strip_secrets.py, as tests/tshark/inference_matrix.py does): the same
# packets, nothing to decrypt with.
bench_no_keys() {
  python3 "$repo/tests/lib/strip_secrets.py" "$1" "$2"
  chmod 644 "$2"
}

# bench_no_tls N OUT: OUT holds N connections cloned from the sample captures with
# the TCP payload replaced by pseudo-random bytes on port 5999 (make_capture.py
# --no-tls): the packet and connection counts of the keys capture, no TLS.
bench_no_tls() {
  python3 "$repo/bench/make_capture.py" --no-tls --connections "$1" "$2" \
    "$repo"/sample-captures/*.pcapng >&2
  chmod 644 "$2"
}
