#include "natten/backend/cpu/fused/varlen.hpp"

#include <cstring>

#include "natten/backend.hpp"

namespace natten::cpu {
namespace {

// Bytes of one token's row (every head) of a heads-last tensor.
std::size_t token_bytes(const Tensor& t, std::int64_t tokens_per_batch, std::int64_t batch) {
  return static_cast<std::size_t>(t.numel() / (tokens_per_batch * batch)) * dtype_size(t.dtype());
}

// The rows of sample b's valid tokens, in the sample's own row-major order, as a compact tensor.
Tensor gather(const VarlenProblem& v, const Problem& s, std::int64_t b, const Tensor& padded, const Shape& shape) {
  Tensor out = Tensor::empty(shape, padded.dtype());
  const std::size_t row = token_bytes(padded, v.padded.tokens(), v.padded.batch);
  const auto* src = static_cast<const std::byte*>(padded.raw());
  auto* dst = static_cast<std::byte*>(out.raw());
  for (std::int64_t t = 0; t < s.tokens(); ++t) {
    const std::int64_t from = b * v.padded.tokens() + v.padded_token(s, t);
    std::memcpy(dst + static_cast<std::size_t>(t) * row, src + static_cast<std::size_t>(from) * row, row);
  }
  return out;
}

void scatter(const VarlenProblem& v, const Problem& s, std::int64_t b, const Tensor& compact, Tensor& padded) {
  const std::size_t row = token_bytes(padded, v.padded.tokens(), v.padded.batch);
  const auto* src = static_cast<const std::byte*>(compact.raw());
  auto* dst = static_cast<std::byte*>(padded.raw());
  for (std::int64_t t = 0; t < s.tokens(); ++t) {
    const std::int64_t to = b * v.padded.tokens() + v.padded_token(s, t);
    std::memcpy(dst + static_cast<std::size_t>(to) * row, src + static_cast<std::size_t>(t) * row, row);
  }
}

// Batch element b of a [B, ...] tensor (additional KV): a contiguous slice, copied.
Tensor batch_slice(const Tensor& t, std::int64_t b) {
  if (!t.defined()) return t;
  Shape shape = t.shape();
  const std::int64_t batches = shape[0];
  shape[0] = 1;
  Tensor out = Tensor::empty(shape, t.dtype());
  const std::size_t bytes = static_cast<std::size_t>(t.numel() / batches) * dtype_size(t.dtype());
  std::memcpy(out.raw(), static_cast<const std::byte*>(t.raw()) + static_cast<std::size_t>(b) * bytes, bytes);
  return out;
}

void store_batch_slice(const Tensor& slice, std::int64_t b, Tensor& t) {
  if (!t.defined()) return;
  const std::size_t bytes = static_cast<std::size_t>(slice.numel()) * dtype_size(slice.dtype());
  std::memcpy(static_cast<std::byte*>(t.raw()) + static_cast<std::size_t>(b) * bytes, slice.raw(), bytes);
}

void zero(Tensor& t) {
  if (t.defined()) std::memset(t.raw(), 0, static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype()));
}

NAInputs sample_inputs(const VarlenProblem& v, const Problem& s, std::int64_t b, const NAInputs& in) {
  return {gather(v, s, b, in.query, s.query_shape()), gather(v, s, b, in.key, s.kv_shape(s.dim)),
          gather(v, s, b, in.value, s.kv_shape(s.dim_v)), batch_slice(in.additional_key, b),
          batch_slice(in.additional_value, b)};
}

}  // namespace

void run_varlen_forward(const VarlenProblem& v, const NAInputs& in, Tensor& out, Tensor& lse, const Workers& w) {
  zero(out);
  zero(lse);
  for (std::int64_t b = 0; b < v.padded.batch; ++b) {
    const Problem s = v.sample(b);
    Tensor o = Tensor::empty(s.output_shape(), s.dtype), l = Tensor::empty(s.lse_shape(), DType::f32);
    run_forward(s, sample_inputs(v, s, b, in), o, l, w);
    scatter(v, s, b, o, out);
    scatter(v, s, b, l, lse);
  }
}

void run_varlen_backward(const VarlenProblem& v, const NAInputs& in, const Tensor& out, const Tensor& lse,
                         const Tensor& d_out, Gradients& grads, const Workers& w) {
  for (Tensor* g : {&grads.query, &grads.key, &grads.value, &grads.additional_key, &grads.additional_value}) zero(*g);
  for (std::int64_t b = 0; b < v.padded.batch; ++b) {
    const Problem s = v.sample(b);
    const NAInputs si = sample_inputs(v, s, b, in);
    Gradients g = allocate_gradients(s);
    run_backward(s, si, gather(v, s, b, out, s.output_shape()), gather(v, s, b, lse, s.lse_shape()),
                 gather(v, s, b, d_out, s.output_shape()), g, w);
    scatter(v, s, b, g.query, grads.query);
    scatter(v, s, b, g.key, grads.key);
    scatter(v, s, b, g.value, grads.value);
    store_batch_slice(g.additional_key, b, grads.additional_key);
    store_batch_slice(g.additional_value, b, grads.additional_value);
  }
}

}  // namespace natten::cpu
