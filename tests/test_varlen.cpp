// Variable-length fused NA on every backend that implements it: each sample of a padded batch
// equals the same backend run on that sample alone, padding (filled with NaN) is never read, and
// outputs, logsumexps and gradients at padded positions are zero.
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

using testing::slice_sample;

struct VarlenCase {
  Problem padded;
  std::vector<Extent> extents;
  NAInputs in;
};

bool is_padding(const VarlenCase& c, std::int64_t b, std::int64_t token) {
  const Coord x = unflatten(c.padded, token);
  for (int a = 0; a < c.padded.rank(); ++a) {
    if (x[a] >= c.extents[static_cast<std::size_t>(b)][a]) return true;
  }
  return false;
}

// Sets every element of the padded tokens of a [B, *S, ...] tensor.
void fill_padding(const VarlenCase& c, Tensor& t, float value) {
  const std::int64_t per_token = t.numel() / (c.padded.batch * c.padded.tokens());
  for (std::int64_t b = 0; b < c.padded.batch; ++b) {
    for (std::int64_t tok = 0; tok < c.padded.tokens(); ++tok) {
      if (!is_padding(c, b, tok)) continue;
      for (std::int64_t i = 0; i < per_token; ++i) t.set((b * c.padded.tokens() + tok) * per_token + i, value);
    }
  }
}

VarlenCase random_varlen_case(std::mt19937_64& rng) {
  testing::SweepLimits lim;
  lim.max_tokens = 64;
  const Problem base = testing::random_problem(rng, DType::f32, lim);
  ProblemSpec s;
  s.params = base.params;
  s.batch = 3;
  s.spatial = base.spatial;
  s.heads_q = base.heads_q;
  s.heads_kv = base.heads_kv;
  s.dim = base.dim;
  s.dim_v = base.dim_v;
  s.extra_kv = base.extra_kv;
  VarlenCase c{make_problem(s), {}, {}};
  for (int b = 0; b < 3; ++b) {
    Extent e{1, 1, 1};
    for (int a = 0; a < base.rank(); ++a) {
      const int lo = base.params.kernel[a] * base.params.dilation[a];
      // Sample 0 fills the padded box; the others are random sizes the window rule still allows.
      e[a] = b == 0 ? base.spatial[a] : std::uniform_int_distribution<std::int64_t>(lo, base.spatial[a])(rng);
    }
    c.extents.push_back(e);
  }
  c.in = testing::random_inputs(rng, c.padded);
  for (Tensor* t : {&c.in.query, &c.in.key, &c.in.value}) fill_padding(c, *t, NAN);
  return c;
}

NAInputs sample_inputs(const VarlenCase& c, std::int64_t b) {
  const int r = c.padded.rank();
  const Extent& e = c.extents[static_cast<std::size_t>(b)];
  NAInputs s{slice_sample(c.in.query, r, b, e), slice_sample(c.in.key, r, b, e), slice_sample(c.in.value, r, b, e),
             {}, {}};
  if (c.padded.extra_kv > 0) {
    const Extent all{c.padded.extra_kv, 1, 1};  // [B, N, H, D] sliced as a rank-1 layout
    s.additional_key = slice_sample(c.in.additional_key, 1, b, all);
    s.additional_value = slice_sample(c.in.additional_value, 1, b, all);
  }
  return s;
}

void expect_padding_zero(const VarlenCase& c, const Tensor& t, const char* what) {
  Tensor probe = t.clone();
  fill_padding(c, probe, 0.0f);
  EXPECT_EQ(max_abs_diff(probe, t), 0.0) << what << " is not zero at padded positions";
}

class Varlen : public testing::BackendTest {
 protected:
  void SetUp() override { SKIP_UNLESS_IMPLEMENTED(Op::varlen_forward, Op::varlen_backward); }
};

TEST_P(Varlen, EachSampleEqualsItsOwnRun) {
  std::mt19937_64 rng(31);
  for (int i = 0; i < 15; ++i) {
    const VarlenCase c = random_varlen_case(rng);
    SCOPED_TRACE(c.padded.str());
    const ForwardResult r = na_forward_varlen(*backend_, c.padded.params, c.in, c.extents);
    Tensor d_out = testing::random_tensor(rng, c.padded.output_shape(), c.padded.dtype);
    fill_padding(c, d_out, NAN);
    const Gradients g = na_backward_varlen(*backend_, c.padded.params, c.in, c.extents, r.output, r.lse, d_out);
    expect_padding_zero(c, r.output, "output");
    expect_padding_zero(c, r.lse, "logsumexp");
    expect_padding_zero(c, g.query, "grad_query");
    expect_padding_zero(c, g.key, "grad_key");
    expect_padding_zero(c, g.value, "grad_value");
    std::vector<Gradients> per_sample;
    for (std::int64_t b = 0; b < c.padded.batch; ++b) {
      SCOPED_TRACE(::testing::Message() << "sample " << b);
      const int r_ = c.padded.rank();
      const Extent& e = c.extents[static_cast<std::size_t>(b)];
      const NAInputs s = sample_inputs(c, b);
      const ForwardResult alone = na_forward(*backend_, c.padded.params, s);
      EXPECT_LE(max_abs_diff(slice_sample(r.output, r_, b, e), alone.output), 1e-6);
      EXPECT_LE(max_abs_diff(slice_sample(r.lse, r_, b, e), alone.lse), 1e-6);
      const Gradients ga = na_backward(*backend_, c.padded.params, s, alone.output, alone.lse,
                                       slice_sample(d_out, r_, b, e));
      EXPECT_LE(max_abs_diff(slice_sample(g.query, r_, b, e), ga.query), 1e-5);
      EXPECT_LE(max_abs_diff(slice_sample(g.key, r_, b, e), ga.key), 1e-5);
      EXPECT_LE(max_abs_diff(slice_sample(g.value, r_, b, e), ga.value), 1e-5);
      if (c.padded.extra_kv > 0) {
        const Extent all{c.padded.extra_kv, 1, 1};
        EXPECT_LE(max_abs_diff(slice_sample(g.additional_key, 1, b, all), ga.additional_key), 1e-5);
        EXPECT_LE(max_abs_diff(slice_sample(g.additional_value, 1, b, all), ga.additional_value), 1e-5);
      }
    }
  }
}

TEST_P(Varlen, RejectsBadExtents) {
  std::mt19937_64 rng(32);
  ProblemSpec s;
  s.params = NAParams::uniform(2, 3);
  s.batch = 2;
  s.spatial = {6, 5, 1};
  s.heads_q = s.heads_kv = 1;
  s.dim = 2;
  const Problem p = make_problem(s);
  const NAInputs in = testing::random_inputs(rng, p);
  auto expect_error = [&](const std::vector<Extent>& e, const char* needle) {
    testing::expect_error_containing([&] { na_forward_varlen(*backend_, p.params, in, e); }, needle);
  };
  expect_error({{6, 5, 1}}, "1 extents given for batch size 2");
  expect_error({{6, 5, 1}, {7, 5, 1}}, "sample 1 extent along axis 0 is 7, expected 1..6");
  expect_error({{6, 5, 1}, {6, 2, 1}}, "sample 1 extent 2 along axis 1 is smaller than kernel_size * dilation = 3 * 1");
  expect_error({{6, 5, 1}, {6, 5, 2}}, "sample 1 extent along axis 2 is 2, expected 1 (rank 2)");
}

INSTANTIATE_FOR_ALL_BACKENDS(Varlen);

}  // namespace
}  // namespace natten
