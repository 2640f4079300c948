#include "natten/ops.hpp"

#include <fmt/format.h>

#include "natten/core/error.hpp"
#include "natten/core/neighborhood.hpp"

namespace natten {
namespace {

void require(const Backend& b, Op op, const Problem& p) {
  const std::string why = unsupported_reason(b, op, p);
  if (!why.empty()) throw Unsupported(fmt::format("backend {}: {} not supported: {}", b.name(), op_name(op), why));
}

void require_merge(const Backend& b, Op op) {
  if (!b.implements(op)) throw Unsupported(fmt::format("backend {}: {} not implemented", b.name(), op_name(op)));
}

Tensor contiguous(const Tensor& t) { return t.defined() ? t.contiguous() : t; }

NAInputs contiguous(const NAInputs& in) {
  return {contiguous(in.query), contiguous(in.key), contiguous(in.value), contiguous(in.additional_key),
          contiguous(in.additional_value)};
}

std::vector<Tensor> contiguous(const std::vector<Tensor>& ts) {
  std::vector<Tensor> out;
  for (const Tensor& t : ts) out.push_back(contiguous(t));
  return out;
}

void require_full_attention(const Problem& p) {
  const std::string why = why_not_full_attention(p);
  if (!why.empty()) fail("fmha: the windows of this problem do not cover every token ({})", why);
}

}  // namespace

Tensor na_qk(Backend& backend, const NAParams& params, const SplitQKInputs& in) {
  const Problem p = validate_qk(params, in);
  require(backend, Op::qk_forward, p);
  Tensor attention = Tensor::empty(attention_shape(p), p.dtype);
  backend.qk_forward(p, {contiguous(in.query), contiguous(in.key), contiguous(in.rpb), contiguous(in.additional_key)},
                     attention);
  backend.synchronize();
  return attention;
}

SplitQKGrads na_qk_backward(Backend& backend, const NAParams& params, const SplitQKInputs& in,
                            const Tensor& d_attention) {
  const Problem p = validate_qk_backward(params, in, d_attention);
  require(backend, Op::qk_backward, p);
  SplitQKGrads g = allocate_qk_grads(p, in);
  backend.qk_backward(p, {contiguous(in.query), contiguous(in.key), contiguous(in.rpb), contiguous(in.additional_key)},
                      d_attention.contiguous(), g);
  backend.synchronize();
  return g;
}

Tensor na_av(Backend& backend, const NAParams& params, const SplitAVInputs& in) {
  const Problem p = validate_av(params, in);
  require(backend, Op::av_forward, p);
  Tensor out = Tensor::empty(p.output_shape(), p.dtype);
  backend.av_forward(p, {contiguous(in.attention), contiguous(in.value), contiguous(in.additional_value)}, out);
  backend.synchronize();
  return out;
}

SplitAVGrads na_av_backward(Backend& backend, const NAParams& params, const SplitAVInputs& in, const Tensor& d_output) {
  const Problem p = validate_av_backward(params, in, d_output);
  require(backend, Op::av_backward, p);
  SplitAVGrads g = allocate_av_grads(p, in);
  backend.av_backward(p, {contiguous(in.attention), contiguous(in.value), contiguous(in.additional_value)},
                      d_output.contiguous(), g);
  backend.synchronize();
  return g;
}

ForwardResult merge_attentions(Backend& backend, const std::vector<Tensor>& outputs, const std::vector<Tensor>& lses) {
  const MergeProblem m = validate_merge(outputs, lses);
  require_merge(backend, Op::merge_forward);
  ForwardResult r{Tensor::empty(m.output_shape, m.dtype), Tensor::empty(m.lse_shape, DType::f32)};
  backend.merge_forward(m, contiguous(outputs), contiguous(lses), r.output, r.lse);
  backend.synchronize();
  return r;
}

MergeGrads merge_attentions_backward(Backend& backend, const std::vector<Tensor>& outputs,
                                     const std::vector<Tensor>& lses, const Tensor& output, const Tensor& lse,
                                     const Tensor& d_output, const Tensor& d_lse) {
  const MergeProblem m = validate_merge_backward(outputs, lses, output, lse, d_output, d_lse);
  require_merge(backend, Op::merge_backward);
  MergeGrads g;
  for (int i = 0; i < m.parts; ++i) {
    g.outputs.push_back(Tensor::zeros(m.output_shape, m.dtype));
    g.lses.push_back(Tensor::zeros(m.lse_shape, DType::f32));
  }
  backend.merge_backward(m, contiguous(outputs), contiguous(lses), output.contiguous(), lse.contiguous(),
                         d_output.contiguous(), contiguous(d_lse), g.outputs, g.lses);
  backend.synchronize();
  return g;
}

ForwardResult na_forward_varlen(Backend& backend, const NAParams& params, const NAInputs& in,
                                const std::vector<Extent>& extents) {
  const VarlenProblem v = validate_varlen_forward(params, in, extents);
  require(backend, Op::varlen_forward, v.padded);
  ForwardResult r{Tensor::zeros(v.padded.output_shape(), v.padded.dtype), Tensor::zeros(v.padded.lse_shape(), DType::f32)};
  backend.varlen_forward(v, contiguous(in), r.output, r.lse);
  backend.synchronize();
  return r;
}

Gradients na_backward_varlen(Backend& backend, const NAParams& params, const NAInputs& in,
                             const std::vector<Extent>& extents, const Tensor& output, const Tensor& lse,
                             const Tensor& d_output) {
  const VarlenProblem v = validate_varlen_backward(params, in, extents, output, lse, d_output);
  require(backend, Op::varlen_backward, v.padded);
  Gradients g = allocate_gradients(v.padded);
  backend.varlen_backward(v, contiguous(in), output.contiguous(), lse.contiguous(), d_output.contiguous(), g);
  backend.synchronize();
  return g;
}

ForwardResult fmha_forward(Backend& backend, const NAParams& params, const NAInputs& in) {
  const Problem p = validate_forward(params, in);
  require_full_attention(p);
  require(backend, Op::fmha_forward, p);
  ForwardResult r{Tensor::empty(p.output_shape(), p.dtype), Tensor::empty(p.lse_shape(), DType::f32)};
  backend.fmha_forward(p, contiguous(in), r.output, r.lse);
  backend.synchronize();
  return r;
}

Gradients fmha_backward(Backend& backend, const NAParams& params, const NAInputs& in, const Tensor& output,
                        const Tensor& lse, const Tensor& d_output) {
  const Problem p = validate_backward(params, in, output, lse, d_output);
  require_full_attention(p);
  require(backend, Op::fmha_backward, p);
  Gradients g = allocate_gradients(p);
  backend.fmha_backward(p, contiguous(in), output.contiguous(), lse.contiguous(), d_output.contiguous(), g);
  backend.synchronize();
  return g;
}

}  // namespace natten
