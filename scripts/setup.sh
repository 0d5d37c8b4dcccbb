#!/usr/bin/env bash
# Prepares a Debian/Ubuntu machine for building, running and testing Jit. Idempotent: it installs only what is
# missing, and refreshes the package lists only when something has to be installed.
#   - the aarch64 cross toolchain (builds the test guests)
#   - qemu-user and qemu-system-arm (reference and benchmark peer)
#   - device-tree-compiler, make
#   - jq (perf/gates reads and writes its JSON figures)
# The .NET SDK must already be installed (see global.json for the version).
set -euo pipefail

missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu
need aarch64-linux-gnu-objdump binutils-aarch64-linux-gnu
need qemu-aarch64 qemu-user
need qemu-system-aarch64 qemu-system-arm
need dtc device-tree-compiler
need make make
need jq jq
# cpio and gzip pack the guest initramfs (guests/initramfs/build.sh).
need cpio cpio
need gzip gzip
# apt-get download/dpkg-deb fetch the arm64 kernel and busybox (scripts/fetch-arm64.sh).
need dpkg-deb dpkg

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
