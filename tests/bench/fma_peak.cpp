// Measured fp32 FMA peak of this machine: independent multiply-add chains on the widest SIMD
// target Highway dispatches to, on 1..n threads. The yardstick for "% of peak" in the
// micro-benchmark (FLOP counted as 2 per lane per FMA).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "fma_peak.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <chrono>
#include <thread>
#include <vector>

#include "fma_peak.hpp"

HWY_BEFORE_NAMESPACE();
namespace natten::bench::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Runs `iterations` rounds of 12 independent FMA chains (enough to cover latency x throughput on
// current x86 and arm cores); returns the flops done. The result is kept alive through `sink`.
double FmaChains(std::int64_t iterations, float* sink) {
  const hn::ScalableTag<float> d;
  const auto b = hn::Set(d, 0.999999f);
  const auto c = hn::Set(d, 1e-7f);
  auto a0 = hn::Set(d, 0.1f), a1 = hn::Set(d, 0.2f), a2 = hn::Set(d, 0.3f), a3 = hn::Set(d, 0.4f);
  auto a4 = hn::Set(d, 0.5f), a5 = hn::Set(d, 0.6f), a6 = hn::Set(d, 0.7f), a7 = hn::Set(d, 0.8f);
  auto a8 = hn::Set(d, 0.9f), a9 = hn::Set(d, 1.1f), a10 = hn::Set(d, 1.2f), a11 = hn::Set(d, 1.3f);
  for (std::int64_t i = 0; i < iterations; ++i) {
    a0 = hn::MulAdd(a0, b, c);
    a1 = hn::MulAdd(a1, b, c);
    a2 = hn::MulAdd(a2, b, c);
    a3 = hn::MulAdd(a3, b, c);
    a4 = hn::MulAdd(a4, b, c);
    a5 = hn::MulAdd(a5, b, c);
    a6 = hn::MulAdd(a6, b, c);
    a7 = hn::MulAdd(a7, b, c);
    a8 = hn::MulAdd(a8, b, c);
    a9 = hn::MulAdd(a9, b, c);
    a10 = hn::MulAdd(a10, b, c);
    a11 = hn::MulAdd(a11, b, c);
  }
  const auto s = hn::Add(hn::Add(hn::Add(a0, a1), hn::Add(a2, a3)), hn::Add(hn::Add(a4, a5), hn::Add(a6, a7)));
  *sink = hn::GetLane(hn::Add(s, hn::Add(hn::Add(a8, a9), hn::Add(a10, a11))));
  return 2.0 * 12.0 * static_cast<double>(hn::Lanes(d)) * static_cast<double>(iterations);
}

}  // namespace natten::bench::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace natten::bench {

HWY_EXPORT(FmaChains);

double fma_peak_gflops(int threads) {
  constexpr std::int64_t kIterations = 20'000'000;
  std::vector<float> sinks(static_cast<std::size_t>(threads) * 16);
  std::vector<double> flops(static_cast<std::size_t>(threads));
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      const auto i = static_cast<std::size_t>(t);
      flops[i] = HWY_DYNAMIC_DISPATCH(FmaChains)(kIterations, &sinks[i * 16]);
    });
  }
  for (std::thread& th : pool) th.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double total = 0.0;
  for (double f : flops) total += f;
  return total / seconds * 1e-9;
}

}  // namespace natten::bench
#endif
