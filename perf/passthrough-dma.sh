#!/usr/bin/env bash
# Disk throughput of an assigned PCI device (xl.cfg pci) through the domU's SMMU against the same device in a domU
# without one (jit_smmu = 0), measured in the same run:
#   perf/passthrough-dma.sh [ROUNDS]   (default 3; MB=N for the size, default 256)
# One hypervisor (a private state folder) holds one host virtio-blk device (--pci-device, a sparse raw image).
# Each round creates three domUs in turn, each given the device by its configuration and destroyed when it powers
# off, which returns the device to the pool, reset: "off" (jit_smmu = 0), "translated" (the SMMU translating,
# Linux's default DMA domain) and "passthrough" (iommu.passthrough=1: the SMMU bypassing). Each boots the bench
# initramfs, which writes and then reads MB MiB of /dev/vda with dd bs=1M oflag/iflag=direct, timed in the guest.
# Printed: MB/s of each configuration and direction, best of the rounds, and the ratio of each to "off".
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-3}"
mb="${MB:-256}"
kernel="$("$root/scripts/fetch-arm64.sh" kernel)"
work="$(mktemp -d)"
export JIT_STATE="$work/state"
trap '"$root/jit" hypervisor stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
initrd="$("$root/guests/initramfs/build.sh" bench "$work/initramfs.cpio.gz" --modules virtio_pci,virtio_blk)"
truncate -s "$((mb + 1))M" "$work/disk.img"
"$root/jit" hypervisor start --pci-device "disk=$work/disk.img" >&2

source "$root/perf/best-of.sh"
declare -A best
configs=(off translated passthrough)
for r in $(seq "$rounds"); do
  for c in "${configs[@]}"; do
    case $c in
      off) smmu=0; append="" ;;
      translated) smmu=1; append="" ;;
      passthrough) smmu=1; append=" iommu.passthrough=1" ;;
    esac
    name="$c-$r"
    cat > "$work/$name.cfg" <<CFG
name = "$name"
kernel = "$kernel"
ramdisk = "$initrd"
memory = 256
cmdline = "console=ttyAMA0 panic=-1 benchrun=disk benchdiskmb=$mb$append"
jit_smmu = $smmu
pci = [ '01:00.0' ]
CFG
    echo "passthrough-dma: round $r of $rounds, $c" >&2
    "$root/jit" xl create "$work/$name.cfg" >/dev/null
    log="$JIT_STATE/console/guest-$name.log"
    for _ in $(seq 600); do
      "$root/jit" xl list "$name" >/dev/null 2>&1 || break
      sleep 0.5
    done
    line=$(grep -a '^bench disk ' "$log" | tr -d '\r' || true)
    if [[ "$line" != *"written=$mb readback=$mb"* ]]; then
      echo "passthrough-dma: the $c domU did not move $mb MiB each way:" >&2; tail -n 20 "$log" >&2; exit 2
    fi
    for dir in write read; do
      s=$(sed -n "s/.* $dir=\([0-9.]*\).*/\1/p" <<<"$line")
      mbs=$(awk -v s="$s" -v n="$mb" 'BEGIN { printf "%.0f\n", n * 1.048576 / s }')
      keep_best "$c $dir" "$mbs"
    done
  done
done
[ "$("$root/jit" xl pci-assignable-list)" = "0000:01:00.0" ] || { echo "passthrough-dma: the device is not back in the pool" >&2; exit 2; }

print_best dir off "${configs[*]}" "write read"
