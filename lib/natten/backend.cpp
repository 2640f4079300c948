#include "natten/backend.hpp"

#include <fmt/format.h>

#include "natten/backend/factories.hpp"
#include "natten/core/error.hpp"

namespace natten {

std::string_view op_name(Op op) {
  switch (op) {
    case Op::forward: return "forward";
    case Op::backward: return "backward";
  }
  return "?";
}

namespace {

struct Entry {
  const char* name;
  const char* description;
  std::unique_ptr<Backend> (*make)();
  std::string (*unavailable)();  // empty string when usable here
};

std::string always_available() { return {}; }

// Registry order is preference order: the reference backend first (it is the oracle).
const Entry kEntries[] = {
    {"reference", "plain loops accumulating in double: the oracle", &make_reference_backend, &always_available},
    {"cpu", "fused SIMD kernels (Highway runtime dispatch), multithreaded", &make_cpu_backend, &always_available},
};

const Entry* find(std::string_view name) {
  for (const Entry& e : kEntries) {
    if (name == e.name) return &e;
  }
  return nullptr;
}

}  // namespace

std::vector<BackendInfo> list_backends() {
  std::vector<BackendInfo> out;
  for (const Entry& e : kEntries) {
    const std::string why = e.unavailable();
    out.push_back({e.name, e.description, why.empty(), why});
  }
  return out;
}

std::vector<std::string> available_backends() {
  std::vector<std::string> out;
  for (const BackendInfo& b : list_backends()) {
    if (b.available) out.push_back(b.name);
  }
  return out;
}

std::unique_ptr<Backend> make_backend(std::string_view name) {
  const Entry* e = find(name);
  if (e == nullptr) {
    std::string known;
    for (const Entry& k : kEntries) known += (known.empty() ? "" : ", ") + std::string(k.name);
    fail("backend: unknown '{}' (known: {})", name, known);
  }
  const std::string why = e->unavailable();
  if (!why.empty()) fail("backend: '{}' is not available on this machine: {}", name, why);
  return e->make();
}

Gradients allocate_gradients(const Problem& p) {
  Gradients g;
  g.query = Tensor::zeros(p.query_shape(), p.dtype);
  g.key = Tensor::zeros(p.kv_shape(p.dim), p.dtype);
  g.value = Tensor::zeros(p.kv_shape(p.dim_v), p.dtype);
  if (p.extra_kv > 0) {
    g.additional_key = Tensor::zeros(p.extra_kv_shape(p.dim), p.dtype);
    g.additional_value = Tensor::zeros(p.extra_kv_shape(p.dim_v), p.dtype);
  }
  return g;
}

namespace {

void require_support(const Backend& b, Op op, const Problem& p) {
  const std::string why = b.why_unsupported(op, p);
  if (!why.empty()) throw Unsupported(fmt::format("backend {}: {} not supported: {}", b.name(), op_name(op), why));
}

NAInputs contiguous_inputs(const NAInputs& in) {
  auto c = [](const Tensor& t) { return t.defined() ? t.contiguous() : t; };
  return {c(in.query), c(in.key), c(in.value), c(in.additional_key), c(in.additional_value)};
}

}  // namespace

ForwardResult na_forward(Backend& backend, const NAParams& params, const NAInputs& in) {
  const Problem p = validate_forward(params, in);
  require_support(backend, Op::forward, p);
  ForwardResult r{Tensor::empty(p.output_shape(), p.dtype), Tensor::empty(p.lse_shape(), DType::f32)};
  backend.forward(p, contiguous_inputs(in), r.output, r.lse);
  backend.synchronize();
  return r;
}

Gradients na_backward(Backend& backend, const NAParams& params, const NAInputs& in, const Tensor& output,
                      const Tensor& lse, const Tensor& d_output) {
  const Problem p = validate_backward(params, in, output, lse, d_output);
  require_support(backend, Op::backward, p);
  Gradients g = allocate_gradients(p);
  backend.backward(p, contiguous_inputs(in), output.contiguous(), lse.contiguous(), d_output.contiguous(), g);
  backend.synchronize();
  return g;
}

}  // namespace natten
