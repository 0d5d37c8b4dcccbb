#!/usr/bin/env bash
# Builds the guest initramfs (cpio "newc", gzip) from Debian's arm64 busybox-static:
#   guests/initramfs/build.sh shell|test|bench OUTPUT
# The busybox binary comes through scripts/fetch-arm64.sh; nothing is taken from the host system.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
kind="${1:?usage: build.sh shell|test|bench OUTPUT}"
out="${2:?usage: build.sh shell|test|bench OUTPUT}"
case "$kind" in shell|test|bench) ;; *) echo "build.sh: unknown initramfs kind '$kind'" >&2; exit 2 ;; esac
busybox="$("$root/scripts/fetch-arm64.sh" busybox)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,sbin,dev,proc,sys,tmp,root,etc,usr/bin,usr/sbin}
cp "$busybox" "$stage/bin/busybox"
chmod 755 "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
cp "$here/init-$kind" "$stage/init"
chmod 755 "$stage/init"
mkdir -p "$(dirname "$out")"
# Owned by root, with a fixed timestamp, so the archive is reproducible (the guest sees the same files, down
# to their mtimes, which an instruction-count run would otherwise execute differently).
find "$stage" -mindepth 1 -exec touch -h -d @0 {} +
(cd "$stage" && find . -mindepth 1 -print0 | sort -z \
  | cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) | gzip -9n > "$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
