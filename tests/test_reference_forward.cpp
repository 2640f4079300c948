// The reference backend's forward against the independent brute force (tests/support), on
// randomized sweeps over every parameter, rank and dtype.
#include <gtest/gtest.h>

#include <cmath>

#include "natten/backend.hpp"
#include "natten/core/neighborhood.hpp"
#include "support/brute_force.hpp"
#include "support/random_problem.hpp"

namespace natten {
namespace {

TEST(ReferenceForward, NeighborListsMatchTheProseRule) {
  std::mt19937_64 rng(7);
  for (int iter = 0; iter < 300; ++iter) {
    const Problem p = testing::random_problem(rng, DType::f32);
    for (std::int64_t t = 0; t < p.tokens(); ++t) {
      std::vector<std::int64_t> ours;
      for_each_neighbor(p, t, [&](std::int64_t k) { ours.push_back(k); });
      std::sort(ours.begin(), ours.end());
      ASSERT_EQ(ours, testing::brute_neighbors(p, t)) << p.str() << " query token " << t;
    }
  }
}

class ReferenceForwardSweep : public ::testing::TestWithParam<DType> {};

TEST_P(ReferenceForwardSweep, MatchesBruteForceSoftmax) {
  const DType dtype = GetParam();
  // Output is rounded once to the dtype; the logsumexp is float32.
  const double out_tol = dtype == DType::f32 ? 1e-6 : (dtype == DType::f16 ? 1e-3 : 8e-3);
  std::mt19937_64 rng(1234 + static_cast<int>(dtype));
  auto backend = make_backend("reference");
  for (int iter = 0; iter < 150; ++iter) {
    const Problem p = testing::random_problem(rng, dtype);
    const NAInputs in = testing::random_inputs(rng, p);
    const ForwardResult r = na_forward(*backend, p.params, in);
    const testing::DoubleForward want = testing::brute_forward(p, testing::to_doubles(in));
    for (std::size_t i = 0; i < want.out.size(); ++i) {
      ASSERT_NEAR(r.output.get(static_cast<std::int64_t>(i)), want.out[i], out_tol + out_tol * std::fabs(want.out[i]))
          << p.str() << " output element " << i;
    }
    for (std::size_t i = 0; i < want.lse.size(); ++i) {
      ASSERT_NEAR(r.lse.get(static_cast<std::int64_t>(i)), want.lse[i], 1e-6 * (1 + std::fabs(want.lse[i])))
          << p.str() << " logsumexp element " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, ReferenceForwardSweep, ::testing::Values(DType::f32, DType::f16, DType::bf16),
                         [](const auto& param_info) { return std::string(dtype_name(param_info.param)); });

TEST(ReferenceForward, SelfAttentionWindowEqualsFullSoftmax) {
  // K = length on every axis: every query sees every key, so the result is plain attention and
  // must not depend on stride (the window cannot move).
  ProblemSpec s;
  s.params = NAParams::uniform(2, 5);
  s.spatial = {5, 5, 1};
  s.dim = 4;
  const Problem p = make_problem(s);
  std::mt19937_64 rng(3);
  const NAInputs in = testing::random_inputs(rng, p);
  auto backend = make_backend("reference");
  const ForwardResult a = na_forward(*backend, p.params, in);
  NAParams strided = p.params;
  strided.stride = {5, 2, 1};
  const ForwardResult b = na_forward(*backend, strided, in);
  EXPECT_EQ(max_abs_diff(a.output, b.output), 0.0);
  // Every query's output is the same convex combination when q is shared: check one against brute force.
  const testing::DoubleForward want = testing::brute_forward(p, testing::to_doubles(in));
  for (std::size_t i = 0; i < want.out.size(); ++i) EXPECT_NEAR(a.output.get(static_cast<std::int64_t>(i)), want.out[i], 1e-6);
}

}  // namespace
}  // namespace natten
