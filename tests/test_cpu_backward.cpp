// The cpu backend's backward (dQ, dK, dV and additional-KV gradients) against the reference
// backend: randomized sweeps over every parameter in every dtype.
#include "test_cpu_support.hpp"

namespace natten::testing {
namespace {

class CpuBackwardSweep : public ::testing::TestWithParam<DType> {};

TEST_P(CpuBackwardSweep, MatchesReference) {
  std::mt19937_64 rng(4321 + static_cast<int>(GetParam()));
  for (int i = 0; i < 100; ++i) {
    const Problem p = random_problem(rng, GetParam());
    check_against_reference(p, rng, /*backward=*/true);
    if (::testing::Test::HasFailure()) break;  // one failing problem is enough to report
  }
}

INSTANTIATE_TEST_SUITE_P(AllDtypes, CpuBackwardSweep, ::testing::Values(DType::f32, DType::f16, DType::bf16),
                         [](const auto& param_info) { return std::string(dtype_name(param_info.param)); });

}  // namespace
}  // namespace natten::testing
