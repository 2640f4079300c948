#!/usr/bin/env bash
# Builds the project and runs everything CI gates on:
#   1. the GoogleTest suite (ctest) of a Release build,
#   2. natten-check against upstream NATTEN's reference file (when ../shared is present),
#   3. the same suite built with AddressSanitizer + UndefinedBehaviorSanitizer,
#   4. the arm64 cross build under qemu-user (scripts/test-arm64.sh) and the clang-16 + libc++
#      build of everything with its tests (scripts/test-libcxx.sh); each installs its own extras.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc)

echo "== release build and tests"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"

refs=../shared/natten-refs
if [ -f "$refs/natten-refs-v1.h5" ]; then
  echo "== natten-check: parity with upstream NATTEN, every available backend"
  build/apps/natten-check/natten-check "$refs/natten-refs-v1.h5" -q --json build/natten-check.json
  build/apps/natten-check/natten-check "$refs/natten-split-refs-v1.h5" -q --json build/natten-check-split.json
else
  echo "== natten-check: $refs/natten-refs-v1.h5 not found beside the checkout; parity run skipped"
fi

echo "== natten-bench CI guard (quick set against the committed, machine-independent baseline)"
build/apps/natten-bench/natten-bench --config configs/ci-quick.ini --threads 1 --min-time 0.05 --max-time 0.15 -q \
  --baseline configs/ci-baseline.json --guard peak,reference --guard-stat min --max-slowdown 2

echo "== sanitizer build (ASan + UBSan) and tests"
# -O1 -g1: sanitizers need some optimization to run the suite quickly and line tables for their
# reports, but full debug info of the SIMD kernels would double the build time.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
  -DNATTEN_SANITIZE=ON -DNATTEN_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build-asan -j "$jobs"
NATTEN_TEST_QUICK=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j "$jobs"

bash scripts/test-arm64.sh
bash scripts/test-libcxx.sh
