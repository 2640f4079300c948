# clang-16 with LLVM's libc++ on Linux: the standard library and compiler family of Apple clang, so
# code that only builds against libstdc++ fails here first (scripts/test-libcxx.sh). Libraries
# compiled against libstdc++ (libfmt, GoogleTest, google-benchmark) must not be linked into libc++
# code: that script also sets NATTEN_FMT_HEADER_ONLY, NATTEN_GTEST_SOURCE_DIR and turns the
# micro-benchmarks off. Highway's and HDF5's compiled parts have C-like interfaces (no std:: types).
set(CMAKE_C_COMPILER clang-16)
set(CMAKE_CXX_COMPILER clang++-16)
set(CMAKE_CXX_FLAGS_INIT "-stdlib=libc++")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-stdlib=libc++")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-stdlib=libc++")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "-stdlib=libc++")
