#include "natten/core/split.hpp"

#include "natten/core/error.hpp"

namespace natten {

std::int64_t window_slots(const Problem& p) {
  std::int64_t w = 1;
  for (int a = 0; a < p.rank(); ++a) w *= p.params.kernel[a];
  return w;
}

Shape attention_shape(const Problem& p) {
  Shape s = p.lse_shape();
  s.push_back(window_slots(p) + p.extra_kv);
  return s;
}

Shape rpb_shape(const Problem& p) {
  Shape s{p.heads_q};
  for (int a = 0; a < p.rank(); ++a) s.push_back(2 * p.params.kernel[a] - 1);
  return s;
}

namespace {

void expect_shape(const char* name, const Tensor& t, const Shape& want) {
  if (t.shape() != want) fail("{}: expected shape {}, got {}", name, shape_str(want), shape_str(t.shape()));
}

void expect_dtype(const char* name, const Tensor& t, DType want) {
  if (t.dtype() != want) fail("{}: dtype {} differs from {}", name, dtype_name(t.dtype()), dtype_name(want));
}

// Upstream's qk has no scale argument; accepting one here would silently mean something else.
void check_no_scale(const NAParams& params) {
  if (params.scale && *params.scale != 1.0)
    fail("scale = {}: na_qk does not scale (pre-scale the query); leave scale unset", *params.scale);
}

}  // namespace

Problem validate_qk(const NAParams& params, const SplitQKInputs& in) {
  check_no_scale(params);
  // The fused op's rules cover everything but the bias; key stands in for value (dim_v = dim).
  Problem p = validate_forward(params, {in.query, in.key, in.key, in.additional_key, in.additional_key});
  p.scale = 1.0;
  if (in.rpb.defined()) {
    expect_shape("rpb", in.rpb, rpb_shape(p));
    expect_dtype("rpb", in.rpb, p.dtype);
  }
  return p;
}

Problem validate_qk_backward(const NAParams& params, const SplitQKInputs& in, const Tensor& d_attention) {
  Problem p = validate_qk(params, in);
  if (!d_attention.defined()) fail("na_qk backward needs grad_attention");
  expect_shape("grad_attention", d_attention, attention_shape(p));
  expect_dtype("grad_attention", d_attention, p.dtype);
  return p;
}

Problem validate_av(const NAParams& params, const SplitAVInputs& in) {
  if (params.rank < 1 || params.rank > kMaxRank) fail("rank: {} is not supported (expected 1, 2 or 3)", params.rank);
  if (!in.attention.defined() || !in.value.defined()) fail("na_av needs attention and value");
  const int nd = params.rank + 3;
  const Tensor& at = in.attention;
  const Tensor& v = in.value;
  if (at.dim() != nd || v.dim() != nd)
    fail("attention/value: expected {} axes ([B, *spatial, heads, ...] for NA rank {}), got {} and {}", nd,
         params.rank, shape_str(at.shape()), shape_str(v.shape()));
  for (int a = 0; a <= params.rank; ++a) {
    if (at.size(a) != v.size(a))
      fail("{}: attention {} and value {} differ", a == 0 ? "batch" : "spatial size", at.size(a), v.size(a));
  }
  ProblemSpec s;
  s.params = params;
  s.dtype = at.dtype();
  s.batch = at.size(0);
  for (int a = 0; a < params.rank; ++a) s.spatial[a] = at.size(a + 1);
  s.heads_q = static_cast<int>(std::min<std::int64_t>(at.size(-2), INT32_MAX));
  s.heads_kv = static_cast<int>(std::min<std::int64_t>(v.size(-2), INT32_MAX));
  s.dim = s.dim_v = static_cast<int>(std::min<std::int64_t>(v.size(-1), INT32_MAX));
  expect_dtype("value", v, s.dtype);
  if (in.additional_value.defined()) {
    const Tensor& ev = in.additional_value;
    if (ev.dim() != 4) fail("additional_value: expected [B, N, heads, dim], got {}", shape_str(ev.shape()));
    s.extra_kv = ev.size(1);
    if (s.extra_kv < 1) fail("additional_value: {} tokens given, expected at least 1", s.extra_kv);
    expect_dtype("additional_value", ev, s.dtype);
  }
  Problem p = make_problem(s);
  p.scale = 1.0;
  if (at.size(-1) != window_slots(p) + p.extra_kv)
    fail("attention: last axis holds {} weights, expected {} (prod(kernel_size) = {}{})", at.size(-1),
         window_slots(p) + p.extra_kv, window_slots(p),
         p.extra_kv ? fmt::format(" + {} additional tokens", p.extra_kv) : std::string());
  if (p.extra_kv) expect_shape("additional_value", in.additional_value, p.extra_kv_shape(p.dim_v));
  return p;
}

Problem validate_av_backward(const NAParams& params, const SplitAVInputs& in, const Tensor& d_output) {
  Problem p = validate_av(params, in);
  if (!d_output.defined()) fail("na_av backward needs grad_output");
  expect_shape("grad_output", d_output, p.output_shape());
  expect_dtype("grad_output", d_output, p.dtype);
  return p;
}

SplitQKGrads allocate_qk_grads(const Problem& p, const SplitQKInputs& in) {
  SplitQKGrads g;
  g.query = Tensor::zeros(p.query_shape(), p.dtype);
  g.key = Tensor::zeros(p.kv_shape(p.dim), p.dtype);
  if (in.rpb.defined()) g.rpb = Tensor::zeros(rpb_shape(p), p.dtype);
  if (p.extra_kv > 0) g.additional_key = Tensor::zeros(p.extra_kv_shape(p.dim), p.dtype);
  return g;
}

SplitAVGrads allocate_av_grads(const Problem& p, const SplitAVInputs& in) {
  SplitAVGrads g;
  g.attention = Tensor::zeros(in.attention.shape(), p.dtype);
  g.value = Tensor::zeros(p.kv_shape(p.dim_v), p.dtype);
  if (p.extra_kv > 0) g.additional_value = Tensor::zeros(p.extra_kv_shape(p.dim_v), p.dtype);
  return g;
}

}  // namespace natten
