#!/usr/bin/env bash
# Prepares a Debian/Ubuntu machine for building, running and testing Jit. Idempotent: it installs only the
# packages that are not installed, and refreshes the package lists only when something has to be installed.
#
# Every package the project needs is named below, Recommends included: installs use --no-install-recommends,
# so a package that is only recommended by another one is not there on a fresh machine unless it is listed
# (scripts/check-fresh.sh proves that in a clean root file system).
# The .NET SDK must already be installed (see global.json for the version).
set -euo pipefail

packages=(
  # The aarch64 cross toolchain that builds the test guests; the C library headers are only a Recommends of
  # the compiler.
  gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross
  # The oracles: qemu-aarch64 (differential instruction tests) and qemu-system-aarch64 (the benchmark peer).
  qemu-user qemu-system-arm
  # dtc decodes the generated device trees in tests.
  device-tree-compiler
  make
  # perf/gates reads and writes its JSON figures.
  jq
  # cpio and gzip pack the guest initramfs (guests/initramfs/build.sh).
  cpio gzip
  # apt-get download and dpkg-deb fetch the arm64 kernel and busybox (scripts/fetch-arm64.sh).
  apt dpkg ca-certificates
  # stty puts the terminal in raw mode for ./jit boot's console; timeout bounds the benchmark scripts.
  coreutils
  # qemu-img makes and checks the qcow2 images the disk tests read and write.
  qemu-utils
  # depmod resolves the dependencies of the kernel modules an initramfs carries (the kernel package has no
  # modules.dep).
  kmod
  # The Debian root file system image (scripts/make-rootfs.sh): mmdebstrap builds it, qemu-user-static runs the
  # arm64 maintainer scripts through binfmt_misc (binfmt-support registers it, arch-test checks it works; both
  # only Recommends), mke2fs makes the ext4 image.
  mmdebstrap qemu-user-static binfmt-support arch-test e2fsprogs
  # ssh-keygen makes the image's root key; ssh logs into the image in tests.
  openssh-client
  # ip addresses the host side of a domain's TAP interface in the network tests.
  iproute2
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q >&2
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "setup: the .NET SDK is missing: install .NET 10 (dotnet-sdk-10.0) and run this again" >&2
  exit 1
fi
major=$(dotnet --version 2>/dev/null | cut -d. -f1)
if [ -z "$major" ] || [ "$major" -lt 10 ]; then
  echo "setup: .NET SDK 10 or newer is needed, found '$(dotnet --version 2>/dev/null)'" >&2
  exit 1
fi
