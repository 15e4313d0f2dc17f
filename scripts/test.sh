#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test.sh: set up, build, and run every test (unit, tshark-level, robustness) on the
# host's Wireshark (Debian 12: 4.0), then build, package and run a named subset of
# the tests against the Wireshark of each newer Debian suite, in a chroot
# (scripts/chroot.sh): trixie (4.4) and sid (4.6), both at once. Ends with a table
# per Wireshark version. This is what CI runs (.ci/run).
#
# Exit status: non-zero when the host run or any version failed. A version whose
# chroot cannot be made (no Debian archive) is SKIPPED: printed loudly, and not
# counted as passed; it does not fail the run by itself.
#
# Env: MTLS_BUILD_DIR      host build directory (default <repo>/build)
#      MTLS_VERSIONS       chroot suites to test (default "trixie sid"; "" = host only)
#      MTLS_CHROOT_SUBSET  ctest -R regex run in the chroots (default below)
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MTLS_BUILD_DIR:-$repo/build}
suites=${MTLS_VERSIONS-trixie sid}
# In the chroots: every unit test (and its valgrind run), the fuzz harnesses'
# corpus replays, the tshark-level tests whose output changes between Wireshark
# versions (plugin_loaded, truth in both passes, inference, diagnosis, the
# application's answers, the flow graph, whose structure layouts are declared per
# version, and the mTLS profile: a new tshark.truth_*, tshark.reports_* ... is
# picked up too) and the CI slice of the fuzz campaign. Not there: fuzz_smoke,
# sanitizers, valgrind of tshark, consistency, reports, passes_agree and summary_runs (the
# longest; truth already compares both passes with the truth table on every
# capture), so that the whole CI run stays well inside its 90 minutes.
subset=${MTLS_CHROOT_SUBSET:-'^(unit\.|fuzz\.replay\.|tshark\.(plugin_loaded|truth|inference|diagnosis|app|transports|flow|profile)|robustness\.fuzz_slice)'}
SKIPPED=77

logs=$build/versions
rows=()

# counts LOG: "run passed failed skipped" from ctest's per-test lines.
counts() {
  awk '/Test +#[0-9]+: / {
         run++
         if ($0 ~ /\*\*\*Skipped/) skipped++
         else if ($0 ~ / Passed +[0-9.]+ sec/) passed++
         else failed++
       }
       END { printf "%d %d %d %d\n", run, passed, failed, skipped }' "$1"
}

# --- Wireshark 4.0: the host (Debian 12), every test -------------------------------
started=$SECONDS
status=0
host_version=$(dpkg-query -W -f='${Version}' libwireshark-dev 2>/dev/null || echo "?")
if "$repo/scripts/setup.sh"; then
  mkdir -p "$logs"
  ctest --test-dir "$build" --output-on-failure </dev/null 2>&1 | tee "$logs/host.log"
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
  host_version=$(dpkg-query -W -f='${Version}' libwireshark-dev)
  # The host's .deb is built, not installed: an installed copy in the system plugin
  # folder would be loaded next to the build tree's by every later test.
  if (cd "$build" && cpack -G DEB >"$logs/host-cpack.log" 2>&1); then
    deb="built $(cd "$build" && ls wireshark-plugin-mtls_*.deb | head -n1) (not installed)"
  else
    deb="cpack failed"
    status=1
  fi
  read -r run passed failed skipped < <(counts "$logs/host.log")
  rows+=("4.0|bookworm (host)|$host_version|ok|$deb|$run|$passed|$failed|$skipped|$((SECONDS - started))")
else
  status=1
  rows+=("4.0|bookworm (host)|$host_version|FAILED|-|0|0|0|0|$((SECONDS - started))")
fi

# --- newer Wireshark versions: chroots, in parallel --------------------------------
declare -A pids begun
# mmdebstrap once, before the chroots are made side by side (one dpkg at a time).
if [ -n "$suites" ] && ! command -v mmdebstrap >/dev/null && [ "$(id -u)" = 0 ]; then
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mmdebstrap; } \
    </dev/null >/dev/null 2>&1 || echo "test.sh: could not install mmdebstrap; the chroots will be SKIPPED"
fi
for suite in $suites; do
  mkdir -p "$logs"
  begun[$suite]=$SECONDS
  "$repo/scripts/chroot.sh" "$suite" -R "$subset" </dev/null >"$logs/$suite.log" 2>&1 &
  pids[$suite]=$!
done
for suite in $suites; do
  code=0
  wait "${pids[$suite]}" || code=$?
  elapsed=$((SECONDS - begun[$suite]))
  echo
  echo "=============== Debian $suite (scripts/chroot.sh $suite -R <subset>): exit $code, ${elapsed} s ==============="
  cat "$logs/$suite.log"
  version=$(sed -n 's/^chroot\.sh: Debian [a-z]*, libwireshark-dev //p' "$logs/$suite.log" | head -n1)
  major_minor=$(printf '%s' "$version" | cut -d. -f1-2)
  if [ "$code" = "$SKIPPED" ]; then
    rows+=("${major_minor:-?}|$suite|-|SKIPPED|SKIPPED|0|0|0|0|$elapsed")
    skipped_any=1
    continue
  fi
  if grep -q "^setup.sh: built " "$logs/$suite.log"; then built=ok; else built=FAILED; fi
  if grep -q "^ok   wireshark-plugin-mtls_.*tshark -G plugins lists" "$logs/$suite.log"; then
    deb="installed, loaded from $(sed -n 's/^ok   .*tshark -G plugins lists //p' "$logs/$suite.log" | head -n1 | xargs dirname)"
  elif [ "$built" = ok ]; then
    deb=FAILED
  else
    deb=-
  fi
  read -r run passed failed skipped < <(counts "$logs/$suite.log")
  rows+=("${major_minor:-?}|$suite|${version:-?}|$built|$deb|$run|$passed|$failed|$skipped|$elapsed")
  [ "$code" = 0 ] || status=1
done

# --- the table -----------------------------------------------------------------------
echo
echo "Wireshark versions (logs: $logs/)"
{
  echo "Wireshark|Debian|package version|build|.deb|tests|passed|failed|skipped|seconds"
  printf '%s\n' "${rows[@]}"
} | awk -F'|' '{ for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > width[i]) width[i] = length($i) }
                  if (NF > columns) columns = NF }
             END { for (r = 1; r <= NR; r++) { line = ""
                     for (i = 1; i <= columns; i++) line = line sprintf("%-" width[i] "s  ", cell[r, i])
                     sub(/ +$/, "", line); print line } }'
if [ -n "${skipped_any:-}" ]; then
  echo
  echo "############################################################################"
  echo "### SKIPPED: at least one Wireshark version was NOT tested (see above)."
  echo "### Its chroot could not be made; that version is neither passed nor failed."
  echo "############################################################################"
fi
exit "$status"
