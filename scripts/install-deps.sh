#!/usr/bin/env bash
# Installs every build, test and tooling dependency from Debian 12's own packages.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
packages=(
  g++ cmake ninja-build pkg-config git        # toolchain
  libcli11-dev libfmt-dev                     # CLI, formatting
  libhdf5-dev hdf5-tools                      # natten-ref files
  googletest libgtest-dev libbenchmark-dev    # tests and micro-benchmarks
  libhwy-dev                                  # SIMD with runtime dispatch (cpu backend)
  clang-16                                    # Metal shaders compiled and run on Linux
  python3 python3-h5py python3-numpy          # scripts/make_reference.py and its test
)
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "install-deps: ${#packages[@]} packages present"
