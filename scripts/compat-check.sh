#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# compat-check.sh: compile and link the plugin against a newer Wireshark than the
# one installed, from Debian's packages, without installing them.
#
#   scripts/compat-check.sh [SUITE]      (default: sid, which has Wireshark 4.6)
#
# Downloads libwireshark-dev, libwsutil-dev, libwiretap-dev, wireshark-dev and the
# matching runtime libraries of SUITE with a private apt setup (nothing is added to
# the machine's sources or installed), unpacks them under the work directory, then
#   1. compiles every plugin/*/*.c with the project's warning flags and -Werror,
#   2. links them with -Wl,--no-undefined against that libwireshark and libwsutil,
#   3. checks the result exports the symbols Wireshark's plugin loader looks for.
# It cannot load the plugin into that Wireshark: sid's libraries need a newer glibc
# than Debian 12's. Not part of the test suite (it needs the Debian mirror).
#
# Env: MTLS_COMPAT_DIR  work directory (default /tmp/mtls-compat-<suite>)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
suite=${1:-sid}
work=${MTLS_COMPAT_DIR:-/tmp/mtls-compat-$suite}
mkdir -p "$work/apt/etc" "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/debs"

echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" \
  >"$work/apt/etc/sources.list"
cat >"$work/apt/apt.conf" <<CONF
Dir::Etc::sourcelist "$work/apt/etc/sources.list";
Dir::Etc::sourceparts "/nonexistent";
Dir::State::Lists "$work/apt/lists";
Dir::Cache "$work/apt/cache";
Dir::State::status "/var/lib/dpkg/status";
APT::Architectures { "amd64"; };
Acquire::Languages "none";
CONF
export APT_CONFIG=$work/apt/apt.conf
apt-get -q update >/dev/null

# The runtime libraries are whatever the dev packages depend on (libwireshark19 ...).
runtime=$(apt-cache depends libwireshark-dev libwsutil-dev 2>/dev/null |
  awk '/Depends: lib(wireshark|wsutil|wiretap)[0-9]/ {print $2}' | sort -u)
(cd "$work/debs" && rm -f ./*.deb && chmod 777 . &&
  apt-get -q download libwireshark-dev libwsutil-dev libwiretap-dev wireshark-dev $runtime >/dev/null)
rm -rf "$work/root" && mkdir "$work/root"
for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$work/root"; done
include=$work/root/usr/include/wireshark
version=$(sed -n "s/^#define WIRESHARK_VERSION_\(MAJOR\|MINOR\|MICRO\) \([0-9]*\)/\2/p" "$include/ws_version.h" | paste -sd.)
echo "Wireshark $version headers from Debian $suite"

obj=$work/obj
rm -rf "$obj" && mkdir "$obj"
flags=(-std=gnu11 -c -fPIC -fvisibility=hidden -Wall -Wextra -Werror -Wshadow -Wpointer-arith
       -Wstrict-prototypes -Wformat=2 -DPLUGIN_VERSION='"0"' -I"$include" -I"$repo/plugin/core" -I"$repo/plugin/wire" -I"$repo/plugin/app" -I"$repo/plugin/epan")
read -r -a glib <<<"$(pkg-config --cflags glib-2.0 gnutls)"
for source in "$repo"/plugin/*/*.c; do
  gcc "${flags[@]}" "${glib[@]}" "$source" -o "$obj/$(basename "$source" .c).o"
done
echo "compiled: $(ls "$obj" | wc -l) files, no warnings"

lib=$work/root/usr/lib/x86_64-linux-gnu
read -r -a libs <<<"$(pkg-config --libs glib-2.0 gnutls)"
gcc -shared -o "$obj/mtls.so" "$obj"/*.o -Wl,--no-undefined -Wl,--allow-shlib-undefined \
  "$lib"/libwireshark.so.[0-9]* "$lib"/libwsutil.so.[0-9]* "${libs[@]}"
echo "linked with --no-undefined against $(cd "$lib" && ls libwireshark.so.[0-9]* libwsutil.so.[0-9]* | paste -sd' ')"

missing=0
for symbol in plugin_version plugin_want_major plugin_want_minor plugin_register; do
  nm -D --defined-only "$obj/mtls.so" | grep -qw "$symbol" || { echo "FAIL $symbol not exported"; missing=1; }
done
[ "$missing" = 0 ] || exit 1
echo "OK Wireshark $version: compiled, linked, plugin symbols exported"
