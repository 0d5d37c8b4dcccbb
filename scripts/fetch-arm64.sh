#!/usr/bin/env bash
# Fetches Debian arm64 packages into the Jit cache (~/.cache/jit or $JIT_CACHE) with apt-get download and
# unpacks them there. Idempotent: a package already unpacked is not fetched again.
#   scripts/fetch-arm64.sh busybox   -> $CACHE/busybox-static/bin/busybox
#   scripts/fetch-arm64.sh kernel    -> $CACHE/kernel/vmlinuz (Debian's cloud arm64 kernel)
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

# download PACKAGE DIR: apt-get download into DIR and unpack with dpkg-deb.
download() {
  local pkg="$1" dir="$2"
  update_lists
  local tmp; tmp=$(mktemp -d)
  (cd "$tmp" && apt-get "${apt_opts[@]}" download -q "$pkg" >&2)
  mkdir -p "$dir"
  dpkg-deb -x "$tmp"/*.deb "$dir"
  basename "$tmp"/*.deb > "$dir/.package"
  rm -rf "$tmp"
}

case "${1:-}" in
  busybox)
    dir="$cache/busybox-static"
    [ -x "$dir/bin/busybox" ] || download busybox-static "$dir"
    echo "$dir/bin/busybox"
    ;;
  kernel)
    dir="$cache/kernel"
    if [ ! -f "$dir/vmlinuz" ]; then
      update_lists
      # The metapackage names the current ABI's image package.
      image=$(apt-cache "${apt_opts[@]}" depends linux-image-cloud-arm64 2>/dev/null \
              | awk '/Depends: linux-image-[0-9].*-cloud-arm64/ {print $2; exit}')
      [ -n "$image" ] || { echo "fetch-arm64: cannot resolve linux-image-cloud-arm64" >&2; exit 1; }
      unsigned="${image%-unsigned}"; unsigned="${unsigned}-unsigned"
      rm -rf "$dir.tmp"
      download "$unsigned" "$dir.tmp" || download "$image" "$dir.tmp"
      mkdir -p "$dir"
      cp "$(ls "$dir.tmp"/boot/vmlinuz-* | head -n1)" "$dir/vmlinuz"
      cp "$dir.tmp/.package" "$dir/.package"
      rm -rf "$dir.tmp"
    fi
    echo "$dir/vmlinuz"
    ;;
  *)
    echo "usage: $0 busybox|kernel" >&2
    exit 2
    ;;
esac
