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
for mode in tier1=off tier1=sync,threshold=0; do
  echo "== JIT_OPTIONS=$mode"
  JIT_OPTIONS=$mode dotnet test tests/Jit.Translator.Tests -c Release --no-build
  JIT_OPTIONS=$mode dotnet test tests/Jit.Differential.Tests -c Release --no-build
  JIT_OPTIONS=$mode dotnet test tests/Jit.Hypervisor.Tests -c Release --no-build --filter 'FullyQualifiedName~Linux.LinuxBootTests'
done
perf/gates
