#!/usr/bin/env bash
# Fetches Debian arm64 packages into the Jit cache (~/.cache/jit or $JIT_CACHE) with apt-get download and
# unpacks them there. Idempotent: a package already unpacked is not fetched again.
#   scripts/fetch-arm64.sh busybox   -> $CACHE/busybox-static/bin/busybox
#   scripts/fetch-arm64.sh kernel    -> $CACHE/kernel/vmlinuz (Debian's cloud arm64 kernel)
#   scripts/fetch-arm64.sh modules   -> $CACHE/kernel/lib/modules/VERSION (that kernel's modules, from the same
#                                       linux-image package, with the modules.dep and modules.alias of depmod)
set -euo pipefail
cache="${JIT_CACHE:-$HOME/.cache/jit}"
mkdir -p "$cache"
lists="$cache/apt-lists"
apt_opts=(-oAPT::Architecture=arm64 -oAPT::Architectures=arm64 "-oDir::State::Lists=$lists"
          -oDir::Cache::pkgcache= -oDir::Cache::srcpkgcache= -oDebug::NoLocking=1)

update_lists() {
  if [ ! -f "$lists/.updated" ] || [ -n "$(find "$lists/.updated" -mmin +1440 2>/dev/null)" ]; then
    mkdir -p "$lists/partial"
    apt-get "${apt_opts[@]}" update -q >&2
    touch "$lists/.updated"
  fi
}

# download PACKAGE DIR: apt-get download into DIR and unpack with dpkg-deb. PACKAGE may be NAME=VERSION.
download() {
  local pkg="$1" dir="$2"
  update_lists
  local tmp; tmp=$(mktemp -d)
  if ! (cd "$tmp" && apt-get "${apt_opts[@]}" download -q "$pkg" >&2); then
    rm -rf "$tmp"
    return 1
  fi
  mkdir -p "$dir"
  dpkg-deb -x "$tmp"/*.deb "$dir"
  basename "$tmp"/*.deb > "$dir/.package"
  rm -rf "$tmp"
}

kdir="$cache/kernel"

# install_kernel UNPACKED: the kernel image and its modules tree from one unpacked linux-image package into
# $kdir, the modules first, so that a vmlinuz in the cache always has its own modules beside it. depmod runs
# here because the package ships no modules.dep (Debian's postinst makes it on an installed system); the
# initramfs builder and the root file system image both need it, and udev needs modules.alias.
install_kernel() {
  local unpacked="$1"
  local moddir; moddir=$(ls -d "$unpacked"/lib/modules/*/ | head -n1)
  local version; version=$(basename "$moddir")
  depmod -b "$unpacked" "$version"
  # Only this kernel's modules stay: another version's tree beside it would be taken for this one's.
  rm -rf "$kdir/lib/modules"
  mkdir -p "$kdir/lib/modules"
  mv "$unpacked/lib/modules/$version" "$kdir/lib/modules/$version"
  cp "$(ls "$unpacked"/boot/vmlinuz-* | head -n1)" "$kdir/vmlinuz.tmp"
  mv "$kdir/vmlinuz.tmp" "$kdir/vmlinuz"
  cp "$unpacked/.package" "$kdir/.package"
}

# The current ABI's image package, as the metapackage names it; the unsigned one has the same kernel and
# modules without the signed-image indirection.
fetch_current_kernel() {
  update_lists
  local image
  image=$(apt-cache "${apt_opts[@]}" depends linux-image-cloud-arm64 2>/dev/null \
          | awk '/Depends: linux-image-[0-9].*-cloud-arm64/ {print $2; exit}')
  [ -n "$image" ] || { echo "fetch-arm64: cannot resolve linux-image-cloud-arm64" >&2; exit 1; }
  local unsigned="${image%-unsigned}-unsigned"
  rm -rf "$kdir.tmp"
  download "$unsigned" "$kdir.tmp" || download "$image" "$kdir.tmp"
  install_kernel "$kdir.tmp"
  rm -rf "$kdir.tmp"
}

# A kernel cached before its modules were kept: fetch the very package it came from (.package holds the
# file name NAME_VERSION_ARCH.deb, with the epoch's colon escaped as %3a). If the archive no longer has that
# version, the kernel and its modules are replaced together by the current ones: a kernel without its own
# modules is of no use.
fetch_modules_of_cached_kernel() {
  local deb; deb=$(cat "$kdir/.package")
  local name="${deb%%_*}" rest="${deb#*_}"
  local version="${rest%_*}"; version="${version//%3a/:}"
  rm -rf "$kdir.tmp"
  if download "$name=$version" "$kdir.tmp"; then
    install_kernel "$kdir.tmp"
    rm -rf "$kdir.tmp"
  else
    echo "fetch-arm64: $name $version is no longer in the archive; fetching the current kernel and its modules" >&2
    fetch_current_kernel
  fi
}

modules_dir() {
  local d
  for d in "$kdir"/lib/modules/*/; do
    [ -f "$d/modules.dep" ] && { echo "${d%/}"; return 0; }
  done
  return 1
}

case "${1:-}" in
  busybox)
    dir="$cache/busybox-static"
    [ -x "$dir/bin/busybox" ] || download busybox-static "$dir"
    echo "$dir/bin/busybox"
    ;;
  kernel)
    [ -f "$kdir/vmlinuz" ] || fetch_current_kernel
    echo "$kdir/vmlinuz"
    ;;
  modules)
    if ! modules_dir >/dev/null; then
      if [ -f "$kdir/vmlinuz" ] && [ -f "$kdir/.package" ]; then fetch_modules_of_cached_kernel; else fetch_current_kernel; fi
    fi
    modules_dir
    ;;
  *)
    echo "usage: $0 busybox|kernel|modules" >&2
    exit 2
    ;;
esac
