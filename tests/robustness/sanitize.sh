#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# sanitize.sh: the tshark-level suite with the plugin built with ASan + UBSan.
#
#   tests/robustness/sanitize.sh [--quick | --ctest] [--no-build]
#
# Configures and builds a separate build tree with -DMTLS_SANITIZE=ON (default
# <repo>/build-asan, or $MTLS_ASAN_BUILD_DIR), then runs, with MTLS_BUILD_DIR pointing
# at it:
#   - the engine unit tests (instrumented binary);
#   - tests/tshark/plugin_loaded.sh and tests/tshark/check_truth.py (not with --ctest);
#   - every sample capture read with -V and with -2 -V plus the plugin's -z reports;
#   - tests/robustness/fuzz_smoke.sh (--quick, --ctest: on a fixed subset of 8 captures);
#   - tests/robustness/regressions.sh (kept crash inputs, if any).
# --ctest is the reduced run of ctest robustness.sanitizers (a few minutes): the truth
# checks take about 10 minutes under ASan on 2 loaded cores and are left to the full run.
# tshark itself is not instrumented: a tshark shim on PATH (tshark_shim.sh) preloads
# libasan and libubsan into tshark only. Reports go to log files (log_path), which
# survive the privilege drop of scripts/tshark-mtls; any ASan or UBSan report, in a
# log or on a test's output, fails the run, and so does any failing check.
#
# Env: MTLS_ASAN_BUILD_DIR          the sanitizer build tree (default <repo>/build-asan)
#      MTLS_SANITIZE_STEP_TIMEOUT   seconds per step (default 1800)
#
# Leak detection is off here (libwireshark and glib leak at exit by design);
# valgrind.sh checks leaks attributed to the plugin.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here=$repo/tests/robustness
build=${MTLS_ASAN_BUILD_DIR:-$repo/build-asan}
quick=0
truth=1
do_build=1
for arg in "$@"; do
  case $arg in
    --quick) quick=1 ;;
    --ctest) quick=1 truth=0 ;;
    --no-build) do_build=0 ;;
    -h | --help) awk 'NR > 2 && /^#/ {sub(/^# ?/, ""); print; next} NR > 2 {exit}' "$0"; exit 0 ;;
    *) echo "usage: $0 [--quick | --ctest] [--no-build]" >&2; exit 2 ;;
  esac
done

# shellcheck source=tests/robustness/tshark_shim.sh
source "$here/tshark_shim.sh"

libasan=$(gcc -print-file-name=libasan.so)
libubsan=$(gcc -print-file-name=libubsan.so)
for lib in "$libasan" "$libubsan"; do
  [ -e "$lib" ] || { echo "FAIL $lib not found (apt-get install gcc libasan8 libubsan1)" >&2; exit 1; }
done

if [ "$do_build" = 1 ]; then
  echo "== configure and build $build (MTLS_SANITIZE=ON)"
  timeout 600 cmake -S "$repo" -B "$build" -DMTLS_SANITIZE=ON -DBUILD_TESTING=ON >"$build.configure.log" 2>&1 \
    || { cat "$build.configure.log"; echo "FAIL configure"; exit 1; }
  timeout 900 cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" >"$build.build.log" 2>&1 \
    || { tail -n 50 "$build.build.log"; echo "FAIL build"; exit 1; }
  rm -f "$build.configure.log" "$build.build.log"
