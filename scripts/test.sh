#!/usr/bin/env bash
# Builds the project and runs everything CI gates on:
#   1. the GoogleTest suite (ctest) of a Release build,
#   2. natten-check against upstream NATTEN's reference file (when ../shared is present),
#   3. the same suite built with AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc)

echo "== release build and tests"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"

echo "== sanitizer build (ASan + UBSan) and tests"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNATTEN_SANITIZE=ON \
  -DNATTEN_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build-asan -j "$jobs"
NATTEN_TEST_QUICK=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j "$jobs"
