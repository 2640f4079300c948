// The FMHA fast path: when it applies (by the window rule), that the plan takes it and says so,
// and that the plain attention kernel gives the neighborhood kernel's results, forward and
// backward, on every backend that implements it. Also: a backend that implements only the fused
// pair reports every other op as not implemented.
#include <gtest/gtest.h>

#include "natten/core/error.hpp"
#include "natten/core/neighborhood.hpp"
#include "natten/ops.hpp"
#include "support/backend_test.hpp"
#include "support/random_problem.hpp"

namespace natten {
namespace {

Problem problem_2d(int l0, int l1, NAParams params) {
  ProblemSpec s;
  s.params = params;
  s.spatial = {l0, l1, 1};
  s.heads_q = s.heads_kv = 1;
  s.dim = 4;
  return make_problem(s);
}

NAParams params_2d(int k0, int k1) {
  NAParams p = NAParams::uniform(2, k0);
  p.kernel[1] = k1;
  return p;
}

TEST(FullAttention, DecidedByTheWindowRule) {
  EXPECT_EQ(why_not_full_attention(problem_2d(8, 6, params_2d(8, 6))), "");
  EXPECT_EQ(why_not_full_attention(problem_2d(8, 6, params_2d(8, 5))), "axis 1: kernel 5 < length 6");
  NAParams causal = params_2d(8, 6);
  causal.causal[0] = true;
  EXPECT_EQ(why_not_full_attention(problem_2d(8, 6, causal)), "axis 0: causal");
  NAParams dilated = params_2d(4, 6);
  dilated.dilation[0] = 2;
  EXPECT_EQ(why_not_full_attention(problem_2d(8, 6, dilated)), "axis 0: dilation 2");
  NAParams strided = params_2d(8, 6);  // stride changes nothing when each window is the whole axis
  strided.stride = {3, 6, 1};
  EXPECT_EQ(why_not_full_attention(problem_2d(8, 6, strided)), "");
}

TEST(FullAttention, PlanTakesTheFastPathAndSaysSo) {
  std::unique_ptr<Backend> ref = make_backend("reference");
  const Problem full = problem_2d(8, 6, params_2d(8, 6));
  const FusedPlan f = plan_fused(*ref, Op::forward, full);
  EXPECT_TRUE(f.fast_path);
  EXPECT_EQ(f.op, Op::fmha_forward);
  EXPECT_EQ(describe(f), "fmha_forward (fast path: every window covers the whole token grid)");
  EXPECT_EQ(plan_fused(*ref, Op::backward, full).op, Op::fmha_backward);
  const FusedPlan off = plan_fused(*ref, Op::forward, full, false);
  EXPECT_EQ(describe(off), "forward (neighborhood: fast path disabled)");
  const FusedPlan na = plan_fused(*ref, Op::backward, problem_2d(8, 6, params_2d(7, 6)));
  EXPECT_FALSE(na.fast_path);
  EXPECT_EQ(describe(na), "backward (neighborhood: axis 0: kernel 7 < length 8)");
  EXPECT_THROW(plan_fused(*ref, Op::qk_forward, full), Error);
}

// A backend written before the new ops existed: fused pair only.
class FusedOnly final : public Backend {
 public:
  std::string name() const override { return "fused-only"; }
  std::string description() const override { return "test double"; }
  std::string why_unsupported(Op, const Problem&) const override { return {}; }
  void forward(const Problem& p, const NAInputs& in, Tensor& out, Tensor& lse) override {
    make_backend("reference")->forward(p, in, out, lse);
  }
  void backward(const Problem& p, const NAInputs& in, const Tensor& out, const Tensor& lse, const Tensor& d_out,
                Gradients& g) override {
    make_backend("reference")->backward(p, in, out, lse, d_out, g);
  }
};

TEST(FullAttention, BackendWithoutNewOpsSaysNotImplemented) {
  FusedOnly b;
  const Problem full = problem_2d(8, 6, params_2d(8, 6));
  EXPECT_EQ(describe(plan_fused(b, Op::forward, full)),
            "forward (neighborhood: windows cover every token but fmha_forward not implemented by backend fused-only)");
  EXPECT_EQ(unsupported_reason(b, Op::qk_forward, full), "na_qk not implemented by backend fused-only");
  std::mt19937_64 rng(41);
  const NAInputs in = testing::random_inputs(rng, full);
  EXPECT_NO_THROW(na_forward(b, full.params, in));  // falls back to the neighborhood kernel
  try {
    na_qk(b, full.params, {in.query, in.key, {}, {}});
    ADD_FAILURE() << "na_qk ran on a backend without it";
  } catch (const Unsupported& e) {
    EXPECT_EQ(std::string(e.what()), "backend fused-only: na_qk not supported: na_qk not implemented by backend fused-only");
  }
  Tensor out = Tensor::empty(full.output_shape(), DType::f32), lse = Tensor::empty(full.lse_shape(), DType::f32);
  EXPECT_THROW(b.fmha_forward(full, in, out, lse), Unsupported);  // the default virtual, called directly
}

class FastPath : public testing::BackendTest {
 protected:
  void SetUp() override { SKIP_UNLESS_IMPLEMENTED(Op::fmha_forward, Op::fmha_backward); }
};

TEST_P(FastPath, EqualsTheNeighborhoodPath) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 20; ++i) {
    testing::SweepLimits lim;
    lim.max_tokens = 48;
    Problem p = testing::random_problem(rng, DType::f32, lim);
    // The same shapes with every window covering its whole axis.
    for (int a = 0; a < p.rank(); ++a) {
      p.params.kernel[a] = static_cast<int>(p.spatial[a]);
      p.params.dilation[a] = 1;
      p.params.causal[a] = false;
    }
    p = validate_forward(p.params, testing::random_inputs(rng, p));
    SCOPED_TRACE(p.str());
    ASSERT_TRUE(plan_fused(*backend_, Op::forward, p).fast_path);
    const NAInputs in = testing::random_inputs(rng, p);
    const ForwardResult fast = na_forward(*backend_, p.params, in);
    const ForwardResult slow = na_forward(*backend_, p.params, in, /*allow_fast_path=*/false);
    EXPECT_LE(max_abs_diff(fast.output, slow.output), 1e-6);
    EXPECT_LE(max_abs_diff(fast.lse, slow.lse), 1e-6);
    const Tensor d_out = testing::random_tensor(rng, p.output_shape(), p.dtype);
    const Gradients gf = na_backward(*backend_, p.params, in, slow.output, slow.lse, d_out);
    const Gradients gs = na_backward(*backend_, p.params, in, slow.output, slow.lse, d_out, false);
    EXPECT_LE(max_abs_diff(gf.query, gs.query), 1e-5);
    EXPECT_LE(max_abs_diff(gf.key, gs.key), 1e-5);
    EXPECT_LE(max_abs_diff(gf.value, gs.value), 1e-5);
    if (p.extra_kv > 0) {
      EXPECT_LE(max_abs_diff(gf.additional_key, gs.additional_key), 1e-5);
      EXPECT_LE(max_abs_diff(gf.additional_value, gs.additional_value), 1e-5);
    }
  }
}

TEST_P(FastPath, DirectCallRejectsProblemsThatAreNotFullAttention) {
  std::mt19937_64 rng(43);
  const Problem p = problem_2d(8, 6, params_2d(3, 6));
  try {
    fmha_forward(*backend_, p.params, testing::random_inputs(rng, p));
    ADD_FAILURE() << "fmha ran on a problem with partial windows";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "fmha: the windows of this problem do not cover every token (axis 0: kernel 3 < length 8)");
  }
}

INSTANTIATE_FOR_ALL_BACKENDS(FastPath);

}  // namespace
}  // namespace natten
