#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test.sh: set up, build, and run every test (unit, tshark-level, robustness).
# This is what CI runs (.ci/run).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MTLS_BUILD_DIR:-$repo/build}

"$repo/scripts/setup.sh"
ctest --test-dir "$build" --output-on-failure </dev/null
