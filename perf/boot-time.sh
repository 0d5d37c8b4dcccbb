#!/usr/bin/env bash
# Wall time from start to BOOT-OK for Jit and for QEMU's TCG on the same kernel and initramfs, runs
# interleaved (Jit, QEMU, Jit, QEMU, ...), medians printed.   perf/boot-time.sh [RUNS] [extra jit options]
# Also each one's start-up, which every boot figure includes: the whole process (./jit with its build check)
# for guests/build/sys-exceptions.elf, a system guest that runs 19,000 instructions and powers off.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
runs="${1:-3}"; shift || true
kernel="$("$root/scripts/fetch-arm64.sh" kernel)"
cache="${JIT_CACHE:-$HOME/.cache/jit}"
initrd="$("$root/guests/initramfs/build.sh" test "$cache/initramfs-test.cpio.gz")"
make -s -C "$root/guests" sys-exceptions
small="$root/guests/build/sys-exceptions.elf"
"$root/jit" run --help >/dev/null   # build once, outside the timings

# time_to_marker CMD...: seconds until BOOT-OK appears on stdout (the guest then powers off by itself).
time_to_marker() {
  local start end
  start=$(date +%s.%N)
  if ! "$@" 2>/dev/null | grep -q -m1 BOOT-OK; then echo "fail"; return; fi
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f\n", b - a }'
}

# time_to_exit CMD...: seconds until the command has exited, by bash's own clock (no process of its own).
time_to_exit() {
  local start=$EPOCHREALTIME
  if ! "$@" >/dev/null 2>&1; then echo "fail"; return; fi
  awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f\n", b - a }'
}

jit=(); qemu=(); jit_start=(); qemu_start=()
for i in $(seq "$runs"); do
  jit+=("$(time_to_marker "$root/jit" run --kernel "$kernel" --initrd "$initrd" --append "console=ttyAMA0 panic=-1" --timeout 600 "$@")")
  qemu+=("$(time_to_marker timeout 600 qemu-system-aarch64 -M virt,gic-version=3 -cpu cortex-a57 -m 512 -nographic -nic none \
        -kernel "$kernel" -initrd "$initrd" -append "console=ttyAMA0 panic=-1" -no-reboot)")
  jit_start+=("$(time_to_exit "$root/jit" run --kernel "$small" --smp 1 --timeout 60 "$@")")
  qemu_start+=("$(time_to_exit timeout 60 qemu-system-aarch64 -M virt,gic-version=3 -cpu cortex-a57 -smp 1 -nographic -nic none \
        -kernel "$small")")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
printf 'jit  runs: %s\n' "${jit[*]}"
printf 'qemu runs: %s\n' "${qemu[*]}"
jm=$(median "${jit[@]}"); qm=$(median "${qemu[@]}")
awk -v j="$jm" -v q="$qm" 'BEGIN { printf "median to BOOT-OK: jit %.2f s, qemu-system-aarch64 %.2f s, ratio %.2f\n", j, q, j / q }'
printf 'jit  start-up runs: %s\n' "${jit_start[*]}"
printf 'qemu start-up runs: %s\n' "${qemu_start[*]}"
jm=$(median "${jit_start[@]}"); qm=$(median "${qemu_start[@]}")
awk -v j="$jm" -v q="$qm" 'BEGIN { printf "median start-up (sys-exceptions.elf, whole process): jit %.3f s, qemu-system-aarch64 %.3f s, ratio %.2f\n", j, q, j / q }'
