#!/usr/bin/env bash
# Builds the project and runs everything CI gates on:
#   1. the GoogleTest suite (ctest) of a Release build,
#   2. natten-check against upstream NATTEN's reference files (tests/data/upstream, and ../shared
#      when present), every available backend,
#   3. the performance guard (scripts/ci-guard.sh: instruction counts, the same on every machine),
#   4. the same suite built with AddressSanitizer + UndefinedBehaviorSanitizer,
#   5. the arm64 cross build under qemu-user (scripts/test-arm64.sh) and the clang-16 + libc++
#      build of everything with its tests (scripts/test-libcxx.sh); each installs its own extras.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc)
# Each stage says when it starts (seconds since the start): the CI time budget at a glance.
stage() { echo "== $* [${SECONDS} s]"; }

stage "release build and tests"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"

# Upstream NATTEN's reference files: the ones shipped in tests/data/upstream (always), and the
# shared ones beside the checkout when present.
stage "natten-check: parity with upstream NATTEN, every available backend, every reference file"
refs=(tests/data/upstream/*.h5)
for f in ../shared/natten-refs/natten-refs-v1.h5 ../shared/natten-refs/natten-split-refs-v1.h5; do
  if [ -f "$f" ]; then refs+=("$f"); else echo "   ($f not found beside the checkout: not checked)"; fi
done
for f in "${refs[@]}"; do
  echo "   $f"
  build/apps/natten-check/natten-check "$f" -q --json "build/natten-check-$(basename "$f" .h5).json"
done

stage "performance guard"
bash scripts/ci-guard.sh build

stage "sanitizer build (ASan + UBSan) and tests"
# -O1 -g1: sanitizers need some optimization to run the suite quickly and line tables for their
# reports, but full debug info of the SIMD kernels would double the build time.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
  -DNATTEN_SANITIZE=ON -DNATTEN_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build-asan -j "$jobs"
NATTEN_TEST_QUICK=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j "$jobs"

stage "arm64 cross build under qemu"
bash scripts/test-arm64.sh
stage "clang-16 + libc++ build and tests"
bash scripts/test-libcxx.sh
stage "all stages passed"
