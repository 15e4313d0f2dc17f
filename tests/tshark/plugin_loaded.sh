#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# plugin_loaded.sh: tshark run through scripts/tshark-mtls loads mtls.so from the
# build tree (not some installed copy) and registers its fields.
# Fails, never skips: every tshark-level test depends on this.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$(cd "${MTLS_BUILD_DIR:-$repo/build}" && pwd)
tshark_mtls=$repo/scripts/tshark-mtls
status=0

plugins=$("$tshark_mtls" -G plugins)
line=$(printf '%s\n' "$plugins" | awk -F'\t' '$1 ~ /^mtls\.so/' | head -n1)
if [ -z "$line" ]; then
  echo "FAIL mtls.so is not among tshark's plugins:" >&2
  printf '%s\n' "$plugins" | sed 's/^/  /' >&2
  status=1
else
  path=$(printf '%s\n' "$line" | awk -F'\t' '{print $NF}')
  # As root, when nobody cannot read the build tree, the wrapper loads a copy of
  # its plugins/ folder from /tmp/tshark-mtls.*/plugins.
  case $path in
    "$build"/plugins/*/epan/mtls.so | /tmp/tshark-mtls.*/plugins/*/epan/mtls.so) from_build=1 ;;
    *) from_build=0 ;;
  esac
  if [ "$from_build" = 1 ]; then
    echo "ok   mtls.so loaded from $path"
  else
    echo "FAIL mtls.so loaded from $path, not from the build tree $build/plugins" >&2
    status=1
  fi
fi

fields=$("$tshark_mtls" -G fields)
for field in mtls.verdict mtls.exchange mtls.decision_frame mtls.evidence; do
  if printf '%s\n' "$fields" | awk -F'\t' -v f="$field" '$1 == "F" && $3 == f {found=1} END {exit !found}'; then
    echo "ok   field $field registered"
  else
    echo "FAIL field $field not registered" >&2
    status=1
  fi
done
# The glue reads TCP segments from TCP's private tcp_follow tap data, whose layout
# mtls_compat.h declares per Wireshark version; when it does not match, the glue
# warns and reads the frames' bytes instead. That fall-back must not be what runs.
capture=$repo/sample-captures/ossl-tls13-required-good-cert.pcapng
if [ -f "$capture" ]; then
  if warnings=$("$tshark_mtls" -r "$capture" -Y mtls -T fields -e mtls.verdict 2>&1 >/dev/null) &&
     ! printf '%s\n' "$warnings" | grep -q "unexpected layout"; then
    echo "ok   tcp_follow tap data has the layout mtls_compat.h declares ($(tshark --version | head -n1))"
  else
    echo "FAIL tcp_follow tap data check: ${warnings:-tshark failed}" >&2
    status=1
  fi
fi
exit "$status"
