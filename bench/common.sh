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

# bench_sources: the sample captures the bench captures are cloned from, one a line:
# $MTLS_BENCH_SOURCES (a glob) if set, else sample-captures/*.pcapng without the
# TCP-level stress captures *-byte-segments.pcapng (one byte per TCP segment:
# 2 connections of 1370 and 2722 packets, which would make 4 in 5 of a bench
# capture's packets one-byte segments instead of ordinary TLS traffic; the
# sources average 18 packets a connection without them, 75 with them).
bench_sources() {
  local f
  # shellcheck disable=SC2086
  for f in ${MTLS_BENCH_SOURCES:-"$repo"/sample-captures/*.pcapng}; do
    if [ -z "${MTLS_BENCH_SOURCES:-}" ] && [[ $f == *-byte-segments.pcapng ]]; then continue; fi
    echo "$f"
  done
}

# bench_make_capture ARGS... OUT: make_capture.py ARGS OUT with the bench sources;
# its own "skip ..." lines for sources it cannot use (not Ethernet) are left out.
bench_make_capture() {
  local sources
  mapfile -t sources < <(bench_sources)
  python3 "$repo/bench/make_capture.py" "$@" "${sources[@]}" 2> >(grep -v '^skip ' >&2) >&2
}

# bench_signature: changes when the sources or make_capture.py change (run.sh
# rebuilds its kept captures then).
bench_signature() {
  { bench_sources; cat "$repo/bench/make_capture.py"; bench_sources | xargs cat; } | md5sum | cut -c1-32
}

# bench_capture: with $capture empty, builds $run/capture.pcapng of $connections
# connections cloned from the bench sources (bench/make_capture.py); otherwise
# copies $capture there and counts its connections. Sets capture and connections.
bench_capture() {
  if [ -z "$capture" ]; then
    capture=$run/capture.pcapng
    bench_make_capture --connections "$connections" "$capture"
  else
    cp "$capture" "$run/capture.pcapng"
    capture=$run/capture.pcapng
    # TCP connections, or UDP flows (DTLS, QUIC) when there is no TCP.
    connections=$(tshark -r "$capture" -Y tcp -T fields -e tcp.stream 2>/dev/null | sort -un | wc -l)
    [ "$connections" -gt 0 ] ||
      connections=$(tshark -r "$capture" -Y udp -T fields -e udp.stream 2>/dev/null | sort -un | wc -l)
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

# bench_no_tls N OUT: OUT holds N connections cloned from the bench sources with
# the TCP payload replaced by pseudo-random bytes on port 5999 (make_capture.py
# --no-tls): the packet and connection counts of the keys capture, no TLS.
bench_no_tls() {
  bench_make_capture --no-tls --connections "$1" "$2"
  chmod 644 "$2"
}
