// Split qk / av on every backend that implements them: forward against a brute force that scans
// every key, backward against central differences of the backend's own forward, other backends
// against the reference on larger sweeps, and qk + softmax + av against the fused op.
#include <gtest/gtest.h>

#include <cmath>

#include "natten/core/error.hpp"
#include "natten/core/neighborhood.hpp"
#include "natten/ops.hpp"
#include "support/backend_test.hpp"
#include "support/random_problem.hpp"
#include "support/split_oracle.hpp"

namespace natten {
namespace {

using testing::random_tensor;

struct QKCase {
  Problem p;
  SplitQKInputs in;
};

QKCase random_qk_case(std::mt19937_64& rng, std::int64_t max_tokens) {
  QKCase c{testing::random_split_problem(rng, max_tokens), {}};
  const Problem& p = c.p;
  c.in.query = random_tensor(rng, p.query_shape(), p.dtype);
  c.in.key = random_tensor(rng, p.kv_shape(p.dim), p.dtype);
  if (std::bernoulli_distribution(0.6)(rng)) c.in.rpb = random_tensor(rng, rpb_shape(p), p.dtype);
  if (p.extra_kv > 0) c.in.additional_key = random_tensor(rng, p.extra_kv_shape(p.dim), p.dtype);
  return c;
}

struct AVCase {
  Problem p;
  SplitAVInputs in;
};

// Attention weights are random (not a softmax): av is linear in them, whatever they are.
AVCase random_av_case(std::mt19937_64& rng, std::int64_t max_tokens) {
  Problem p = testing::random_split_problem(rng, max_tokens);
  AVCase c{p, {}};
  c.in.attention = random_tensor(rng, attention_shape(p), p.dtype);
  c.in.value = random_tensor(rng, p.kv_shape(p.dim_v), p.dtype);
  if (p.extra_kv > 0) c.in.additional_value = random_tensor(rng, p.extra_kv_shape(p.dim_v), p.dtype);
  return c;
}

void expect_close(const std::vector<double>& want, const Tensor& got, double tol, const std::string& what) {
  ASSERT_EQ(static_cast<std::int64_t>(want.size()), got.numel()) << what;
  int reported = 0;
  for (std::int64_t i = 0; i < got.numel(); ++i) {
    const double w = want[static_cast<std::size_t>(i)], g = got.get(i);
    const bool ok = std::isinf(w) ? g == w : std::fabs(g - w) <= tol * (1.0 + std::fabs(w));
    if (!ok && reported++ < 5) ADD_FAILURE() << what << "[" << i << "]: got " << g << ", want " << w;
  }
}

class SplitOps : public testing::BackendTest {};

TEST_P(SplitOps, QKForwardMatchesBruteForce) {
  SKIP_UNLESS_IMPLEMENTED(Op::qk_forward);
  std::mt19937_64 rng(11);
  for (int i = 0; i < 40; ++i) {
    const QKCase c = random_qk_case(rng, 64);
    SCOPED_TRACE(c.p.str() + (c.in.rpb.defined() ? " rpb" : ""));
    const Tensor a = na_qk(*backend_, c.p.params, c.in);
    ASSERT_EQ(a.shape(), attention_shape(c.p));
    expect_close(testing::brute_qk(c.p, c.in), a, 1e-5, "attention");
  }
}

TEST_P(SplitOps, AVForwardMatchesBruteForce) {
  SKIP_UNLESS_IMPLEMENTED(Op::av_forward);
  std::mt19937_64 rng(12);
  for (int i = 0; i < 40; ++i) {
    const AVCase c = random_av_case(rng, 64);
    SCOPED_TRACE(c.p.str());
    expect_close(testing::brute_av(c.p, c.in), na_av(*backend_, c.p.params, c.in), 1e-5, "output");
  }
}

// Both ops are bilinear, so central differences are exact up to float rounding of the loss.
TEST_P(SplitOps, QKBackwardMatchesFiniteDifferences) {
  SKIP_UNLESS_IMPLEMENTED(Op::qk_forward, Op::qk_backward);
  std::mt19937_64 rng(13);
  for (int i = 0; i < 12; ++i) {
    QKCase c = random_qk_case(rng, 12);
    SCOPED_TRACE(c.p.str() + (c.in.rpb.defined() ? " rpb" : ""));
    const Tensor g = random_tensor(rng, attention_shape(c.p), c.p.dtype);
    const SplitQKGrads grads = na_qk_backward(*backend_, c.p.params, c.in, g);
    auto loss = [&] { return testing::weighted_sum(na_qk(*backend_, c.p.params, c.in), g); };
    expect_close(testing::numeric_gradient(c.in.query, loss, 0.25f), grads.query, 1e-4, "grad_query");
    expect_close(testing::numeric_gradient(c.in.key, loss, 0.25f), grads.key, 1e-4, "grad_key");
    if (c.in.rpb.defined())
      expect_close(testing::numeric_gradient(c.in.rpb, loss, 0.25f), grads.rpb, 1e-4, "grad_rpb");
    if (c.p.extra_kv > 0)
      expect_close(testing::numeric_gradient(c.in.additional_key, loss, 0.25f), grads.additional_key, 1e-4,
                   "grad_additional_key");
  }
}

TEST_P(SplitOps, AVBackwardMatchesFiniteDifferences) {
  SKIP_UNLESS_IMPLEMENTED(Op::av_forward, Op::av_backward);
  std::mt19937_64 rng(14);
  for (int i = 0; i < 12; ++i) {
    AVCase c = random_av_case(rng, 12);
    SCOPED_TRACE(c.p.str());
    const Tensor g = random_tensor(rng, c.p.output_shape(), c.p.dtype);
    const SplitAVGrads grads = na_av_backward(*backend_, c.p.params, c.in, g);
    auto loss = [&] { return testing::weighted_sum(na_av(*backend_, c.p.params, c.in), g); };
    expect_close(testing::numeric_gradient(c.in.attention, loss, 0.25f), grads.attention, 1e-4, "grad_attention");
    expect_close(testing::numeric_gradient(c.in.value, loss, 0.25f), grads.value, 1e-4, "grad_value");
    if (c.p.extra_kv > 0)
      expect_close(testing::numeric_gradient(c.in.additional_value, loss, 0.25f), grads.additional_value, 1e-4,
                   "grad_additional_value");
  }
}

// Larger problems than finite differences allow, against the reference backend.
TEST_P(SplitOps, BackwardMatchesReferenceOnLargerSweeps) {
  SKIP_UNLESS_IMPLEMENTED(Op::qk_backward, Op::av_backward);
  if (GetParam() == "reference") GTEST_SKIP() << "the reference is the oracle here";
  std::unique_ptr<Backend> ref = make_backend("reference");
  std::mt19937_64 rng(15);
  for (int i = 0; i < 20; ++i) {
    const QKCase q = random_qk_case(rng, 96);
    SCOPED_TRACE(q.p.str());
    const Tensor ga = random_tensor(rng, attention_shape(q.p), q.p.dtype);
    const SplitQKGrads ours = na_qk_backward(*backend_, q.p.params, q.in, ga);
    const SplitQKGrads want = na_qk_backward(*ref, q.p.params, q.in, ga);
    expect_close(want.query.to_doubles(), ours.query, 1e-5, "grad_query");
    expect_close(want.key.to_doubles(), ours.key, 1e-5, "grad_key");
    if (want.rpb.defined()) expect_close(want.rpb.to_doubles(), ours.rpb, 1e-5, "grad_rpb");
    const AVCase a = random_av_case(rng, 96);
    const Tensor go = random_tensor(rng, a.p.output_shape(), a.p.dtype);
    const SplitAVGrads ours_av = na_av_backward(*backend_, a.p.params, a.in, go);
    const SplitAVGrads want_av = na_av_backward(*ref, a.p.params, a.in, go);
    expect_close(want_av.attention.to_doubles(), ours_av.attention, 1e-5, "grad_attention");
    expect_close(want_av.value.to_doubles(), ours_av.value, 1e-5, "grad_value");
  }
}

// softmax(qk(q * scale, k)) then av equals the fused op, forward and backward (additional KV and
// causal windows included: their masked slots get weight zero).
TEST_P(SplitOps, QKSoftmaxAVEqualsFused) {
  SKIP_UNLESS_IMPLEMENTED(Op::qk_backward, Op::av_backward);
  std::mt19937_64 rng(16);
  for (int i = 0; i < 25; ++i) {
    Problem p = testing::random_split_problem(rng, 64);
    p.params.scale = 0.37;  // the fused op's scale; the split path pre-scales the query instead
    SCOPED_TRACE(p.str());
    const NAInputs in = testing::random_inputs(rng, p);
    NAParams split_params = p.params;
    split_params.scale.reset();

    Tensor q_scaled = in.query.clone();
    for (std::int64_t e = 0; e < q_scaled.numel(); ++e) q_scaled.set(e, static_cast<float>(in.query.get(e) * 0.37));
    const SplitQKInputs qk_in{q_scaled, in.key, {}, in.additional_key};
    const Tensor logits = na_qk(*backend_, split_params, qk_in);
    const std::int64_t width = logits.size(-1);
    const std::vector<double> probs = testing::softmax_rows(logits.to_doubles(), width);
    std::vector<float> pf(probs.begin(), probs.end());
    const Tensor attn = Tensor::from_floats(logits.shape(), p.dtype, pf.data());
    const SplitAVInputs av_in{attn, in.value, in.additional_value};
    const Tensor out = na_av(*backend_, split_params, av_in);

    const ForwardResult fused = na_forward(*backend_, p.params, in);
    expect_close(fused.output.to_doubles(), out, 2e-5, "output");

    // Backward: av, then the softmax Jacobian, then qk, then the chain rule through q * scale.
    const Tensor d_out = random_tensor(rng, p.output_shape(), p.dtype);
    const SplitAVGrads g_av = na_av_backward(*backend_, split_params, av_in, d_out);
    const std::vector<double> dp = g_av.attention.to_doubles();
    std::vector<float> ds(probs.size());
    for (std::size_t r = 0; r < probs.size(); r += static_cast<std::size_t>(width)) {
      double inner = 0.0;
      for (std::int64_t j = 0; j < width; ++j) inner += probs[r + static_cast<std::size_t>(j)] * dp[r + static_cast<std::size_t>(j)];
      for (std::int64_t j = 0; j < width; ++j) {
        const std::size_t e = r + static_cast<std::size_t>(j);
        ds[e] = static_cast<float>(probs[e] * (dp[e] - inner));
      }
    }
    const SplitQKGrads g_qk =
        na_qk_backward(*backend_, split_params, qk_in, Tensor::from_floats(logits.shape(), p.dtype, ds.data()));
    const Gradients want = na_backward(*backend_, p.params, in, fused.output, fused.lse, d_out);
    std::vector<double> dq = g_qk.query.to_doubles();
    for (double& x : dq) x *= 0.37;
    expect_close(dq, want.query, 1e-4, "grad_query");  // compared the other way round: want is a tensor
    expect_close(want.key.to_doubles(), g_qk.key, 1e-4, "grad_key");
    expect_close(want.value.to_doubles(), g_av.value, 1e-4, "grad_value");
    if (p.extra_kv > 0) {
      expect_close(want.additional_key.to_doubles(), g_qk.additional_key, 1e-4, "grad_additional_key");
      expect_close(want.additional_value.to_doubles(), g_av.additional_value, 1e-4, "grad_additional_value");
    }
  }
}

// The relative positional bias index, worked by hand: 1D, L = 5, K = 3, query 0 (window 0..2,
// shifted at the border) and query 4 (window 2..4); bias index = key - query + K - 1.
TEST_P(SplitOps, RelativePositionalBiasAtBordersByHand) {
  SKIP_UNLESS_IMPLEMENTED(Op::qk_forward);
  const NAParams params = NAParams::uniform(1, 3);
  const Tensor zeros = Tensor::zeros({1, 5, 1, 1}, DType::f32);
  const float bias[5] = {10, 11, 12, 13, 14};  // rpb[0, i] = 10 + i
  const Tensor rpb = Tensor::from_floats({1, 5}, DType::f32, bias);
  const Tensor a = na_qk(*backend_, params, {zeros, zeros, rpb, {}});
  // query 0: keys 0, 1, 2 -> indices 2, 3, 4; query 2: keys 1, 2, 3 -> 1, 2, 3; query 4: keys 2, 3, 4 -> 0, 1, 2.
  const float want[5][3] = {{12, 13, 14}, {11, 12, 13}, {11, 12, 13}, {11, 12, 13}, {10, 11, 12}};
  for (int t = 0; t < 5; ++t) {
    for (int s = 0; s < 3; ++s) EXPECT_EQ(a.get(t * 3 + s), want[t][s]) << "query " << t << " slot " << s;
  }
}

// Causal: query j's window ends at j; the slots past it hold -inf and av ignores them.
TEST_P(SplitOps, CausalSlotsAreMasked) {
  SKIP_UNLESS_IMPLEMENTED(Op::qk_forward, Op::av_forward);
  const NAParams params = NAParams::uniform(1, 3, 1, 1, true);
  std::vector<float> ones(4, 1.0f);
  const Tensor t = Tensor::from_floats({1, 4, 1, 1}, DType::f32, ones.data());
  const Tensor a = na_qk(*backend_, params, {t, t, {}, {}});
  // windows: q0 {0}, q1 {0, 1}, q2 {0, 1, 2}, q3 {1, 2, 3}
  const int valid[4] = {1, 2, 3, 3};
  for (int q = 0; q < 4; ++q) {
    for (int s = 0; s < 3; ++s) {
      if (s < valid[q]) {
        EXPECT_EQ(a.get(q * 3 + s), 1.0f);
      } else {
        EXPECT_EQ(a.get(q * 3 + s), -INFINITY) << "query " << q << " slot " << s;
      }
    }
  }
  std::vector<float> w(12, 1.0f);
  for (int q = 0; q < 4; ++q) {
    for (int s = valid[q]; s < 3; ++s) w[static_cast<std::size_t>(q * 3 + s)] = NAN;  // never read
  }
  const Tensor o = na_av(*backend_, params, {Tensor::from_floats({1, 4, 1, 3}, DType::f32, w.data()), t, {}});
  for (int q = 0; q < 4; ++q) EXPECT_EQ(o.get(q), static_cast<float>(valid[q])) << "query " << q;
}

// Every slot of every window maps to a valid bias index and a distinct slot below W, for stride,
// causal and dilation too (the bias index of a strided query is relative to the query itself).
TEST(WindowSlots, SlotsDistinctAndBiasInRange) {
  std::mt19937_64 rng(17);
  for (int i = 0; i < 300; ++i) {
    const Problem p = testing::random_split_problem(rng, 96);
    std::int64_t bias_size = 1;
    for (int a = 0; a < p.rank(); ++a) bias_size *= 2 * p.params.kernel[a] - 1;
    for (std::int64_t t = 0; t < p.tokens(); ++t) {
      std::vector<bool> seen(static_cast<std::size_t>(window_slots(p)), false);
      for_each_window_slot(p, t, [&](const WindowSlot& s) {
        ASSERT_GE(s.slot, 0);
        ASSERT_LT(s.slot, window_slots(p));
        ASSERT_FALSE(seen[static_cast<std::size_t>(s.slot)]) << p.str() << " query " << t;
        seen[static_cast<std::size_t>(s.slot)] = true;
        ASSERT_GE(s.bias, 0) << p.str() << " query " << t;
        ASSERT_LT(s.bias, bias_size) << p.str() << " query " << t;
      });
    }
  }
}

TEST(SplitValidation, ErrorsNameTheArgument) {
  std::mt19937_64 rng(18);
  const NAParams params = NAParams::uniform(2, 3);
  const Tensor q = random_tensor(rng, {1, 5, 4, 2, 3}, DType::f32);
  auto expect_error = [](auto&& f, const std::string& message) { testing::expect_error_containing(f, message); };
  NAParams scaled = params;
  scaled.scale = 0.5;
  expect_error([&] { validate_qk(scaled, {q, q, {}, {}}); },
               "scale = 0.5: na_qk does not scale (pre-scale the query); leave scale unset");
  expect_error([&] { validate_qk(params, {q, q, random_tensor(rng, {2, 5, 4}, DType::f32), {}}); },
               "rpb: expected shape [2, 5, 5], got [2, 5, 4]");
  expect_error([&] { validate_qk(params, {q, q, random_tensor(rng, {2, 5, 5}, DType::f16), {}}); },
               "rpb: dtype float16 differs from float32");
  expect_error([&] { validate_qk_backward(params, {q, q, {}, {}}, random_tensor(rng, {1, 5, 4, 2, 8}, DType::f32)); },
               "grad_attention: expected shape [1, 5, 4, 2, 9], got [1, 5, 4, 2, 8]");
  expect_error([&] { validate_av(params, {random_tensor(rng, {1, 5, 4, 2, 8}, DType::f32), q, {}}); },
               "attention: last axis holds 8 weights, expected 9 (prod(kernel_size) = 9)");
  expect_error([&] { validate_av(params, {random_tensor(rng, {1, 5, 3, 2, 9}, DType::f32), q, {}}); },
               "spatial size: attention 3 and value 4 differ");
  expect_error([&] { validate_av(params, {random_tensor(rng, {1, 5, 4, 3, 9}, DType::f32), q, {}}); },
               "heads: query heads 3 is not a multiple of key/value heads 2");
  expect_error([&] {
    validate_av(params, {random_tensor(rng, {1, 5, 4, 2, 9}, DType::f32), q, random_tensor(rng, {1, 2, 2, 3}, DType::f32)});
  }, "attention: last axis holds 9 weights, expected 11 (prod(kernel_size) = 9 + 2 additional tokens)");
}

INSTANTIATE_FOR_ALL_BACKENDS(SplitOps);

}  // namespace
}  // namespace natten
