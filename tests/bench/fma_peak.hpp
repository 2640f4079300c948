#pragma once

namespace natten::bench {

// fp32 FMA throughput of `threads` threads running at once, in GFLOP/s (one measurement).
double fma_peak_gflops(int threads);

}  // namespace natten::bench
