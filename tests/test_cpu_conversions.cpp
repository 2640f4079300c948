// The cpu kernels' vector stores of float16/bfloat16 outputs (simd-inl.h StoreVectorAs) round
// exactly as natten/core/dtype.hpp does, on every SIMD target this machine runs: random bit
// patterns with extra weight on infinities, NaNs and subnormals. (float16 NaNs are only required to
// stay NaN: the hardware keeps the payload, dtype.hpp makes a canonical one.)
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "test_cpu_conversions.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <cmath>
#include <cstring>
#include <random>

#include "natten/backend/cpu/common/simd-inl.h"

HWY_BEFORE_NAMESPACE();
namespace natten::cpu::HWY_NAMESPACE {

// Number of lanes whose stored bits differ from dtype.hpp's conversion.
long CountMismatches() {
  std::mt19937 rng(20261123);
  long bad = 0;
  HWY_ALIGN float in[kLanes];
  hwy::bfloat16_t bf[kLanes];
  hwy::float16_t h[kLanes];
  for (int it = 0; it < 50000; ++it) {
    for (std::size_t i = 0; i < kLanes; ++i) {
      std::uint32_t b = static_cast<std::uint32_t>(rng());
      if (it % 7 == 0) b = (b & 0x8000ffffu) | (rng() % 3 == 0 ? 0x7f800000u : 0u);  // inf, NaN, tiny
      if (it % 11 == 0) b &= 0x807fffffu;                                              // subnormal
      if (it % 13 == 0) b = (b & 0x87ffffffu) | 0x38000000u;  // around float16's range
      std::memcpy(&in[i], &b, 4);
    }
    StoreVectorAs(hn::Load(DF(), in), bf);
    if constexpr (kVectorStore<hwy::float16_t>) StoreVectorAs(hn::Load(DF(), in), h);
    for (std::size_t i = 0; i < kLanes; ++i) {
      std::uint16_t got;
      std::memcpy(&got, &bf[i], 2);
      bad += got != float_to_bf16_bits(in[i]) ? 1 : 0;
      if constexpr (kVectorStore<hwy::float16_t>) {
        std::memcpy(&got, &h[i], 2);
        const std::uint16_t want = float_to_half_bits(in[i]);
        const bool both_nan = std::isnan(in[i]) && (got & 0x7c00u) == 0x7c00u && (got & 0x3ffu) != 0;
        bad += got != want && !both_nan ? 1 : 0;
      }
    }
  }
  return bad;
}

}  // namespace natten::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <gtest/gtest.h>

namespace natten::cpu {
HWY_EXPORT(CountMismatches);

TEST(CpuConversions, VectorStoresRoundLikeDtype) {
  for (std::int64_t t = hwy::SupportedTargets(); t != 0; t &= t - 1) {
    hwy::SetSupportedTargetsForTest(t & -t);
    EXPECT_EQ(HWY_DYNAMIC_DISPATCH(CountMismatches)(), 0) << hwy::TargetName(t & -t);
  }
  hwy::SetSupportedTargetsForTest(0);
}
}  // namespace natten::cpu
#endif
