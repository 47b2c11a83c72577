#!/usr/bin/env bash
# Installs what is missing, builds lwgate and runs it with conf/gateway.yaml (loopback).
# Extra arguments are passed to lwgate, e.g. tools/run.sh --config my.yaml
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLWGATE_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" --target lwgate
if [[ $# -eq 0 ]]; then set -- --config conf/gateway.yaml; fi
exec build/gateway/lwgate "$@"
