#!/usr/bin/env bash
# arm64 (the CPUs of Apple Silicon Macs), tested on x86-64: cross-builds the library, both apps and
# the cpu backend's test suites (target natten_cpu_tests, label `cpu`) with Debian 12's aarch64
# toolchain against an arm64 Debian root, and runs them under qemu-user, twice: with SVE_256 and
# with SVE2_128 as the emulated CPU's best target (NATTEN_SVE=ON compiles them next to NEON). The
# suites force every SIMD target compiled in and usable on the emulated CPU (usable_simd_targets()),
# compare each with the reference backend and check bit-identical results on 1, 2 and 3 threads;
# natten-check then runs the cpu backend on upstream's reference files with NEON, SVE_256 and
# SVE2_128, and natten-bench times a small case.
#   build-arm64/sysroot   the arm64 root (mmdebstrap, extract only: Debian's arm64 packages of the
#                         libraries, nothing executed), made once and reused
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/build-common.sh

bash scripts/install-deps.sh arm64 >/dev/null

build=build-arm64
sysroot=$root/$build/sysroot
suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
packages="libc6,libstdc++6,libhwy-dev,libfmt-dev,libgtest-dev,libcli11-dev,libhdf5-dev,nlohmann-json3-dev"
stamp="$suite $packages"
if [ "$(cat "$sysroot/.natten-sysroot" 2>/dev/null)" != "$stamp" ]; then
  echo "== arm64 root: Debian $suite arm64 packages ($packages) into $build/sysroot"
  rm -rf "$sysroot"
  mkdir -p "$build"
  mmdebstrap --quiet --variant=extract --architectures=arm64 --include="$packages" "$suite" "$sysroot"
  echo "$stamp" >"$sysroot/.natten-sysroot"
fi

echo "== arm64 cross build (aarch64-linux-gnu-g++ $(aarch64-linux-gnu-g++ -dumpversion)): library, apps, cpu test suites"
natten_configure "$build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake -DNATTEN_SYSROOT="$sysroot" \
  -DNATTEN_SVE=ON -DNATTEN_BUILD_BENCHMARKS=OFF
natten_build "$build" natten_cpu_tests natten-bench natten-check

# qemu's `max` CPU has NEON, SVE and SVE2; its SVE vector length decides which of Highway's
# fixed-length SVE targets the machine supports: 256 bits SVE_256, 128 bits SVE2_128, qemu's
# default of 512 bits neither (NEON is then the best target). Each suite run below makes the SVE
# target the default one and forces NEON too (usable_simd_targets()).
qemu=(qemu-aarch64-static -L "$sysroot")
sve256=max,sve-default-vector-length=32
sve128=max,sve-default-vector-length=16
for cpu in $sve256 $sve128; do
  echo "== arm64 cpu suites under qemu-user -cpu $cpu"
  QEMU_CPU=$cpu natten_ctest "$build" -L cpu
  grep -h -m1 "^usable SIMD targets:" "$build/Testing/Temporary/LastTest.log" || true
done

refs=../shared/natten-refs
for cpu in max $sve256 $sve128; do
  if [ -f "$refs/natten-refs-v1.h5" ]; then
    echo "== arm64 natten-check under -cpu $cpu: the cpu backend on upstream's reference files"
    for f in natten-refs-v1.h5 natten-split-refs-v1.h5; do
      QEMU_CPU=$cpu timeout 300 "${qemu[@]}" "$build/apps/natten-check/natten-check" "$refs/$f" -q --backend cpu | tail -n 2
    done
  fi
done
echo "== arm64 natten-bench under -cpu $sve256"
QEMU_CPU=$sve256 timeout 120 "${qemu[@]}" "$build/apps/natten-bench/natten-bench" -i 16 16 -w 3 --backward --threads 2 \
  --min-reps 3 --min-time 0.02 --max-time 0.5 -q
