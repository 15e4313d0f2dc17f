#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# chroot.sh: build and test the plugin against another Debian suite's Wireshark,
# in a chroot of that suite.
#
#   scripts/chroot.sh SUITE [ctest arguments...]
#       SUITE: bookworm (Wireshark 4.0), trixie (4.4) or sid (4.6)
#   scripts/chroot.sh SUITE --shell      a root shell in the chroot, source mounted
#
# 1. Reuses the cached chroot $MTLS_CHROOT_CACHE/SUITE, or makes it with mmdebstrap
#    (Debian package; installed with apt-get when missing) with the packages
#    scripts/setup.sh installs. Only a chroot that was made completely is cached.
# 2. In a private mount namespace (every mount disappears with this script, and a
#    trap unmounts them too): mounts /proc, /dev and /sys in the chroot and the
#    source, read-only, at /src.
# 3. Builds the plugin there with the project's CMake and -Werror
#    (scripts/setup.sh) into /build, outside the source.
# 4. Builds the .deb (cpack -G DEB), installs it with dpkg and checks that
#    `tshark -G plugins` (as root, so without WIRESHARK_PLUGIN_DIR: the system
#    plugin folder) lists mtls.so from that folder; then removes the package again.
#    The .deb is copied to $MTLS_CHROOT_OUT (default: <cache>/SUITE.out).
# 5. Runs `ctest --output-on-failure ARGS...` in /build (no ARGS: every test).
#
# Exit status: 0 all passed; 1 a step or a test failed; 2 usage;
# 77 SKIPPED: the chroot cannot be made (no mmdebstrap, no Debian archive), printed
# loudly. scripts/test.sh reports that as skipped, never as passed.
#
# Env: MTLS_CHROOT_CACHE   where chroots are kept (default /var/cache/mtls-chroots)
#      MTLS_CHROOT_MIRROR  Debian mirror (default http://deb.debian.org/debian)
#      MTLS_CHROOT_FRESH=1 make the chroot anew even when one is cached
#      MTLS_CHROOT_OUT     where the .deb is copied (default <cache>/SUITE.out)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
suite=${1:-}
case $suite in
  bookworm | trixie | sid) shift ;;
  *)
    echo "usage: scripts/chroot.sh bookworm|trixie|sid [ctest arguments... | --shell]" >&2
    exit 2
    ;;
esac
cache=${MTLS_CHROOT_CACHE:-/var/cache/mtls-chroots}
mirror=${MTLS_CHROOT_MIRROR:-http://deb.debian.org/debian}
out=${MTLS_CHROOT_OUT:-$cache/$suite.out}
root=$cache/$suite
SKIPPED=77

skip() {
  echo "#################################################################" >&2
  echo "### SKIPPED: Debian $suite: $*" >&2
  echo "### Nothing was built or tested against this suite's Wireshark." >&2
  echo "#################################################################" >&2
  exit "$SKIPPED"
}

[ "$(id -u)" = 0 ] || { echo "chroot.sh: must run as root (chroot, mounts)" >&2; exit 2; }

# The packages: scripts/setup.sh's list, so the chroot has what the host has.
read -r -a packages <<<"$(sed -n '/^packages=(/,/)/p' "$repo/scripts/setup.sh" |
  tr -d '()' | sed 's/^packages=//' | tr -s ' \n' ' ')"
