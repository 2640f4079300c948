// merge_attentions on every backend that implements it: the definition, numerical stability,
// empty parts, halves of a key set against attention over the union, and the backward against
// central differences.
#include <gtest/gtest.h>

#include <cmath>

#include "natten/core/error.hpp"
#include "natten/ops.hpp"
#include "support/backend_test.hpp"
#include "support/random_problem.hpp"
#include "support/split_oracle.hpp"

namespace natten {
namespace {

using testing::random_tensor;

struct Parts {
  std::vector<Tensor> outputs, lses;
};

Parts random_parts(std::mt19937_64& rng, int n, const Shape& out_shape, float lse_amplitude = 3.0f) {
  Parts p;
  const Shape lse_shape(out_shape.begin(), out_shape.end() - 1);
  for (int i = 0; i < n; ++i) {
    p.outputs.push_back(random_tensor(rng, out_shape, DType::f32));
    p.lses.push_back(random_tensor(rng, lse_shape, DType::f32, lse_amplitude));
  }
  return p;
}

class Merge : public testing::BackendTest {
 protected:
  void SetUp() override { SKIP_UNLESS_IMPLEMENTED(Op::merge_forward, Op::merge_backward); }
};

TEST_P(Merge, MatchesDefinition) {
  std::mt19937_64 rng(21);
  for (int n : {2, 3, 5}) {
    const Parts parts = random_parts(rng, n, {2, 5, 3, 4});
    const ForwardResult r = merge_attentions(*backend_, parts.outputs, parts.lses);
    for (std::int64_t row = 0; row < r.lse.numel(); ++row) {
      double sum = 0.0;
      for (const Tensor& l : parts.lses) sum += std::exp(static_cast<double>(l.get(row)));
      EXPECT_NEAR(r.lse.get(row), std::log(sum), 1e-6);
      for (int d = 0; d < 4; ++d) {
        double want = 0.0;
        for (int i = 0; i < n; ++i)
          want += std::exp(parts.lses[static_cast<std::size_t>(i)].get(row)) / sum *
                  parts.outputs[static_cast<std::size_t>(i)].get(row * 4 + d);
        EXPECT_NEAR(r.output.get(row * 4 + d), want, 1e-6);
      }
    }
  }
}

// exp(1000) overflows even double: a merge that does not work around the largest logsumexp fails.
TEST_P(Merge, StableForHugeLogsumexps) {
  std::mt19937_64 rng(22);
  const Parts parts = random_parts(rng, 3, {1, 6, 2, 3});
  const ForwardResult base = merge_attentions(*backend_, parts.outputs, parts.lses);
  for (float shift : {1000.0f, -1000.0f}) {
    Parts shifted = parts;
    for (Tensor& l : shifted.lses) {
      l = l.clone();
      for (std::int64_t i = 0; i < l.numel(); ++i) l.set(i, l.get(i) + shift);
    }
    const ForwardResult r = merge_attentions(*backend_, shifted.outputs, shifted.lses);
    EXPECT_LE(max_abs_diff(r.output, base.output), 1e-4) << "shift " << shift;  // float spacing at 1000 is 6e-5
    for (std::int64_t i = 0; i < r.lse.numel(); ++i) EXPECT_NEAR(r.lse.get(i), base.lse.get(i) + shift, 2e-4);
  }
}

// A part over an empty key set has logsumexp -inf; its output may hold anything and is ignored.
TEST_P(Merge, EmptyPartsAreIgnored) {
  std::mt19937_64 rng(23);
  Parts parts = random_parts(rng, 2, {1, 4, 2, 3});
  const ForwardResult two = merge_attentions(*backend_, parts.outputs, parts.lses);
  Tensor nan_out = Tensor::empty({1, 4, 2, 3}, DType::f32);
  nan_out.fill(NAN);
  Tensor empty_lse = Tensor::empty({1, 4, 2}, DType::f32);
  empty_lse.fill(-INFINITY);
  parts.outputs.push_back(nan_out);
  parts.lses.push_back(empty_lse);
  const ForwardResult three = merge_attentions(*backend_, parts.outputs, parts.lses);
  EXPECT_EQ(max_abs_diff(three.output, two.output), 0.0);
  EXPECT_EQ(max_abs_diff(three.lse, two.lse), 0.0);
  // Every part empty: output 0, logsumexp -inf.
  const ForwardResult none = merge_attentions(*backend_, {nan_out, nan_out}, {empty_lse, empty_lse});
  for (std::int64_t i = 0; i < none.output.numel(); ++i) EXPECT_EQ(none.output.get(i), 0.0f);
  for (std::int64_t i = 0; i < none.lse.numel(); ++i) EXPECT_EQ(none.lse.get(i), -INFINITY);
}

// Plain attention of every query over the additional KV tokens only (test-side, in double).
ForwardResult attention_over_extra(const Problem& p, const NAInputs& in) {
  const std::vector<double> q = in.query.to_doubles(), k = in.additional_key.to_doubles(),
                            v = in.additional_value.to_doubles();
  std::vector<float> out(static_cast<std::size_t>(numel(p.output_shape()))), lse(static_cast<std::size_t>(numel(p.lse_shape())));
  const int group = p.heads_q / p.heads_kv;
  for (std::int64_t row = 0; row < numel(p.lse_shape()); ++row) {
    const std::int64_t b = row / (p.tokens() * p.heads_q);
    const int h = static_cast<int>(row % p.heads_q);
    std::vector<double> s(static_cast<std::size_t>(p.extra_kv));
    double m = -INFINITY;
    for (std::int64_t e = 0; e < p.extra_kv; ++e) {
      double dot = 0.0;
      for (int d = 0; d < p.dim; ++d)
        dot += q[static_cast<std::size_t>(row * p.dim + d)] *
               k[static_cast<std::size_t>(((b * p.extra_kv + e) * p.heads_kv + h / group) * p.dim + d)];
      s[static_cast<std::size_t>(e)] = dot * p.scale;
      m = std::max(m, dot * p.scale);
    }
    double sum = 0.0;
    for (double x : s) sum += std::exp(x - m);
    lse[static_cast<std::size_t>(row)] = static_cast<float>(m + std::log(sum));
    for (int d = 0; d < p.dim_v; ++d) {
      double o = 0.0;
      for (std::int64_t e = 0; e < p.extra_kv; ++e)
        o += std::exp(s[static_cast<std::size_t>(e)] - m) / sum *
             v[static_cast<std::size_t>(((b * p.extra_kv + e) * p.heads_kv + h / group) * p.dim_v + d)];
      out[static_cast<std::size_t>(row * p.dim_v + d)] = static_cast<float>(o);
    }
  }
  return {Tensor::from_floats(p.output_shape(), DType::f32, out.data()),
          Tensor::from_floats(p.lse_shape(), DType::f32, lse.data())};
}

// Keys split into the neighborhood and the additional KV tokens: merging attention over each
// equals the fused op over both (same softmax).
TEST_P(Merge, HalvesEqualAttentionOverTheUnion) {
  std::unique_ptr<Backend> ref = make_backend("reference");
  std::mt19937_64 rng(24);
  int checked = 0;
  for (int i = 0; i < 40; ++i) {
    testing::SweepLimits lim;
    lim.max_tokens = 64;
    Problem p = testing::random_problem(rng, DType::f32, lim);
    if (p.extra_kv == 0) continue;
    SCOPED_TRACE(p.str());
    const NAInputs in = testing::random_inputs(rng, p);
    const ForwardResult both = na_forward(*ref, p.params, in);
    const ForwardResult window = na_forward(*ref, p.params, {in.query, in.key, in.value, {}, {}});
    const ForwardResult extra = attention_over_extra(p, in);
    const ForwardResult merged = merge_attentions(*backend_, {window.output, extra.output}, {window.lse, extra.lse});
    EXPECT_LE(max_abs_diff(merged.output, both.output), 2e-6);
    EXPECT_LE(max_abs_diff(merged.lse, both.lse), 2e-6);
    ++checked;
  }
  EXPECT_GE(checked, 5);
}

TEST_P(Merge, BackwardMatchesFiniteDifferences) {
  std::mt19937_64 rng(25);
  for (bool with_lse_grad : {false, true}) {
    Parts parts = random_parts(rng, 3, {1, 3, 2, 3});
    const Tensor g_out = random_tensor(rng, {1, 3, 2, 3}, DType::f32);
    const Tensor g_lse = with_lse_grad ? random_tensor(rng, {1, 3, 2}, DType::f32) : Tensor();
    const ForwardResult r = merge_attentions(*backend_, parts.outputs, parts.lses);
    const MergeGrads grads =
        merge_attentions_backward(*backend_, parts.outputs, parts.lses, r.output, r.lse, g_out, g_lse);
    auto loss = [&] {
      const ForwardResult m = merge_attentions(*backend_, parts.outputs, parts.lses);
      return testing::weighted_sum(m.output, g_out) + (with_lse_grad ? testing::weighted_sum(m.lse, g_lse) : 0.0);
    };
    for (std::size_t i = 0; i < parts.outputs.size(); ++i) {
      SCOPED_TRACE(::testing::Message() << "part " << i << (with_lse_grad ? " with" : " without") << " lse grad");
      const std::vector<double> d_out = testing::numeric_gradient(parts.outputs[i], loss, 1.0f / 64);
      const std::vector<double> d_lse = testing::numeric_gradient(parts.lses[i], loss, 1.0f / 256);
      for (std::int64_t e = 0; e < grads.outputs[i].numel(); ++e)
        EXPECT_NEAR(grads.outputs[i].get(e), d_out[static_cast<std::size_t>(e)], 2e-5) << "grad_output " << e;
      for (std::int64_t e = 0; e < grads.lses[i].numel(); ++e)
        EXPECT_NEAR(grads.lses[i].get(e), d_lse[static_cast<std::size_t>(e)], 5e-4) << "grad_lse " << e;
    }
  }
}

TEST_P(Merge, RejectsMismatchedParts) {
  std::mt19937_64 rng(26);
  const Parts a = random_parts(rng, 2, {1, 4, 2, 3});
  const Parts b = random_parts(rng, 1, {1, 4, 2, 5});
  auto expect_error = [&](const std::vector<Tensor>& o, const std::vector<Tensor>& l, const char* needle) {
    testing::expect_error_containing([&] { merge_attentions(*backend_, o, l); }, needle);
  };
  expect_error({a.outputs[0]}, {a.lses[0]}, "at least 2");
  expect_error({a.outputs[0], b.outputs[0]}, {a.lses[0], b.lses[0]}, "output 1 has shape [1, 4, 2, 5]");
  expect_error({a.outputs[0], a.outputs[1]}, {a.lses[0]}, "2 outputs but 1 logsumexps");
  expect_error({a.outputs[0], a.outputs[1]}, {a.lses[0], a.lses[1].to(DType::f16)}, "logsumexp 1 has dtype float16");
}

INSTANTIATE_FOR_ALL_BACKENDS(Merge);

}  // namespace
}  // namespace natten
