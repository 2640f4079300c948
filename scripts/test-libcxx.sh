#!/usr/bin/env bash
# The Apple-like toolchain on Linux: clang-16 with LLVM's libc++ (as Apple clang) builds the whole
# project (library, apps, tests) warning-free (-Werror) and passes the test suite, so code that
# needs libstdc++ or a GNU extension fails here before it reaches a Mac. Dependencies compiled
# against libstdc++ stay out of libc++ code: fmt header-only, GoogleTest from Debian's sources
# (/usr/src/googletest), no google-benchmark micro-benchmarks. Highway's and HDF5's compiled
# libraries have C-like interfaces and are linked as they are.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/build-common.sh

bash scripts/install-deps.sh libcxx >/dev/null

echo "== clang-16 + libc++ build (library, apps, tests) and tests"
natten_configure build-libcxx -DCMAKE_BUILD_TYPE=Release -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/clang16-libcxx.cmake \
  -DNATTEN_FMT_HEADER_ONLY=ON -DNATTEN_GTEST_SOURCE_DIR=/usr/src/googletest -DNATTEN_BUILD_BENCHMARKS=OFF
natten_build build-libcxx
natten_ctest build-libcxx
