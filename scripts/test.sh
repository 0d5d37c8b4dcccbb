#!/usr/bin/env bash
# Everything CI runs: machine setup, the test guests, the Debian arm64 busybox, then every test project in the
# default (mixed) mode; the CPU-level suites and the Linux boots again with tier 1 off and with tier 1 forced on
# every block (threshold 0, compiled synchronously), since all three modes must agree; then the perf gates
# (perf/gates: deterministic counts and same-run ratios against perf/baseline.json).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
make -s -C guests
scripts/fetch-arm64.sh busybox >/dev/null
dotnet test Jit.sln -c Release

# In the two forced modes a guest's vCPU is the process's only busy thread (no background compiler), so each
# mode runs as two lanes side by side, one per core: the CPU suites and the disk and SMMU boots in one, the
# other Linux boots in the other (the lanes' filters are complements, so a new test lands in the second).
# With tier 1 forced, the Linux boots alone took 17 minutes one after another on a 2-core machine (every block
# compiled by RyuJIT on the vCPU thread): half of the suite's 29 minutes in CI. Each lane's output is printed
# whole when both have ended.
boots='FullyQualifiedName~Linux.LinuxBootTests'
first='(FullyQualifiedName~AnExt4Disk|FullyQualifiedName~DisksBehindTheSmmu|FullyQualifiedName~TheSmmusEvents)'
second='FullyQualifiedName!~AnExt4Disk&FullyQualifiedName!~DisksBehindTheSmmu&FullyQualifiedName!~TheSmmusEvents'
lanes=$(mktemp -d)
trap 'rm -rf "$lanes"' EXIT
for mode in tier1=off tier1=sync,threshold=0; do
  echo "== JIT_OPTIONS=$mode"
  (
    set -e
    export JIT_OPTIONS=$mode
    dotnet test tests/Jit.Translator.Tests -c Release --no-build
    dotnet test tests/Jit.Differential.Tests -c Release --no-build
    dotnet test tests/Jit.Hypervisor.Tests -c Release --no-build --filter "$boots&$first"
  ) >"$lanes/a.log" 2>&1 &
  a=$!
  (
    set -e
    export JIT_OPTIONS=$mode
    dotnet test tests/Jit.Hypervisor.Tests -c Release --no-build --filter "$boots&$second"
  ) >"$lanes/b.log" 2>&1 &
  b=$!
  failed=0
  wait $a || failed=1
  wait $b || failed=1
  for lane in a b; do
    echo "-- lane $lane"
    cat "$lanes/$lane.log"
  done
  [ $failed = 0 ] || { echo "test.sh: a test lane failed with JIT_OPTIONS=$mode" >&2; exit 1; }
done
perf/gates
