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

std::string MetalBackend::why_unsupported(Op, const Problem& problem) const { return why_unplannable(problem); }

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
void add_optional_output(BufferTable& t, Role role, Tensor& x, const char* what) {
  if (x.defined()) t[role] = output(x, what);
}

}  // namespace

void MetalBackend::run_qk(const Problem& p, const Tensor& q, const Tensor& k, const Tensor& rpb,
                          const Tensor& additional_k, Tensor& attention) {
  BufferTable t{{Role::query, input(q, "query")}, {Role::key, input(k, "key")},
                {Role::attention, output(attention, "attention")}};
  add_optional_input(t, Role::rpb, rpb, "rpb");
  add_optional_input(t, Role::additional_key, additional_k, "additional_key");
  executor_->execute(plan_qk(p, rpb.defined()), t);
}

void MetalBackend::run_qk_backward(const Problem& p, const Tensor& q, const Tensor& k, const Tensor& rpb,
                                   const Tensor& additional_k, const Tensor& d_attention, Tensor& d_q, Tensor& d_k,
                                   Tensor& d_rpb, Tensor& d_additional_k) {
  BufferTable t{{Role::query, input(q, "query")},
                {Role::key, input(k, "key")},
                {Role::d_attention, input(d_attention, "grad_attention")},
                {Role::d_query, output(d_q, "grad_query")},
                {Role::d_key, output(d_k, "grad_key")}};
  add_optional_input(t, Role::additional_key, additional_k, "additional_key");
  add_optional_output(t, Role::d_rpb, d_rpb, "grad_rpb");
  add_optional_output(t, Role::d_additional_key, d_additional_k, "grad_additional_key");
  executor_->execute(plan_qk_backward(p, rpb.defined()), t);
}

void MetalBackend::run_av(const Problem& p, const Tensor& attention, const Tensor& v, const Tensor& additional_v,
                          Tensor& out) {
  BufferTable t{{Role::attention, input(attention, "attention")}, {Role::value, input(v, "value")},
                {Role::output, output(out, "output")}};
  add_optional_input(t, Role::additional_value, additional_v, "additional_value");
  executor_->execute(plan_av(p), t);
}

void MetalBackend::run_av_backward(const Problem& p, const Tensor& attention, const Tensor& v,
                                   const Tensor& additional_v, const Tensor& d_out, Tensor& d_attention, Tensor& d_v,
                                   Tensor& d_additional_v) {
  BufferTable t{{Role::attention, input(attention, "attention")},
                {Role::value, input(v, "value")},
                {Role::d_output, input(d_out, "grad_output")},
                {Role::d_attention, output(d_attention, "grad_attention")},
                {Role::d_value, output(d_v, "grad_value")}};
  add_optional_input(t, Role::additional_value, additional_v, "additional_value");
  add_optional_output(t, Role::d_additional_value, d_additional_v, "grad_additional_value");
  executor_->execute(plan_av_backward(p), t);
}

}  // namespace natten::metal
