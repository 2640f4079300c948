#!/usr/bin/env bash
# Installs build, test and tooling dependencies from Debian 12's own packages.
#   install-deps.sh          what the default build and scripts/test.sh's main suite need
#   install-deps.sh arm64    also the aarch64 cross toolchain, qemu-user and mmdebstrap (scripts/test-arm64.sh)
#   install-deps.sh libcxx   also LLVM's libc++ for clang-16 (scripts/test-libcxx.sh)
# Nothing is fetched when every package is already installed.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
packages=(
  g++ cmake ninja-build pkg-config git        # toolchain
  libcli11-dev libfmt-dev                     # CLI, formatting
  nlohmann-json3-dev                          # JSON reports (lib/natten/io/json.cpp)
  libhdf5-dev hdf5-tools                      # natten-ref files
  googletest libgtest-dev libbenchmark-dev    # tests and micro-benchmarks
  libhwy-dev                                  # SIMD with runtime dispatch (cpu backend)
  clang-16                                    # Metal shaders compiled and run on Linux
  valgrind                                    # the deterministic performance guard (callgrind)
  python3 python3-h5py python3-numpy          # scripts/make_reference.py and its test
)
for group in "$@"; do
  case "$group" in
    arm64) packages+=(g++-aarch64-linux-gnu qemu-user-static mmdebstrap) ;;
    libcxx) packages+=(libc++-16-dev libc++abi-16-dev) ;;
    *) echo "install-deps: unknown group '$group' (arm64, libcxx)" >&2; exit 2 ;;
  esac
done
if dpkg-query -W -f='${db:Status-Abbrev}\n' "${packages[@]}" 2>/dev/null | grep -qvx 'ii ' ||
   ! dpkg-query -W "${packages[@]}" >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi
echo "install-deps: ${#packages[@]} packages present"
