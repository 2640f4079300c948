// The split kernels (shaders/na_split.metal) on the emulator, through the Metal backend's Backend
// interface (natten/ops.hpp: the same validation, launch plans and buffers the Apple executor
// gets), against the reference backend's split ops (which tests/test_split_ops.cpp holds to a
// brute force and finite differences). Every parameter is swept: rank, odd/even K, dilation,
// stride, causal, GQA, additional KV, rpb, each dtype and thread order, and the staging regimes
// (one chunk, many chunks, nothing staged), narrow heads (several queries per simdgroup) and
// heads wider than one column pass.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "emulated_executor.hpp"
#include "metal_checks.hpp"
#include "natten/core/error.hpp"
#include "natten/ops.hpp"
#include "natten/parity/compare.hpp"
#include "support/random_problem.hpp"

namespace natten::metal {
namespace {

using natten_emu::ThreadOrder;
using natten::testing::random_tensor;

// qk, av and both backward ops of one problem, emulated Metal against the reference backend.
void check_split(const Problem& problem, std::mt19937_64& rng, ThreadOrder order, bool with_rpb,
                 const PlanOptions& options = {}) {
  SCOPED_TRACE(problem.str() + (with_rpb ? " rpb" : "") + " order=" + natten_emu::order_name(order));
  NAParams params = problem.params;
  params.scale.reset();  // the split ops do not scale
  const DType t = problem.dtype;
  auto ref = make_backend("reference");
  auto metal = emulation::make_emulated_backend(order, rng(), options);
  const NAInputs in = natten::testing::random_inputs(rng, problem);

  const SplitQKInputs qk{in.query, in.key, with_rpb ? random_tensor(rng, rpb_shape(problem), t) : Tensor(),
                         in.additional_key};
  const Tensor attention = na_qk(*ref, params, qk);
  expect_close(na_qk(*metal, params, qk), attention, t, "attention");  // -inf slots must match exactly
  const Tensor d_attention = random_tensor(rng, attention.shape(), t);
  const SplitQKGrads gq_ref = na_qk_backward(*ref, params, qk, d_attention);
  const SplitQKGrads gq = na_qk_backward(*metal, params, qk, d_attention);
  expect_close(gq.query, gq_ref.query, t, "grad_query");
  expect_close(gq.key, gq_ref.key, t, "grad_key");
  if (with_rpb) expect_close(gq.rpb, gq_ref.rpb, t, "grad_rpb");
  if (problem.extra_kv > 0) expect_close(gq.additional_key, gq_ref.additional_key, t, "grad_additional_key");

  // av on random weights whose empty causal slots (where qk gave -inf) hold NaN: no kernel may
  // read them, so any read shows up as NaN in the results.
  Tensor weights = random_tensor(rng, attention.shape(), t);
  for (std::int64_t i = 0; i < attention.numel(); ++i) {
    if (std::isinf(attention.get(i))) weights.set(i, NAN);
  }
  const SplitAVInputs av{weights, in.value, in.additional_value};
  expect_close(na_av(*metal, params, av), na_av(*ref, params, av), t, "output");
  const Tensor d_out = random_tensor(rng, problem.output_shape(), t);
  const SplitAVGrads ga_ref = na_av_backward(*ref, params, av, d_out);
  const SplitAVGrads ga = na_av_backward(*metal, params, av, d_out);
  expect_close(ga.attention, ga_ref.attention, t, "grad_attention");
  expect_close(ga.value, ga_ref.value, t, "grad_value");
  if (problem.extra_kv > 0) expect_close(ga.additional_value, ga_ref.additional_value, t, "grad_additional_value");
}

class SplitSweep : public ::testing::TestWithParam<DType> {};

TEST_P(SplitSweep, MatchesReferenceInEveryThreadOrder) {
  std::mt19937_64 rng(0xa11ce + static_cast<unsigned>(GetParam()));
  for (int i = 0; i < 15; ++i) {
    check_split(natten::testing::random_problem(rng, GetParam(), small_limits()), rng, kOrders[i % 3], i % 2 == 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, SplitSweep, ::testing::Values(DType::f32, DType::f16, DType::bf16),
                         [](const auto& param_info) { return std::string(dtype_name(param_info.param)); });

// A budget of a few rows forces many chunks per tile; a budget of zero stages nothing and reads
// every operand from device memory. Both must give the same answers.
TEST(SplitStaging, ManyChunksAndUnstagedMatchReference) {
  std::mt19937_64 rng(78);
  for (int i = 0; i < 6; ++i) {
    const Problem p = natten::testing::random_problem(rng, DType::f32, small_limits());
    PlanOptions tight;
    // 19 rows of the widest head: the dot kernels' tile takes at most half of them for its own
    // rows, so every kernel stages its window union in several chunks.
    tight.threadgroup_memory_budget = static_cast<std::size_t>(19 * std::max(p.dim, p.dim_v)) * sizeof(float);
    check_split(p, rng, kOrders[i % 3], i % 2 == 0, tight);
    PlanOptions none;
    none.threadgroup_memory_budget = 0;
    check_split(p, rng, kOrders[(i + 1) % 3], i % 2 == 1, none);
  }
}

// Head dims from 1 (32 queries per simdgroup in av / dQ) through 33 (one lane per column, two
// columns on lane 0) to wider than one 128-column pass, with GQA and additional KV.
TEST(SplitHeadDims, NarrowAndWideHeadsMatchReference) {
  std::mt19937_64 rng(6);
  for (const int dim : {1, 3, 16, 33, 136}) {
    ProblemSpec s;
    s.params = NAParams::uniform(2, 3, 1, 1);
    s.params.causal[1] = true;
    s.spatial = {5, 6, 1};
    s.heads_q = 2;
    s.heads_kv = 1;
    s.dim = s.dim_v = dim;
    s.extra_kv = 2;
    check_split(make_problem(s), rng, kOrders[dim % 3], true);
  }
}

// Merge, varlen and the FMHA fast path have no Metal kernels: the backend says so instead of
// falling back, and the fused calls keep using the neighborhood kernels.
TEST(MetalOps, ImplementsExactlyTheFusedAndSplitOps) {
  auto metal = emulation::make_emulated_backend(ThreadOrder::forward);
  ProblemSpec s;
  s.params = NAParams::uniform(1, 5);
  s.spatial = {5, 1, 1};
  const Problem p = make_problem(s);
  for (Op op : all_ops()) {
    const bool want = op == Op::forward || op == Op::backward || op == Op::qk_forward || op == Op::qk_backward ||
                      op == Op::av_forward || op == Op::av_backward;
    EXPECT_EQ(metal->implements(op), want) << op_name(op);
    const std::string why = unsupported_reason(*metal, op, p);
    if (want) {
      EXPECT_EQ(why, "") << op_name(op);
    } else {
      EXPECT_EQ(why, std::string(op_name(op)) + " not implemented by backend metal");
    }
  }
  EXPECT_FALSE(plan_fused(*metal, Op::forward, p).fast_path);  // kernel = length: would be full attention
  std::mt19937_64 rng(2);
  const NAInputs in = natten::testing::random_inputs(rng, p);
  EXPECT_THROW(merge_attentions(*metal, {in.query, in.query}, {Tensor::zeros(p.lse_shape(), DType::f32),
                                                               Tensor::zeros(p.lse_shape(), DType::f32)}),
               Unsupported);
}

}  // namespace
}  // namespace natten::metal
