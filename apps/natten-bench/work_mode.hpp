// natten-bench --count-work: the deterministic half of the guard (natten/bench/work_guard.hpp).
//
// The command runs itself again under valgrind --tool=callgrind, pinned to one thread and one SIMD
// target valgrind executes (AVX2 on x86-64, NEON on arm64; --simd picks another), with simulated
// caches of a fixed geometry. That counting run recognises itself by the environment variable
// NATTEN_BENCH_WORK_DIR (the scratch directory), makes each case's inputs, calls each (case,
// backend, direction) once to warm up, counts the next call alone (callgrind client requests) and
// writes the counts. This process then reports them, compares them with --baseline and saves
// --save-baseline.
//
// libhwy.so's start-up code executes RDTSCP, which valgrind 3.19 cannot run on CPUs that do not
// advertise it (these VMs); the counting run preloads libnatten_valgrind_shim.so, built beside
// natten-bench, which supplies that one timer function instead (valgrind_shim.cpp says why it is safe).
#pragma once

#include "options.hpp"
#include "runner.hpp"

namespace natten::bench {

int count_work_mode(const Options& options, int argc, char** argv, const BackendFactory& factory);

}  // namespace natten::bench
