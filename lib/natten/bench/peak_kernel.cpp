// The FMA loop behind measure_fma_peak(), compiled once per SIMD target by Highway's
// foreach_target and dispatched at run time (see peak.hpp).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "natten/bench/peak_kernel.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <string>

#include "natten/bench/peak.hpp"

HWY_BEFORE_NAMESPACE();
namespace natten::bench::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// `start` comes from the caller at run time: with constant starting values a compiler may find an
// accumulator that sits at the fixed point and drop its chain (clang 16 did), inflating the peak.
float FmaLoop(long long iterations, float start) {
  static_assert(kFmaAccumulators == 12, "the loop below spells out a0 .. a11");
  const hn::ScalableTag<float> d;
  // x -> x * m + c converges to c / (1 - m) = 1: values stay finite and normal however long it runs.
  const auto m = hn::Set(d, 0.999999f);
  const auto c = hn::Set(d, 1e-6f);
  const auto step = hn::Set(d, 0.01f);
  auto a0 = hn::Set(d, start);
  auto a1 = hn::Add(a0, step), a2 = hn::Add(a1, step), a3 = hn::Add(a2, step), a4 = hn::Add(a3, step);
  auto a5 = hn::Add(a4, step), a6 = hn::Add(a5, step), a7 = hn::Add(a6, step), a8 = hn::Add(a7, step);
  auto a9 = hn::Add(a8, step), a10 = hn::Add(a9, step), a11 = hn::Add(a10, step);
  for (long long i = 0; i < iterations; ++i) {
    a0 = hn::MulAdd(a0, m, c);
    a1 = hn::MulAdd(a1, m, c);
    a2 = hn::MulAdd(a2, m, c);
    a3 = hn::MulAdd(a3, m, c);
    a4 = hn::MulAdd(a4, m, c);
    a5 = hn::MulAdd(a5, m, c);
    a6 = hn::MulAdd(a6, m, c);
    a7 = hn::MulAdd(a7, m, c);
    a8 = hn::MulAdd(a8, m, c);
    a9 = hn::MulAdd(a9, m, c);
    a10 = hn::MulAdd(a10, m, c);
    a11 = hn::MulAdd(a11, m, c);
  }
  const auto s = hn::Add(hn::Add(hn::Add(a0, a1), hn::Add(a2, a3)),
                         hn::Add(hn::Add(hn::Add(a4, a5), hn::Add(a6, a7)), hn::Add(hn::Add(a8, a9), hn::Add(a10, a11))));
  return hn::GetLane(hn::SumOfLanes(d, s));
}

int LanesPerVector() { return static_cast<int>(hn::Lanes(hn::ScalableTag<float>())); }
const char* TargetName() { return hwy::TargetName(HWY_TARGET); }

}  // namespace natten::bench::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace natten::bench {

HWY_EXPORT(FmaLoop);
HWY_EXPORT(LanesPerVector);
HWY_EXPORT(TargetName);

float run_fma_kernel(long long iterations) {
  static volatile float start = 0.5f;  // opaque to the optimizer
  return HWY_DYNAMIC_DISPATCH(FmaLoop)(iterations, start);
}
int fma_kernel_lanes() { return HWY_DYNAMIC_DISPATCH(LanesPerVector)(); }
std::string fma_kernel_target() { return HWY_DYNAMIC_DISPATCH(TargetName)(); }
double fma_kernel_flops(long long iterations) {
  return 2.0 * kFmaAccumulators * fma_kernel_lanes() * static_cast<double>(iterations);
}

}  // namespace natten::bench
#endif  // HWY_ONCE
