#include "natten/backend.hpp"

#include <iterator>

#include <fmt/format.h>

#include "natten/backend/factories.hpp"
#include "natten/core/error.hpp"
#include "natten/core/neighborhood.hpp"

namespace natten {

std::string_view op_name(Op op) {
  static constexpr std::string_view names[] = {
#define NATTEN_OP_NAME(op, name) name,
      NATTEN_BACKEND_OPS(NATTEN_OP_NAME)
#undef NATTEN_OP_NAME
  };
  static_assert(std::size(names) == kOpCount);
  return names[static_cast<int>(op)];
}

const std::vector<Op>& all_ops() {
  static const std::vector<Op> ops{
#define NATTEN_OP_VALUE(op, name) Op::op,
      NATTEN_BACKEND_OPS(NATTEN_OP_VALUE)
#undef NATTEN_OP_VALUE
  };
  return ops;
}

const std::vector<OpFamilyInfo>& op_families() {
  static const std::vector<OpFamilyInfo> families{
#define NATTEN_FAMILY_INFO(family, fwd, bwd, in_files, text) {OpFamily::family, #family, Op::fwd, Op::bwd, in_files, text},
      NATTEN_OP_FAMILIES(NATTEN_FAMILY_INFO)
#undef NATTEN_FAMILY_INFO
  };
  return families;
}

const OpFamilyInfo& family_info(OpFamily family) { return op_families()[static_cast<std::size_t>(family)]; }

const OpFamilyInfo* find_op_family(std::string_view name) {
  for (const OpFamilyInfo& f : op_families())
    if (f.name == name) return &f;
  return nullptr;
}

OpFamily family_of(Op op) {
  if (op == Op::fmha_forward || op == Op::fmha_backward) return OpFamily::na;
  for (const OpFamilyInfo& f : op_families())
    if (f.forward == op || f.backward == op) return f.family;
  fail("internal: op {} belongs to no op family", op_name(op));
}

std::vector<std::string> family_name_list(bool case_files_only) {
  std::vector<std::string> names;
  for (const OpFamilyInfo& f : op_families())
    if (f.in_case_files || !case_files_only) names.emplace_back(f.name);
  return names;
}

std::string family_names(bool case_files_only) {
  std::string s;
  for (const std::string& name : family_name_list(case_files_only)) s += (s.empty() ? "" : ", ") + name;
  return s;
}

namespace {

[[noreturn]] void not_implemented(const Backend& b, Op op) {
  throw Unsupported(fmt::format("backend {}: {} not implemented", b.name(), op_name(op)));
}

}  // namespace

// The defaults of the ops beyond the fused pair: a backend that does not implement one says so.
void Backend::qk_forward(const Problem&, const SplitQKInputs&, Tensor&) { not_implemented(*this, Op::qk_forward); }
void Backend::qk_backward(const Problem&, const SplitQKInputs&, const Tensor&, SplitQKGrads&) {
  not_implemented(*this, Op::qk_backward);
}
void Backend::av_forward(const Problem&, const SplitAVInputs&, Tensor&) { not_implemented(*this, Op::av_forward); }
void Backend::av_backward(const Problem&, const SplitAVInputs&, const Tensor&, SplitAVGrads&) {
  not_implemented(*this, Op::av_backward);
}
void Backend::merge_forward(const MergeProblem&, const std::vector<Tensor>&, const std::vector<Tensor>&, Tensor&,
                            Tensor&) {
  not_implemented(*this, Op::merge_forward);
}
void Backend::merge_backward(const MergeProblem&, const std::vector<Tensor>&, const std::vector<Tensor>&,
                             const Tensor&, const Tensor&, const Tensor&, const Tensor&, std::vector<Tensor>&,
                             std::vector<Tensor>&) {
  not_implemented(*this, Op::merge_backward);
}
void Backend::varlen_forward(const VarlenProblem&, const NAInputs&, Tensor&, Tensor&) {
  not_implemented(*this, Op::varlen_forward);
}
void Backend::varlen_backward(const VarlenProblem&, const NAInputs&, const Tensor&, const Tensor&, const Tensor&,
                              Gradients&) {
  not_implemented(*this, Op::varlen_backward);
}
void Backend::fmha_forward(const Problem&, const NAInputs&, Tensor&, Tensor&) {
  not_implemented(*this, Op::fmha_forward);
}
void Backend::fmha_backward(const Problem&, const NAInputs&, const Tensor&, const Tensor&, const Tensor&,
                            Gradients&) {
  not_implemented(*this, Op::fmha_backward);
}

std::string unsupported_reason(const Backend& b, Op op, const Problem& p) {
  if (!b.implements(op)) return fmt::format("{} not implemented by backend {}", op_name(op), b.name());
  return b.why_unsupported(op, p);
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
    {"metal", "Metal shaders on the system GPU (Apple)", &make_metal_backend, &metal_unavailable_reason},
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
  if (!why.empty()) fail("backend: '{}' is unavailable on this machine: {}", name, why);
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
  const std::string why = unsupported_reason(b, op, p);
  if (!why.empty()) throw Unsupported(fmt::format("backend {}: {} not supported: {}", b.name(), op_name(op), why));
}

NAInputs contiguous_inputs(const NAInputs& in) {
  auto c = [](const Tensor& t) { return t.defined() ? t.contiguous() : t; };
  return {c(in.query), c(in.key), c(in.value), c(in.additional_key), c(in.additional_value)};
}

}  // namespace

