#!/usr/bin/env bash
# Builds the guest initramfs (cpio "newc", gzip) from Debian's arm64 busybox-static:
#   guests/initramfs/build.sh shell|test|bench|rootfs OUTPUT [--modules NAME[,NAME...]] [--add FILE[:DEST]]...
# The busybox binary comes through scripts/fetch-arm64.sh; nothing is taken from the host system.
#
# --modules adds kernel modules from the package of the kernel that `fetch-arm64.sh kernel` gives, with
# everything they depend on (kmod's modprobe resolves them against that package's depmod data), under
# lib/modules/VERSION/ with a modules.dep of their own; /init is then init-modules, which loads them with
# busybox modprobe in the order given and runs the kind's own init. Without --modules the image holds
# exactly what it always held: the test initramfs is what the perf gates count instructions of.
# --add copies a file of the host (a static program such as guests/build/tee-client) into the image at DEST, an
# absolute path in the guest (default /bin/ and the file's name), mode kept; it may be given more than once.
# Without --add the image is byte for byte what it was.
# The rootfs kind mounts the root= disk and switches to it; it always carries the modules that find a disk on
# a virtio-pci bus (ext4 and NVMe are built into Debian's cloud kernel).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
usage="usage: build.sh shell|test|bench|rootfs OUTPUT [--modules NAME[,NAME...]] [--add FILE[:DEST]]..."
positional=()
modules=()
adds=()
while [ $# -gt 0 ]; do
  case "$1" in
    --modules) [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }; IFS=, read -r -a more <<<"$2"; modules+=("${more[@]}"); shift 2 ;;
    --modules=*) IFS=, read -r -a more <<<"${1#--modules=}"; modules+=("${more[@]}"); shift ;;
    --add) [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }; adds+=("$2"); shift 2 ;;
    --add=*) adds+=("${1#--add=}"); shift ;;
    -*) echo "build.sh: unknown option '$1'" >&2; echo "$usage" >&2; exit 2 ;;
    *) positional+=("$1"); shift ;;
  esac
done
[ ${#positional[@]} -eq 2 ] || { echo "$usage" >&2; exit 2; }
kind="${positional[0]}"
out="${positional[1]}"
case "$kind" in
  shell|test|bench) ;;
  rootfs) modules=(virtio_pci virtio_blk "${modules[@]}") ;;
  *) echo "build.sh: unknown initramfs kind '$kind'" >&2; exit 2 ;;
esac
busybox="$("$root/scripts/fetch-arm64.sh" busybox)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage" "${partial:-}"' EXIT
mkdir -p "$stage"/{bin,sbin,dev,proc,sys,tmp,root,etc,usr/bin,usr/sbin}
cp "$busybox" "$stage/bin/busybox"
chmod 755 "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"

# stage_modules NAME...: each module and what it depends on, in load order, decompressed (busybox's insmod
# reads a module file as it is), then depmod over just these so that modprobe in the guest finds them.
stage_modules() {
  local moddir; moddir="$("$root/scripts/fetch-arm64.sh" modules)"
  local version; version="$(basename "$moddir")"
  local base="${moddir%/lib/modules/*}"
  local name line path rel target
  local -A staged=() named=()
  for name in "$@"; do
    [ -n "$name" ] && [ -z "${named[$name]:-}" ] || continue
    named[$name]=1
    local plan
    if ! plan=$(modprobe -d "$base" -S "$version" --show-depends "$name" 2>/dev/null); then
      echo "build.sh: no module '$name' in the kernel package ($version, $moddir)" >&2
      exit 2
    fi
    while read -r line; do
      case "$line" in
        insmod\ *) path="${line#insmod }"; path="${path%% *}" ;;
        *) continue ;;  # "builtin NAME": part of the kernel image, nothing to load
      esac
      rel="${path#"$moddir"/}"
      target="$stage/lib/modules/$version/${rel%.xz}"
      target="${target%.gz}"; target="${target%.zst}"
      [ -z "${staged[$target]:-}" ] || continue
      staged[$target]=1
      mkdir -p "$(dirname "$target")"
      case "$path" in
        *.ko.xz) xz -dc "$path" > "$target" ;;
        *.ko.gz) gzip -dc "$path" > "$target" ;;
        *.ko.zst) zstd -qdc "$path" > "$target" ;;
        *) cp "$path" "$target" ;;
      esac
    done <<<"$plan"
    echo "$name" >> "$stage/etc/modules"
  done
  # What the kernel has built in and the build's module order, for depmod and for modprobe in the guest.
  cp "$moddir"/modules.{order,builtin,builtin.modinfo} "$stage/lib/modules/$version/"
  depmod -b "$stage" "$version"
}

if [ ${#modules[@]} -gt 0 ]; then
  stage_modules "${modules[@]}"
  cp "$here/init-modules" "$stage/init"
  cp "$here/init-$kind" "$stage/init.kind"
  chmod 755 "$stage/init" "$stage/init.kind"
else
  cp "$here/init-$kind" "$stage/init"
  chmod 755 "$stage/init"
fi
for add in "${adds[@]}"; do
  file="${add%%:*}"
  dest="/bin/$(basename "$file")"
  [ "$add" = "$file" ] || dest="${add#*:}"
  [ -f "$file" ] || { echo "build.sh: --add: no file '$file'" >&2; exit 2; }
  case "$dest" in
    /*) ;;
    *) echo "build.sh: --add: '$dest' is not an absolute path in the guest" >&2; exit 2 ;;
  esac
  mkdir -p "$stage$(dirname "$dest")"
  cp "$file" "$stage$dest"
done
mkdir -p "$(dirname "$out")"
# Owned by root, with a fixed timestamp, so the archive is reproducible (the guest sees the same files, down
# to their mtimes, which an instruction-count run would otherwise execute differently).
find "$stage" -mindepth 1 -exec touch -h -d @0 {} +
# A temporary name of its own: test suites build the same archive from several processes at once, and each
# renames a whole file into place.
partial="$(mktemp "$out.XXXXXX")"
(cd "$stage" && find . -mindepth 1 -print0 | sort -z \
  | cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) | gzip -9n > "$partial"
chmod 644 "$partial"
mv "$partial" "$out"
echo "$out"
