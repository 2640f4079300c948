// The fused kernels (shaders/na_fused.metal) run by the emulator through the Metal backend's own
// launch plans, against the reference backend: randomized sweeps over every parameter, each dtype,
// every thread order, and the staging regimes (one chunk, many chunks, nothing staged).
#include <gtest/gtest.h>

#include <random>

#include "emulated_executor.hpp"
#include "natten/backend.hpp"
#include "natten/parity/compare.hpp"
#include "support/random_problem.hpp"

namespace natten::metal {
namespace {

using natten_emu::ThreadOrder;

constexpr ThreadOrder kOrders[] = {ThreadOrder::forward, ThreadOrder::reverse, ThreadOrder::shuffled};

void expect_close(const Tensor& ours, const Tensor& ref, DType dtype, const char* tensor) {
  const TensorComparison c = compare_tensors(ours, ref, default_tolerance(dtype, tensor));
  EXPECT_EQ(c.failures, 0) << tensor << ": " << c.failures << " of " << c.count << " outside tolerance, max abs error "
                           << c.max_abs_error << " at " << c.worst_index << " (ours " << c.worst_ours << ", reference "
                           << c.worst_reference << ")";
}

// Forward and backward of one problem on the emulated backend against the reference backend. The
// backward consumes the reference's output and logsumexp (rounded to the dtype), isolating it.
void check_problem(const Problem& p, std::mt19937_64& rng, ThreadOrder order, const PlanOptions& options,
                   bool backward = true) {
  SCOPED_TRACE(p.str() + " order=" + natten_emu::order_name(order));
  const NAInputs in = natten::testing::random_inputs(rng, p);
  auto ref = make_backend("reference");
  auto metal = emulation::make_emulated_backend(order, rng(), options);
  const ForwardResult want = na_forward(*ref, p.params, in);
  const ForwardResult got = na_forward(*metal, p.params, in);
  expect_close(got.output, want.output, p.dtype, "output");
  expect_close(got.lse, want.lse, p.dtype, "logsumexp");
  if (!backward) return;
  const Tensor d_out = natten::testing::random_tensor(rng, p.output_shape(), p.dtype);
  const Gradients gw = na_backward(*ref, p.params, in, want.output, want.lse, d_out);
  const Gradients gg = na_backward(*metal, p.params, in, want.output, want.lse, d_out);
  expect_close(gg.query, gw.query, p.dtype, "grad_query");
  expect_close(gg.key, gw.key, p.dtype, "grad_key");
  expect_close(gg.value, gw.value, p.dtype, "grad_value");
  if (p.extra_kv > 0) {
    expect_close(gg.additional_key, gw.additional_key, p.dtype, "grad_additional_key");
    expect_close(gg.additional_value, gw.additional_value, p.dtype, "grad_additional_value");
  }
}

natten::testing::SweepLimits small_limits() {
  natten::testing::SweepLimits lim;
  lim.max_tokens = 40;
  lim.max_dim = 10;
  return lim;
}

class FusedSweep : public ::testing::TestWithParam<DType> {};

TEST_P(FusedSweep, MatchesReferenceInEveryThreadOrder) {
  std::mt19937_64 rng(0x5eed0 + static_cast<unsigned>(GetParam()));
  for (int i = 0; i < 15; ++i) {
    const Problem p = natten::testing::random_problem(rng, GetParam(), small_limits());
    check_problem(p, rng, kOrders[i % 3], PlanOptions{});
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, FusedSweep, ::testing::Values(DType::f32, DType::f16, DType::bf16),
                         [](const auto& param_info) { return std::string(dtype_name(param_info.param)); });

// A budget of a few rows forces many chunks per tile; a budget of zero rows stages nothing and
// reads every operand from device memory. Both must give the same answers.
TEST(FusedStaging, ManyChunksAndUnstagedMatchReference) {
  std::mt19937_64 rng(77);
  for (int i = 0; i < 6; ++i) {
    const Problem p = natten::testing::random_problem(rng, DType::f32, small_limits());
    PlanOptions tight;
    const std::size_t row = static_cast<std::size_t>(p.dim + p.dim_v + 2) * sizeof(float);
    tight.threadgroup_memory_budget = static_cast<std::size_t>(8 * (p.dim + p.dim_v)) * sizeof(float) + 3 * row;
    check_problem(p, rng, kOrders[i % 3], tight);
    PlanOptions none;
    none.threadgroup_memory_budget = 0;
    check_problem(p, rng, kOrders[(i + 1) % 3], none);
  }
}

// Heads wider than one pass (128 columns) and different q/k and v widths: several passes.
TEST(FusedWideHeads, SeveralColumnPassesMatchReference) {
  std::mt19937_64 rng(5);
  ProblemSpec s;
  s.params = NAParams::uniform(1, 3);
  s.spatial = {6, 1, 1};
  s.dim = 136;
  s.dim_v = 260;
  s.extra_kv = 1;
  check_problem(make_problem(s), rng, ThreadOrder::shuffled, PlanOptions{});
}

// Kernel as large as the axis (self attention) on every rank, with GQA and additional KV.
TEST(FusedLargeKernel, WindowCoversTheAxis) {
  std::mt19937_64 rng(9);
  const int lengths[3][3] = {{33, 1, 1}, {7, 6, 1}, {4, 3, 3}};
  for (int r = 1; r <= 3; ++r) {
    ProblemSpec s;
    s.params.rank = r;
    for (int a = 0; a < r; ++a) {
      s.spatial[static_cast<std::size_t>(a)] = lengths[r - 1][a];
      s.params.kernel[static_cast<std::size_t>(a)] = lengths[r - 1][a];
    }
    s.heads_q = 2;
    s.heads_kv = 1;
    s.dim = 5;
    s.extra_kv = 2;
    check_problem(make_problem(s), rng, kOrders[r - 1], PlanOptions{});
  }
}

}  // namespace
}  // namespace natten::metal
