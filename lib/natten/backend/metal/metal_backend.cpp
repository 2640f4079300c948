#include "natten/backend/metal/metal_backend.hpp"

#include "natten/core/error.hpp"

namespace natten::metal {

namespace {

HostBuffer input(const Tensor& t, const char* what) {
  if (!t.is_contiguous()) fail("metal: {} must be contiguous", what);
  return {t.raw(), static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype()), false};
}

HostBuffer output(Tensor& t, const char* what) {
  HostBuffer b = input(t, what);
  b.written = true;
  return b;
}

}  // namespace

MetalBackend::MetalBackend(std::unique_ptr<KernelExecutor> executor, PlanOptions options)
    : executor_(std::move(executor)), options_(options) {}

std::string MetalBackend::description() const { return "Metal shaders on " + executor_->device_name(); }

bool MetalBackend::implements(Op op) const {
  switch (op) {
    case Op::forward:
    case Op::backward:
    case Op::qk_forward:
    case Op::qk_backward:
    case Op::av_forward:
    case Op::av_backward: return true;
    default: return false;
  }
}

std::string MetalBackend::why_unsupported(Op op, const Problem& problem) const {
  switch (op) {
    case Op::qk_forward:
    case Op::qk_backward:
    case Op::av_forward:
    case Op::av_backward: return why_split_unplannable(problem);
    default: return why_unplannable(problem);
  }
}

void MetalBackend::forward(const Problem& p, const NAInputs& in, Tensor& out, Tensor& lse) {
  BufferTable t{{Role::query, input(in.query, "query")},
                {Role::key, input(in.key, "key")},
                {Role::value, input(in.value, "value")},
                {Role::output, output(out, "output")},
                {Role::lse, output(lse, "logsumexp")}};
  if (p.extra_kv > 0) {
    t[Role::additional_key] = input(in.additional_key, "additional_key");
    t[Role::additional_value] = input(in.additional_value, "additional_value");
  }
  executor_->execute(plan_forward(p, options_), t);
}

void MetalBackend::backward(const Problem& p, const NAInputs& in, const Tensor& out, const Tensor& lse,
                            const Tensor& d_out, Gradients& g) {
  BufferTable t{{Role::query, input(in.query, "query")},
                {Role::key, input(in.key, "key")},
                {Role::value, input(in.value, "value")},
                {Role::output, input(out, "output")},
                {Role::lse, input(lse, "logsumexp")},
                {Role::d_output, input(d_out, "grad_output")},
                {Role::d_query, output(g.query, "grad_query")},
                {Role::d_key, output(g.key, "grad_key")},
                {Role::d_value, output(g.value, "grad_value")}};
  if (p.extra_kv > 0) {
    t[Role::additional_key] = input(in.additional_key, "additional_key");
    t[Role::additional_value] = input(in.additional_value, "additional_value");
    t[Role::d_additional_key] = output(g.additional_key, "grad_additional_key");
    t[Role::d_additional_value] = output(g.additional_value, "grad_additional_value");
  }
  executor_->execute(plan_backward(p, options_), t);
}

namespace {

void add_optional_input(BufferTable& t, Role role, const Tensor& x, const char* what) {
  if (x.defined()) t[role] = input(x, what);
}

}  // namespace

void MetalBackend::qk_forward(const Problem& p, const SplitQKInputs& in, Tensor& attention) {
  BufferTable t{{Role::query, input(in.query, "query")}, {Role::key, input(in.key, "key")},
                {Role::attention, output(attention, "attention")}};
  add_optional_input(t, Role::rpb, in.rpb, "rpb");
  add_optional_input(t, Role::additional_key, in.additional_key, "additional_key");
  executor_->execute(plan_qk(p, in.rpb.defined(), options_), t);
}

void MetalBackend::qk_backward(const Problem& p, const SplitQKInputs& in, const Tensor& d_attention,
                               SplitQKGrads& g) {
  BufferTable t{{Role::query, input(in.query, "query")},
                {Role::key, input(in.key, "key")},
                {Role::d_attention, input(d_attention, "grad_attention")},
                {Role::d_query, output(g.query, "grad_query")},
                {Role::d_key, output(g.key, "grad_key")}};
  add_optional_input(t, Role::additional_key, in.additional_key, "additional_key");
  if (in.rpb.defined()) t[Role::d_rpb] = output(g.rpb, "grad_rpb");
  if (p.extra_kv > 0) t[Role::d_additional_key] = output(g.additional_key, "grad_additional_key");
  executor_->execute(plan_qk_backward(p, in.rpb.defined(), options_), t);
}

void MetalBackend::av_forward(const Problem& p, const SplitAVInputs& in, Tensor& out) {
  BufferTable t{{Role::attention, input(in.attention, "attention")}, {Role::value, input(in.value, "value")},
                {Role::output, output(out, "output")}};
  add_optional_input(t, Role::additional_value, in.additional_value, "additional_value");
  executor_->execute(plan_av(p, options_), t);
}

void MetalBackend::av_backward(const Problem& p, const SplitAVInputs& in, const Tensor& d_out, SplitAVGrads& g) {
  BufferTable t{{Role::attention, input(in.attention, "attention")},
                {Role::value, input(in.value, "value")},
                {Role::d_output, input(d_out, "grad_output")},
                {Role::d_attention, output(g.attention, "grad_attention")},
                {Role::d_value, output(g.value, "grad_value")}};
  add_optional_input(t, Role::additional_value, in.additional_value, "additional_value");
  if (p.extra_kv > 0) t[Role::d_additional_value] = output(g.additional_value, "grad_additional_value");
  executor_->execute(plan_av_backward(p, options_), t);
}

}  // namespace natten::metal
