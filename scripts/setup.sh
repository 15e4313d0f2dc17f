#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# setup.sh: install what the mtls plugin needs (Debian 12) and build it.
#
# Idempotent: apt-get runs only when a package is missing. As root it installs
# them non-interactively; as another user it prints the apt-get command and fails.
# Then it configures and builds into build/ (or $MTLS_BUILD_DIR) with -Werror.
# Needs no stdin.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MTLS_BUILD_DIR:-$repo/build}

# libgcrypt20-dev: epan/dissectors/packet-tls-utils.h includes gcrypt.h, and from
# Debian 13 on libwireshark-dev no longer brings it in. file: cpack -G DEB runs
# dpkg-shlibdeps, which needs it.
packages=(build-essential cmake pkg-config libglib2.0-dev libgcrypt20-dev tshark wireshark-dev
          libwireshark-dev libgnutls28-dev python3 util-linux valgrind file)
# The live lab's peers (scripts/mtls-lab, test lab.scenarios): host only, not in the
# chroots (scripts/chroot.sh reads the list above). Their services are not started.
lab_packages=(openssl curl nginx-light iproute2)

installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

missing=()
for package in "${packages[@]}" "${lab_packages[@]}"; do
  installed "$package" || missing+=("$package")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup.sh: missing packages: ${missing[*]}" >&2
    echo "Install them as root, then run this script again:" >&2
    echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Non-root packet capture is not needed here; answer the dumpcap question up front.
  echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
  apt-get update </dev/null
  # Packages such as nginx start their service when installed: not here (the lab
  # starts its own servers, on its own ports, and stops them).
  policy=/usr/sbin/policy-rc.d
  own_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=1
  fi
  apt-get install -y --no-install-recommends "${missing[@]}" </dev/null || { [ -z "$own_policy" ] || rm -f "$policy"; exit 1; }
  [ -z "$own_policy" ] || rm -f "$policy"
else
  echo "setup.sh: all packages present (${packages[*]})"
fi

cmake -S "$repo" -B "$build" -DMTLS_WERROR=ON </dev/null
cmake --build "$build" -j2 </dev/null
plugin=$(ls "$build"/plugins/*/epan/mtls.so)
echo "setup.sh: built $plugin"
