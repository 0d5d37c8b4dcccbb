#!/usr/bin/env bash
# Everything CI runs: machine setup, the test guests, the Debian arm64 busybox, every test project, then the
# perf gates (perf/gates: deterministic counts and same-run ratios against perf/baseline.json).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
make -s -C guests
scripts/fetch-arm64.sh busybox >/dev/null
dotnet test Jit.sln -c Release
perf/gates
