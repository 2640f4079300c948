#include "natten/core/problem.hpp"

#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "natten/core/error.hpp"

namespace natten {

NAParams NAParams::uniform(int rank, int kernel, int stride, int dilation, bool causal) {
  NAParams p;
  p.rank = rank;
  for (int a = 0; a < kMaxRank; ++a) {
    p.kernel[a] = a < rank ? kernel : 1;
    p.stride[a] = stride;
    p.dilation[a] = dilation;
    p.causal[a] = a < rank && causal;
  }
  return p;
}

namespace {

template <typename T>
std::string join_axes(const T& v, int rank) {
  std::string s;
  for (int a = 0; a < rank; ++a) s += (a ? "x" : "") + fmt::format("{}", static_cast<long long>(v[a]));
  return s;
}

}  // namespace

std::string NAParams::str() const {
  std::string s = fmt::format("k={} s={} d={} causal={}", join_axes(kernel, rank), join_axes(stride, rank),
                              join_axes(dilation, rank), join_axes(causal, rank));
  if (scale) s += fmt::format(" scale={}", *scale);
  return s;
}

NattenAxis Problem::axis(int a) const {
  if (a >= rank()) return NattenAxis{1, 1, 1, 1, 0};
  return NattenAxis{static_cast<int>(spatial[a]), params.kernel[a], params.stride[a], params.dilation[a],
                    params.causal[a] ? 1 : 0};
}

namespace {

Shape token_shape(const Problem& p, std::int64_t last0, std::int64_t last1) {
  Shape s{p.batch};
  for (int a = 0; a < p.rank(); ++a) s.push_back(p.spatial[a]);
  s.push_back(last0);
  if (last1 >= 0) s.push_back(last1);
  return s;
}

}  // namespace

Shape Problem::query_shape() const { return token_shape(*this, heads_q, dim); }
Shape Problem::kv_shape(int head_dim) const { return token_shape(*this, heads_kv, head_dim); }
Shape Problem::extra_kv_shape(int head_dim) const { return {batch, extra_kv, heads_kv, head_dim}; }
Shape Problem::output_shape() const { return token_shape(*this, heads_q, dim_v); }
Shape Problem::lse_shape() const { return token_shape(*this, heads_q, -1); }

std::string Problem::str() const {
  std::string s = fmt::format("rank={} B={} S={} Hq={} Hkv={} D={}", rank(), batch, join_axes(spatial, rank()),
                              heads_q, heads_kv, dim);
  if (dim_v != dim) s += fmt::format(" Dv={}", dim_v);
  if (extra_kv) s += fmt::format(" extra_kv={}", extra_kv);
  return s + fmt::format(" {} {}", params.str(), dtype_name(dtype));
}

namespace {

void check_params(const NAParams& p) {
  if (p.rank < 1 || p.rank > kMaxRank) fail("rank: {} is not supported (expected 1, 2 or 3)", p.rank);
  for (int a = 0; a < p.rank; ++a) {
    if (p.kernel[a] < 2) fail("kernel_size[{}] = {}: must be >= 2", a, p.kernel[a]);
    if (p.dilation[a] < 1) fail("dilation[{}] = {}: must be >= 1", a, p.dilation[a]);
    if (p.stride[a] < 1) fail("stride[{}] = {}: must be >= 1", a, p.stride[a]);
    if (p.stride[a] > p.kernel[a])
      fail("stride[{}] = {}: must be <= kernel_size[{}] = {}", a, p.stride[a], a, p.kernel[a]);
  }
  if (p.scale && !(std::isfinite(*p.scale) && *p.scale != 0.0))
    fail("scale = {}: must be finite and non-zero (leave it unset for head_dim ** -0.5)", *p.scale);
}

void check_spatial(const NAParams& p, const std::array<std::int64_t, kMaxRank>& spatial) {
  for (int a = 0; a < p.rank; ++a) {
    const std::int64_t len = spatial[a];
    if (len < 1) fail("input size along axis {} is {}: must be >= 1", a, len);
    if (len > (std::int64_t{1} << 30)) fail("input size along axis {} is {}: too large", a, len);
    if (static_cast<std::int64_t>(p.kernel[a]) * p.dilation[a] > len)
      fail("kernel_size[{}] * dilation[{}] = {} * {} exceeds input size {} along axis {}", a, a, p.kernel[a],
           p.dilation[a], len, a);
  }
}

void check_extent(const char* what, std::int64_t v) {
  if (v < 1) fail("{} is {}: must be >= 1", what, v);
  if (v > (std::int64_t{1} << 30)) fail("{} is {}: too large", what, v);
}

Problem finish(const NAParams& params, Problem p) {
  check_params(params);
  p.params = params;
  check_extent("batch size", p.batch);
  check_spatial(params, p.spatial);
  check_extent("query heads", p.heads_q);
  check_extent("key/value heads", p.heads_kv);
  check_extent("head dim", p.dim);
  check_extent("value head dim", p.dim_v);
  if (p.extra_kv < 0) fail("additional KV tokens: {} must be >= 0", p.extra_kv);
  if (p.heads_q % p.heads_kv != 0)
    fail("heads: query heads {} is not a multiple of key/value heads {}", p.heads_q, p.heads_kv);
  for (const Shape& s : {p.query_shape(), p.kv_shape(p.dim), p.kv_shape(p.dim_v), p.output_shape()}) {
    // Each factor is <= 2^30, so checking the running product after every factor cannot overflow.
    std::int64_t n = 1;
    for (auto e : s) {
      n *= e;
      if (n > kMaxElements) fail("tensor of shape {} has more than {} elements", shape_str(s), kMaxElements);
    }
  }
  p.scale = params.scale ? *params.scale : 1.0 / std::sqrt(static_cast<double>(p.dim));
  return p;
}

void expect_rank(const char* name, const Tensor& t, int want) {
  if (t.dim() != want)
    fail("{}: expected {} axes ([B, *spatial, heads, dim] for NA rank {}), got shape {}", name, want, want - 3,
         shape_str(t.shape()));
}

void expect_same(const char* name, const Tensor& t, const Shape& want) {
  if (t.shape() != want) fail("{}: expected shape {}, got {}", name, shape_str(want), shape_str(t.shape()));
}

void expect_dtype(const char* name, const Tensor& t, DType want) {
  if (t.dtype() != want) fail("{}: dtype {} differs from query dtype {}", name, dtype_name(t.dtype()), dtype_name(want));
}

}  // namespace

Problem make_problem(const ProblemSpec& spec) {
  check_params(spec.params);
  Problem p;
  p.dtype = spec.dtype;
  p.batch = spec.batch;
  p.spatial = {1, 1, 1};
  for (int a = 0; a < spec.params.rank; ++a) p.spatial[a] = spec.spatial[a];
  p.heads_q = spec.heads_q;
  p.heads_kv = spec.heads_kv;
  p.dim = spec.dim;
  p.dim_v = spec.dim_v == 0 ? spec.dim : spec.dim_v;
  p.extra_kv = spec.extra_kv;
  return finish(spec.params, p);
}

Problem validate_forward(const NAParams& params, const NAInputs& in) {
  check_params(params);
  const int nd = params.rank + 3;
  if (!in.query.defined() || !in.key.defined() || !in.value.defined()) fail("query, key and value are required");
  expect_rank("query", in.query, nd);
  expect_rank("key", in.key, nd);
  expect_rank("value", in.value, nd);
  const Shape& q = in.query.shape();
  const Shape& k = in.key.shape();
  const Shape& v = in.value.shape();
  Problem p;
  p.dtype = in.query.dtype();
  p.batch = q[0];
  for (int a = 0; a < params.rank; ++a) p.spatial[a] = q[static_cast<std::size_t>(a + 1)];
  p.heads_q = static_cast<int>(std::min<std::int64_t>(q[nd - 2], INT32_MAX));
  p.dim = static_cast<int>(std::min<std::int64_t>(q[nd - 1], INT32_MAX));
  p.heads_kv = static_cast<int>(std::min<std::int64_t>(k[nd - 2], INT32_MAX));
  p.dim_v = static_cast<int>(std::min<std::int64_t>(v[nd - 1], INT32_MAX));
  if (k[0] != q[0] || v[0] != q[0]) fail("batch: query {}, key {}, value {} differ", q[0], k[0], v[0]);
  for (int a = 1; a <= params.rank; ++a) {
    if (k[a] != q[a] || v[a] != q[a])
      fail("spatial size along axis {}: query {}, key {}, value {} differ", a - 1, q[a], k[a], v[a]);
  }
  if (k[nd - 1] != q[nd - 1]) fail("head dim: query {} and key {} differ", q[nd - 1], k[nd - 1]);
  if (v[nd - 2] != k[nd - 2]) fail("heads: key {} and value {} differ", k[nd - 2], v[nd - 2]);
  expect_dtype("key", in.key, p.dtype);
  expect_dtype("value", in.value, p.dtype);
  const bool has_ak = in.additional_key.defined();
  if (has_ak != in.additional_value.defined()) fail("additional_key and additional_value must be given together");
  if (has_ak) {
    const Tensor& ak = in.additional_key;
    const Tensor& av = in.additional_value;
    if (ak.dim() != 4 || av.dim() != 4)
      fail("additional_key/value: expected [B, N, heads, dim], got {} and {}", shape_str(ak.shape()),
           shape_str(av.shape()));
    p.extra_kv = ak.size(1);
    if (p.extra_kv < 1) fail("additional KV: {} tokens given, expected at least 1", p.extra_kv);
    expect_dtype("additional_key", ak, p.dtype);
    expect_dtype("additional_value", av, p.dtype);
  }
  p = finish(params, p);
  if (has_ak) {
    expect_same("additional_key", in.additional_key, p.extra_kv_shape(p.dim));
    expect_same("additional_value", in.additional_value, p.extra_kv_shape(p.dim_v));
  }
  return p;
}

Problem validate_backward(const NAParams& params, const NAInputs& in, const Tensor& output, const Tensor& lse,
                          const Tensor& d_output) {
  Problem p = validate_forward(params, in);
  if (!output.defined() || !lse.defined() || !d_output.defined())
    fail("backward needs output, logsumexp and grad_output");
  expect_same("output", output, p.output_shape());
  expect_same("grad_output", d_output, p.output_shape());
  expect_same("logsumexp", lse, p.lse_shape());
  expect_dtype("output", output, p.dtype);
  expect_dtype("grad_output", d_output, p.dtype);
  if (lse.dtype() != DType::f32) fail("logsumexp: dtype {} must be float32", dtype_name(lse.dtype()));
  return p;
}

}  // namespace natten
