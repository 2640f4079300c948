// The cpu backend's forward (output and logsumexp) against the reference backend: randomized
// sweeps over every parameter in every dtype, and the edge cases that stress its tiling.
#include "test_cpu_support.hpp"

namespace natten::testing {
namespace {

class CpuForwardSweep : public ::testing::TestWithParam<DType> {};

TEST_P(CpuForwardSweep, MatchesReference) {
  std::mt19937_64 rng(1234 + static_cast<int>(GetParam()));
  for (int i = 0; i < 120; ++i) {
    const Problem p = random_problem(rng, GetParam());
    check_against_reference(p, rng, /*backward=*/false);
    if (::testing::Test::HasFailure()) break;  // one failing problem is enough to report
  }
}

INSTANTIATE_TEST_SUITE_P(AllDtypes, CpuForwardSweep, ::testing::Values(DType::f32, DType::f16, DType::bf16),
                         [](const auto& param_info) { return std::string(dtype_name(param_info.param)); });

}  // namespace
}  // namespace natten::testing