[ ${#packages[@]} -gt 3 ] || { echo "chroot.sh: cannot read the package list of scripts/setup.sh" >&2; exit 1; }
wanted="${packages[*]}"

# --- 1. the chroot --------------------------------------------------------------
make_chroot() {
  if ! command -v mmdebstrap >/dev/null; then
    echo "chroot.sh: installing mmdebstrap"
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mmdebstrap; } \
      </dev/null >/dev/null 2>&1 || skip "mmdebstrap is not installed and apt-get cannot install it"
  fi
  mkdir -p "$cache"
  rm -rf "$root.new"
  local started=$SECONDS log=$cache/$suite.log
  echo "chroot.sh: making the $suite chroot with mmdebstrap (log: $log)"
  # Check-Valid-Until: sid's Release file expires within days; a mirror that lags
  # must not make the chroot impossible. The packages are still signature-checked.
  # mmdebstrap installs non-interactively: the dumpcap question keeps its default (no).
  if ! mmdebstrap --variant=apt --components=main \
      --aptopt='Acquire::Check-Valid-Until "false"' \
      --aptopt='Acquire::Languages "none"' \
      --include="$(IFS=,; echo "${packages[*]}")" \
      "$suite" "$root.new" "$mirror" </dev/null >"$log" 2>&1; then
    rm -rf "$root.new"
    tail -n 5 "$log" >&2
    skip "mmdebstrap could not make the chroot from $mirror (see $log)"
  fi
  printf '%s\n' "$wanted" >"$root.new/.mtls-packages"
  rm -rf "$root"
  mv "$root.new" "$root"
  echo "chroot.sh: made the $suite chroot in $((SECONDS - started)) s"
}

# A cached chroot whose package list is older than setup.sh's gets the missing ones
# with apt-get; if that fails it is made anew.
update_chroot() {
  echo "chroot.sh: the package list changed; installing into the cached $suite chroot"
  chroot "$root" env DEBIAN_FRONTEND=noninteractive sh -c \
    "apt-get -q update && apt-get install -y -q --no-install-recommends $wanted" \
    </dev/null >"$cache/$suite.update.log" 2>&1 &&
    printf '%s\n' "$wanted" >"$root/.mtls-packages"
}

if [ "${MTLS_CHROOT_FRESH:-0}" = 1 ] || [ ! -f "$root/.mtls-packages" ]; then
  make_chroot
elif [ "$(cat "$root/.mtls-packages")" != "$wanted" ]; then
  update_chroot || make_chroot
else
  echo "chroot.sh: reusing the $suite chroot $root"
fi

# --- 2. mounts, in a private mount namespace --------------------------------------
if [ "${MTLS_CHROOT_NS:-}" != 1 ]; then
  # Re-run inside a new mount namespace: nothing mounted below can outlive us.
  exec env MTLS_CHROOT_NS=1 unshare --mount --propagation private \
    bash "${BASH_SOURCE[0]}" "$suite" "$@"
fi

mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount -l "${mounted[i]}" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mount_in() { # mount_in TARGET mount-arguments...
  local target=$1
  shift
  mkdir -p "$target"
  mount "$@" "$target"
  mounted+=("$target")
}
mount_in "$root/proc" -t proc proc
mount_in "$root/sys" -t sysfs sysfs
mount_in "$root/dev" --rbind /dev
mount --make-rslave "$root/dev"
mount_in "$root/src" --bind "$repo"
mount -o remount,bind,ro "$root/src"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

in_chroot() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

if [ "${1:-}" = --shell ]; then
  in_chroot bash -l
  exit $?
fi

ws_version=$(in_chroot dpkg-query -W -f='${Version}' libwireshark-dev)
echo "chroot.sh: Debian $suite, libwireshark-dev $ws_version"

# --- 3. build -----------------------------------------------------------------------
# A fresh build tree each run: the chroot caches packages, not builds.
rm -rf "$root/build"
in_chroot env MTLS_BUILD_DIR=/build bash /src/scripts/setup.sh || {
  echo "FAIL build against Debian $suite's Wireshark $ws_version" >&2
  exit 1
}

# --- 4. the .deb: build, install, load from the system plugin folder, remove ----------
status=0
in_chroot bash -c 'cd /build && cpack -G DEB' || { echo "FAIL cpack -G DEB in $suite" >&2; exit 1; }
deb=$(cd "$root/build" && ls wireshark-plugin-mtls_*.deb | head -n1)
mkdir -p "$out"
cp "$root/build/$deb" "$out/"
echo "chroot.sh: built $deb ($(in_chroot dpkg-deb -f "/build/$deb" Depends))"
in_chroot dpkg -i "/build/$deb" >/dev/null || { echo "FAIL dpkg -i $deb in $suite" >&2; exit 1; }
line=$(in_chroot tshark -G plugins | awk -F'\t' '$1 ~ /^mtls\.so/' | head -n1)
system_dir=$(in_chroot dpkg -L wireshark-plugin-mtls | grep '/mtls\.so$' | head -n1)
if [ -n "$line" ] && [ "$(printf '%s' "$line" | awk -F'\t' '{print $NF}')" = "$system_dir" ]; then
  echo "ok   $deb installed; tshark -G plugins lists $system_dir"
else
  echo "FAIL $deb installed as $system_dir, but tshark -G plugins lists: ${line:-no mtls.so}" >&2
  status=1
fi
in_chroot dpkg --purge wireshark-plugin-mtls >/dev/null

# cmake --install: the personal plugin folder (the default) is the one this tshark
# reads (`tshark -G folders`, "Personal Plugins", plus /epan). Into a DESTDIR, so
# nothing stays installed.
personal=$(in_chroot tshark -G folders 2>/dev/null | awk -F'\t' '/^Personal Plugins:/ {print $2}')
rm -rf "$root/tmp/mtls-install"
if in_chroot env DESTDIR=/tmp/mtls-install cmake --install /build >/dev/null &&
   [ -n "$personal" ] && [ -f "$root/tmp/mtls-install$personal/epan/mtls.so" ]; then
  echo "ok   cmake --install puts mtls.so into tshark's personal plugin folder $personal/epan"
else
  echo "FAIL cmake --install: no mtls.so in tshark's personal plugin folder ${personal:-?}/epan:" >&2
  (cd "$root/tmp/mtls-install" 2>/dev/null && find . -name mtls.so) >&2
  status=1
fi
rm -rf "$root/tmp/mtls-install"

# --- 5. tests ------------------------------------------------------------------------
in_chroot bash -c 'cd /build && ctest --output-on-failure "$@" </dev/null' ctest "$@" || status=1
exit "$status"
