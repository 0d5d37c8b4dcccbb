#!/usr/bin/env bash
# Interpreter speed on an integer workload: guests/crc in its long build (crc-long: ten times the work, so
# qemu's run outlasts its start-up) under `./jit run --bare`, and its Linux build under qemu-aarch64,
# interleaved so both see the same machine load, RUNS times each (default 3).
# Prints Jit's guest MIPS and both wall times per run, then the medians and the ratio.
# qemu-user does not count instructions; its MIPS figure reuses Jit's count for the same work (the Linux
# build adds only libc start-up), so read it as an estimate.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${RUNS:-3}"
[ "$runs" -ge 1 ] || { echo "RUNS must be at least 1" >&2; exit 2; }

make -s -C guests crc
./jit help >/dev/null

now() { date +%s%N; }
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
expected=$(qemu-aarch64 guests/build/crc-long-linux)

printf '%-4s %12s %10s %12s %12s\n' run instructions "jit MIPS" "jit wall s" "qemu wall s"
for i in $(seq "$runs"); do
  t0=$(now)
  ./jit run --bare guests/build/crc-long.elf >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
  t1=$(now)
  qemu-aarch64 guests/build/crc-long-linux >"$tmp/qout"
  t2=$(now)
  if [ "$(cat "$tmp/out")" != "$expected" ] || [ "$(cat "$tmp/qout")" != "$expected" ]; then
    echo "results differ: jit '$(cat "$tmp/out")', qemu '$(cat "$tmp/qout")', expected '$expected'" >&2
    exit 1
  fi
  # stderr line: "jit: 1,234 instructions in 0.123 s, 10.0 MIPS"
  stats=$(grep -E '^jit: [0-9,]+ instructions' "$tmp/err")
  insns=$(echo "$stats" | awk '{ gsub(",", "", $2); print $2 }')
  mips=$(echo "$stats" | awk '{ print $(NF-1) }')
  jwall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
  qwall=$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
  printf '%-4s %12s %10s %12s %12s\n' "$i" "$insns" "$mips" "$jwall" "$qwall"
  echo "$mips" >>"$tmp/mips"; echo "$jwall" >>"$tmp/jwall"; echo "$qwall" >>"$tmp/qwall"
done

m_mips=$(median <"$tmp/mips"); m_j=$(median <"$tmp/jwall"); m_q=$(median <"$tmp/qwall")
echo "result: $expected"
awk -v mips="$m_mips" -v j="$m_j" -v q="$m_q" -v n="$insns" 'BEGIN {
  printf "median: jit %.1f MIPS, jit %.3f s wall (process), qemu-aarch64 %.3f s wall (~%.0f MIPS)\n", mips, j, q, n / q / 1e6
  printf "jit/qemu wall-time ratio: %.1fx\n", j / q
}'
