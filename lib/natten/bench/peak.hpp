// The machine's fp32 FMA peak, measured: the yardstick for "% of peak" and the portable guard.
//
// Each thread runs a loop of independent vector fused multiply-adds (enough accumulators to hide
// FMA latency on every target) in registers, with no memory traffic. The vector code is compiled
// for every SIMD target Highway supports (SSE2 ... AVX-512, NEON, SVE, or scalar) and the best one
// for this CPU is chosen at run time, so the binary needs no -march flag and still reaches the
// widest FMA units the CPU has.
#pragma once

#include <string>

namespace natten::bench {

// Independent FMA chains per thread: FMA latency (4-5 cycles) x throughput (2 per cycle) needs at
// least 8-10 in flight, and 12 vectors plus two constants still fit the 16 architectural vector
// registers of SSE/AVX2 without spills.
constexpr int kFmaAccumulators = 12;

struct PeakResult {
  int threads = 1;
  double gflops = 0;      // best trial, all threads together
  std::string isa;        // SIMD target that ran, e.g. "AVX3" (Highway's name)
  int lanes = 0;          // fp32 lanes per vector on that target
  double seconds = 0;     // wall time spent measuring
};

// Runs `trials` trials of about `trial_seconds` each on `threads` threads at once and keeps the best.
// Many short trials: on a shared machine the best one is the least disturbed (a 2 ms trial often
// runs between two preemptions, as short kernel samples do).
PeakResult measure_fma_peak(int threads, double trial_seconds = 0.002, int trials = 50);

// FLOPs done by one call of the kernel with `iterations` (for tests and calibration).
double fma_kernel_flops(long long iterations);
// Runs the kernel once; returns a value that depends on every accumulator (so no work is dead).
float run_fma_kernel(long long iterations);
std::string fma_kernel_target();
int fma_kernel_lanes();

}  // namespace natten::bench
