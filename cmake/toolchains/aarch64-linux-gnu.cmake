# Cross build for arm64 Linux with Debian 12's cross toolchain (g++-aarch64-linux-gnu), against an
# arm64 Debian root holding the target's libraries (scripts/test-arm64.sh makes one with
# mmdebstrap), run under qemu-user. Used as:
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
#         -DNATTEN_SYSROOT=<arm64 root>
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

if(NOT NATTEN_SYSROOT)
  message(FATAL_ERROR "aarch64 toolchain: set -DNATTEN_SYSROOT=<arm64 Debian root> (scripts/test-arm64.sh makes one)")
endif()
# try_compile re-reads this file: pass the root on.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES NATTEN_SYSROOT)
set(CMAKE_SYSROOT "${NATTEN_SYSROOT}")
# Packages and libraries from the root only; programs (h5cc, clang++-16 for the Metal tests) from the host.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Test binaries (and gtest_discover_tests) run under qemu-user with the root's loader and libraries.
# The CPU model comes from QEMU_CPU (qemu's default for aarch64 is `max`: NEON, SVE, SVE2).
find_program(NATTEN_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64 REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR "${NATTEN_QEMU_AARCH64};-L;${NATTEN_SYSROOT}")

# FindHDF5 would ask the host's compiler wrapper (h5cc), which describes the host's HDF5: leave it
# out, so the module searches the root (hdf5/serial under the multiarch library directory).
set(HDF5_C_COMPILER_EXECUTABLE "" CACHE FILEPATH "HDF5 wrapper compiler (none for the cross build)")