FusedPlan plan_fused(const Backend& backend, Op direction, const Problem& p, bool allow_fast_path) {
  if (direction != Op::forward && direction != Op::backward)
    fail("plan_fused: op {} is not a fused direction (forward or backward)", op_name(direction));
  const Op fast = direction == Op::forward ? Op::fmha_forward : Op::fmha_backward;
  FusedPlan plan{direction, false, {}};
  const std::string not_full = why_not_full_attention(p);
  if (!not_full.empty()) {
    plan.reason = "neighborhood: " + not_full;
  } else if (!allow_fast_path) {
    plan.reason = "neighborhood: fast path disabled";
  } else if (const std::string why = unsupported_reason(backend, fast, p); !why.empty()) {
    plan.reason = "neighborhood: windows cover every token but " + why;
  } else {
    plan = {fast, true, "fast path: every window covers the whole token grid"};
  }
  return plan;
}

std::string describe(const FusedPlan& plan) { return fmt::format("{} ({})", op_name(plan.op), plan.reason); }

void run_forward(Backend& backend, const FusedPlan& plan, const Problem& p, const NAInputs& in, Tensor& out,
                 Tensor& lse) {
  if (plan.op == Op::fmha_forward) {
    backend.fmha_forward(p, in, out, lse);
  } else {
    backend.forward(p, in, out, lse);
  }
}

void run_backward(Backend& backend, const FusedPlan& plan, const Problem& p, const NAInputs& in, const Tensor& out,
                  const Tensor& lse, const Tensor& d_out, Gradients& grads) {
  if (plan.op == Op::fmha_backward) {
    backend.fmha_backward(p, in, out, lse, d_out, grads);
  } else {
    backend.backward(p, in, out, lse, d_out, grads);
  }
}

ForwardResult na_forward(Backend& backend, const NAParams& params, const NAInputs& in, bool allow_fast_path) {
  const Problem p = validate_forward(params, in);
  const FusedPlan plan = plan_fused(backend, Op::forward, p, allow_fast_path);
  require_support(backend, plan.op, p);
  ForwardResult r{Tensor::empty(p.output_shape(), p.dtype), Tensor::empty(p.lse_shape(), DType::f32)};
  run_forward(backend, plan, p, contiguous_inputs(in), r.output, r.lse);
  backend.synchronize();
  return r;
}

Gradients na_backward(Backend& backend, const NAParams& params, const NAInputs& in, const Tensor& output,
                      const Tensor& lse, const Tensor& d_output, bool allow_fast_path) {
  const Problem p = validate_backward(params, in, output, lse, d_output);
  const FusedPlan plan = plan_fused(backend, Op::backward, p, allow_fast_path);
  require_support(backend, plan.op, p);
  Gradients g = allocate_gradients(p);
  run_backward(backend, plan, p, contiguous_inputs(in), output.contiguous(), lse.contiguous(), d_output.contiguous(),
               g);
  backend.synchronize();
  return g;
}

}  // namespace natten