fi
plugin=$(ls "$build"/plugins/*/epan/mtls.so 2>/dev/null | head -n1) || true
[ -n "$plugin" ] || { echo "FAIL no mtls.so in $build/plugins" >&2; exit 1; }
if ! readelf -d "$plugin" | grep -q 'libasan'; then
  echo "FAIL $plugin is not built with -fsanitize=address (MTLS_SANITIZE=OFF in $build?)" >&2
  exit 1
fi

work=$(mktemp -d /tmp/mtls-sanitize.XXXXXX)
trap 'rm -rf "$work"' EXIT
logs=$work/logs
make_tshark_shim "$work" env \
  "LD_PRELOAD=$libasan $libubsan" \
  "ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:exitcode=86:log_path=$logs/asan:handle_abort=1:allow_user_segv_handler=1" \
  "UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=87:log_path=$logs/ubsan"

export PATH=$work/bin:$PATH
export MTLS_BUILD_DIR=$build
export WIRESHARK_ABORT_ON_DISSECTOR_BUG=1

failed=()
step_limit=${MTLS_SANITIZE_STEP_TIMEOUT:-1800}
sanitizer_pattern='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer|AddressSanitizer:DEADLYSIGNAL'

step() {
  local name=$1 status=0 start=$SECONDS
  shift
  echo "== $name"
  timeout --kill-after=10 "$step_limit" "$@" >"$work/step.out" 2>&1 || status=$?
  tail -n 3 "$work/step.out" | sed 's/^/   /'
  if grep -Eq "$sanitizer_pattern" "$work/step.out"; then
    echo "FAIL $name: sanitizer report in its output:"
    grep -E -B2 -A20 "$sanitizer_pattern" "$work/step.out" | head -n 60 | sed 's/^/   /'
    failed+=("$name")
  elif [ "$status" != 0 ]; then
    echo "FAIL $name: exit $status$([ "$status" = 124 ] && echo " (timeout after ${step_limit}s)")"
    grep -E '^FAIL' "$work/step.out" | head -n 30 | sed 's/^/   /'
    failed+=("$name")
  else
    echo "ok   $name ($((SECONDS - start))s)"
  fi
}

# plugin_loaded.sh also proves the preload: without libasan first, the
# instrumented mtls.so fails to load ("ASan runtime does not come first").
if [ -x "$build/tests/test_engine" ]; then
  step unit.engine "$build/tests/test_engine"
fi
step tshark.plugin_loaded bash "$repo/tests/tshark/plugin_loaded.sh"
if [ "$truth" = 1 ]; then
  step tshark.truth python3 "$repo/tests/tshark/check_truth.py"
fi

# Every sample capture, full trees in both passes, with the plugin's reports.
read_samples() {
  local zlist report capture status=0
  local -a zargs=()
  zlist=$("$repo/scripts/tshark-mtls" -z help 2>&1 || true)
  for report in mtls,tree mtls,conv; do
    if printf '%s\n' "$zlist" | grep -qx "[[:space:]]*$report"; then zargs+=(-z "$report"); fi
  done
  for capture in "$repo"/sample-captures/*.pcapng; do
    for args in "-V" "-2 -V"; do
      # shellcheck disable=SC2086
      if ! "$repo/scripts/tshark-mtls" -r "$capture" $args "${zargs[@]}" >/dev/null 2>"$work/read.err"; then
        echo "FAIL $(basename "$capture") ($args ${zargs[*]})"
        cat "$work/read.err"
        status=1
      fi
    done
  done
  echo "read every sample capture with -V and -2 -V ${zargs[*]}"
  return "$status"
}
export -f read_samples
export repo work
step samples bash -c read_samples
if [ "$quick" = 1 ]; then
  # A fixed slice: TLS 1.2 and 1.3, required/optional, PHA, renegotiation, HRR,
  # resumption, client abort, GnuTLS and Python peers.
  subset=(ossl-tls12-reneg-no-cert ossl-tls12-client-aborts ossl-tls13-pha-untrusted-cert
          ossl-tls13-hrr-required-good-cert ossl-tls13-resumption gnutls-tls13-optional-untrusted-cert
          gnutls-tls12-required-no-cert python-tls13-pha-required-no-cert)
  smoke_args=()
  for name in "${subset[@]}"; do
    [ -e "$repo/sample-captures/$name.pcapng" ] && smoke_args+=("$repo/sample-captures/$name.pcapng")
  done
  step robustness.fuzz_smoke bash "$here/fuzz_smoke.sh" "${smoke_args[@]}"
else
  step robustness.fuzz_smoke bash "$here/fuzz_smoke.sh"
fi
if [ -e "$here/regressions.sh" ]; then
  step robustness.regressions bash "$here/regressions.sh"
fi

# Reports written by tshark runs (log_path=<logs>/asan.<pid>, ubsan.<pid>).
shopt -s nullglob
reports=("$logs"/*)
shopt -u nullglob
if [ ${#reports[@]} -gt 0 ]; then
  echo "FAIL ${#reports[@]} sanitizer report(s):"
  for report in "${reports[@]}"; do
    echo "-- $(basename "$report")"
    head -n 40 "$report" | sed 's/^/   /'
  done
  failed+=("sanitizer reports")
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "sanitizers: no ASan/UBSan report, all checks passed"
