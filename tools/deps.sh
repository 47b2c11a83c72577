#!/usr/bin/env bash
# Installs the Debian packages lwgate needs to build, run and test. Idempotent: does nothing
# when everything is already installed. Run as root (or with sudo available).
#   tools/deps.sh          build and run (tools/run.sh), cmake --install, cpack -G DEB
#   tools/deps.sh --test   also what tools/test.sh runs; with LWGATE_QUICK=1 (tools/test.sh's
#                          quick mode, inherited from its environment) only what the regular
#                          build's tests use, not the sanitizer and fuzzing builds' compiler
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libasio-dev libssl-dev openssl
  libcoap3-dev libcoap3-bin
  libyaml-cpp-dev libspdlog-dev libcli11-dev libsqlite3-dev
  libcpp-httplib-dev nlohmann-json3-dev libsystemd-dev
  libboost-dev  # Boost.Beast/Asio (header-only): the admin API's HTTP server
  libhiredis-dev  # store.uri redis://: the cluster's shared store (hiredis's async API on Asio)
  # cpack -G DEB: dpkg-shlibdeps computes Depends, and CPackDeb refuses to run without `file`
  # (absent from a minimal Debian).
  dpkg-dev file
  libgtest-dev libgmock-dev libbenchmark-dev
)
if [[ "${1:-}" == "--test" ]]; then
  # valgrind stays in quick mode: the regular build's CTest runs bench_callgrind_smoke (lwgate
  # under callgrind, the only check of the instructions-per-request count), and that test
  # fails rather than skips without valgrind. It is the small part (about 80 MB installed,
  # one package) of what quick mode used to install; clang-14 and its runtime are the rest.
  # bash-completion: the lwgatectl completion test also runs under the real _init_completion.
  packages+=(valgrind bash-completion)
  # The man pages' test (tests/package/man_test.sh) renders them with groff and lints them with
  # mandoc; both are small.
  packages+=(groff-base mandoc)
  # The cluster's tests start their own redis-server (port 0 / a unix socket, no persistence)
  # and HAProxy in front of several instances (PROXY protocol v2).
  packages+=(redis-server haproxy)
  # promtool (Debian's prometheus package): the regular build's tests check the alert rules
  # (promtool check rules / test rules), the dashboard's queries and lwgate's real /metrics
  # (promtool check metrics): tests/integration/monitoring_test.cpp. Quick mode needs it too.
  packages+=(prometheus)
  # The admin status page's tests (tests/integration/status_page_test.cpp) load GET / in
  # headless Chromium; quick mode too, as the regular build's tests run them.
  packages+=(chromium)
  # tshark: lwgate-bench wirecost captures on loopback what keeping a device reachable costs,
  # and its smoke test (bench_wirecost_smoke) runs in the regular build.
  packages+=(tshark)
  if [[ "${LWGATE_QUICK:-0}" != "1" ]]; then
    packages+=(clang-14 libclang-rt-14-dev)  # the sanitizer and libFuzzer build (tools/test.sh steps 2, 3)
  fi
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "installing: ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
