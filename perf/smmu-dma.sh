#!/usr/bin/env bash
# Disk throughput through the SMMU against the same disks without it, measured in the same run:
#   perf/smmu-dma.sh [ROUNDS]   (default 3)
# Each round boots the shell initramfs three times, interleaved: --smmu=off, the SMMU translating (Linux's
# default DMA domain), and the SMMU bypassed (iommu.passthrough=1). Each boot has a 64 MiB virtio-blk disk and a
# 64 MiB NVMe disk and reads each whole, 64 MiB with dd bs=1M iflag=direct, REPEAT times (default 5), timed in
# the guest by /proc/uptime (10 ms resolution, hence the repetitions). Printed: MB/s of each configuration and
# device, best of the rounds, and the ratio of each to --smmu=off.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-3}"
repeat="${REPEAT:-5}"
kernel="$("$root/scripts/fetch-arm64.sh" kernel)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
initrd="$("$root/guests/initramfs/build.sh" shell "$work/initramfs.cpio.gz" --modules virtio_pci,virtio_blk)"
truncate -s 64M "$work/virtio.img" "$work/nvme.img"
"$root/jit" run --help >/dev/null   # build once, outside the timings

commands="for i in \$(seq 100); do [ -b /dev/nvme0n1 ] && [ -b /dev/vda ] && break; sleep 0.1; done
t() { a=\$(cut -d' ' -f1 /proc/uptime); for i in \$(seq $repeat); do dd if=\$1 of=/dev/null bs=1M count=64 iflag=direct 2>/dev/null; done; b=\$(cut -d' ' -f1 /proc/uptime); echo \"TP \$1 \$a \$b\"; }
t /dev/vda; t /dev/nvme0n1
poweroff -f"

source "$root/perf/best-of.sh"
declare -A best
configs=(off translated passthrough)
for r in $(seq "$rounds"); do
  for c in "${configs[@]}"; do
    case $c in
      off) opts=(--smmu=off); append="" ;;
      translated) opts=(--smmu); append="" ;;
      passthrough) opts=(--smmu); append=" iommu.passthrough=1" ;;
    esac
    echo "smmu-dma: round $r of $rounds, $c" >&2
    out=$(printf '%s\n' "$commands" | "$root/jit" run --kernel "$kernel" --initrd "$initrd" --disk "$work/virtio.img" \
      --disk "$work/nvme.img,if=nvme" --append "console=ttyAMA0 panic=-1$append" --timeout 300 "${opts[@]}" 2>&1) \
      || { echo "smmu-dma: the $c boot failed:" >&2; tail -n 20 <<<"$out" >&2; exit 2; }
    while read -r _ dev a b; do
      mbs=$(awk -v a="$a" -v b="$b" -v n="$repeat" 'BEGIN { printf "%.0f\n", n * 64 * 1.048576 / (b - a) }')
      keep_best "$c ${dev#/dev/}" "$mbs"
    done < <(grep -a '^TP ' <<<"$out" | tr -d '\r')
  done
done

print_best disk off "${configs[*]}" "vda nvme0n1"
