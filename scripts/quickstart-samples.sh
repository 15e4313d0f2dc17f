#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# quickstart-samples.sh: build the plugin, install it for the invoking user, and
# print what it finds in every sample capture.
#
# The plugin goes to the personal plugin folder,
# ~/.local/lib/wireshark/plugins/<version>/epan/, so Wireshark and tshark started
# by that user load it. (For the system folder: cmake -S . -B build
# -DMTLS_INSTALL_SYSTEM=ON && sudo cmake --install build.) The table below is
# printed with the build-tree plugin (scripts/tshark-mtls), so it works as root too.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MTLS_BUILD_DIR:-$repo/build}

"$repo/scripts/setup.sh"
cmake --install "$build"
if [ "$(id -u)" = 0 ]; then
  echo "Note: tshark and Wireshark ignore personal plugins when run as root;"
  echo "      the table below uses scripts/tshark-mtls, which drops privileges."
fi

shopt -s nullglob
captures=("$repo"/sample-captures/*.pcapng)
if [ ${#captures[@]} -eq 0 ]; then
  echo "No sample captures in $repo/sample-captures." >&2
  exit 1
fi
echo
echo "TLS client-authentication exchanges in sample-captures/ (final verdicts, tshark -2):"
echo
"$repo/scripts/mtls-summary.py" "${captures[@]}"
echo
echo "Next: scripts/tshark-mtls -r sample-captures/<file> -Y mtls.rejected -T fields -e frame.number -e mtls.evidence"
