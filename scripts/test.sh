#!/usr/bin/env bash
# Everything CI runs: machine setup, the test guests, the Debian arm64 busybox, then every test project.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
make -s -C guests
scripts/fetch-arm64.sh busybox >/dev/null
dotnet test Jit.sln -c Release
