#!/usr/bin/env bash
# Installs the Debian packages lwgate needs to build, run and test. Idempotent: does nothing
# when everything is already installed. Run as root (or with sudo available).
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libasio-dev libssl-dev openssl
  libcoap3-dev libcoap3-bin
  libyaml-cpp-dev libspdlog-dev libcli11-dev libsqlite3-dev
  libcpp-httplib-dev nlohmann-json3-dev libsystemd-dev dpkg-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(clang-14 libclang-rt-14-dev valgrind)  # valgrind: lwgate-bench --callgrind test
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
