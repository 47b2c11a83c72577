#!/usr/bin/env bash
# Installs what is missing, builds lwgate, lwgatectl and the simulators, and runs lwgate with
# conf/gateway.yaml on loopback. With the default configuration it also starts the demo core
# (tools/coresim: an LwM2M server simulator on udp://127.0.0.1:5685, log in build/demo-core.log)
# so that devices have a server to register with; set LWGATE_DEMO_CORE=0 to skip it.
# Extra arguments are passed to lwgate, e.g. tools/run.sh --config my.yaml
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target lwgate lwgatectl lwm2m-core-sim lwm2m-device-sim
if [[ $# -eq 0 ]]; then
  set -- --config conf/gateway.yaml
  if [[ "${LWGATE_DEMO_CORE:-1}" == "1" ]]; then
    build/tools/coresim/lwm2m-core-sim --port 5685 </dev/null >build/demo-core.log 2>&1 &
    core_pid=$!
    trap 'kill "$core_pid" 2>/dev/null || true' EXIT
    echo "demo core: udp://127.0.0.1:5685 (pid $core_pid, log build/demo-core.log)"
  fi
fi
build/gateway/lwgate "$@"
