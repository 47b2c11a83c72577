#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test:
#   1. RelWithDebInfo build: unit + integration tests (CTest)
#   2. clang-14 ASan/UBSan build: the same tests again (the integration tests also fail on any
#      sanitizer report in the gateway's log)
#   3. the libFuzzer targets of that same build, each for a bounded time (FUZZ_SECONDS, default 10)
# Each step prints the seconds spent so far: the whole run must stay within CI's 30 minutes.
# Set LWGATE_QUICK=1 to run only step 1.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh --test
jobs=$(nproc)
fuzz_seconds=${FUZZ_SECONDS:-10}

echo "== build and test (RelWithDebInfo)"
# -g1 (line tables, no local variables): enough for backtraces, perf, callgrind and the
# sanitizers' reports, and about a third less compile time than -g, most of CI's 30 minutes.
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLWGATE_BUILD_TESTS=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest -j"$jobs" --output-on-failure --timeout 300)

if [[ "${LWGATE_QUICK:-0}" == "1" ]]; then exit 0; fi

# One clang build serves both the sanitizer run and the fuzzers: every object carries ASan, UBSan
# and libFuzzer's coverage hooks (fuzzer-no-link), so the tests and the fuzz targets link against the
# same libraries and CI compiles the code three times no more (the compile is most of its time).
echo "== build and test (clang-14: ASan + UBSan) (${SECONDS}s so far)"
CC=clang-14 CXX=clang++-14 cmake -S . -B build-san -DCMAKE_BUILD_TYPE=Debug -DLWGATE_SANITIZE=ON \
  -DLWGATE_FUZZ=ON -DLWGATE_BUILD_TESTS=ON -DCMAKE_CXX_FLAGS="-O1 -fsanitize=fuzzer-no-link" \
  -DCMAKE_CXX_FLAGS_DEBUG="-g1" >/dev/null
cmake --build build-san -j"$jobs"
# Without the bench-smoke label: those are load runs timed by the clock (under ASan they measure
# nothing), and the paths they drive are the integration tests' too, which do run here.
(cd build-san && ASAN_OPTIONS=detect_leaks=1 ctest -j"$jobs" --output-on-failure --timeout 300 -LE bench-smoke)

echo "== fuzz (${fuzz_seconds}s per target) (${SECONDS}s so far)"
for src in tests/fuzz/*_fuzz.cpp; do
  name=$(basename "$src" .cpp)
  corpus="tests/fuzz/corpus/${name%_fuzz}"
  work=$(mktemp -d)
  cp -r "$corpus"/. "$work"/ 2>/dev/null || true
  ./build-san/tests/fuzz/"$name" -max_total_time="$fuzz_seconds" -print_final_stats=1 "$work" 2>&1 | tail -n 12
  rm -rf "$work"
done
echo "== all tests passed in ${SECONDS}s"
