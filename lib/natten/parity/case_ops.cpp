#include "natten/parity/case_ops.hpp"

#include "natten/core/error.hpp"

namespace natten {
namespace {

// Fused "na": forward (output, logsumexp) and, when the case has grads, backward. The backward is
// fed the reference's own output and logsumexp, so a forward error cannot leak into the gradient
// comparison: each tensor is checked against upstream in isolation.
OpOutputs compute_fused(Backend& backend, const RefCase& c) {
  OpOutputs out;
  const ForwardResult fwd = na_forward(backend, c.params, c.inputs);
  out.tensors["output"] = fwd.output;
  out.tensors["logsumexp"] = fwd.lse;
  if (!c.has_backward()) return out;
  const Tensor ref_output = c.expected.at("output").to(c.dtype);
  const Tensor& ref_lse = c.expected.at("logsumexp");
  const Problem p = validate_backward(c.params, c.inputs, ref_output, ref_lse, c.grad_output);
  const std::string why = backend.why_unsupported(Op::backward, p);
  if (!why.empty()) {
    out.not_run.push_back("backward: " + why);
    return out;
  }
  const Gradients g = na_backward(backend, c.params, c.inputs, ref_output, ref_lse, c.grad_output);
  out.tensors["grad_query"] = g.query;
  out.tensors["grad_key"] = g.key;
  out.tensors["grad_value"] = g.value;
  if (g.additional_key.defined()) {
    out.tensors["grad_additional_key"] = g.additional_key;
    out.tensors["grad_additional_value"] = g.additional_value;
  }
  return out;
}

std::string describe_fused(const RefCase& c) {
  const Problem p = validate_forward(c.params, c.inputs);
  return fmt::format("{} layout={} {}", p.str(), c.layout, c.has_backward() ? "forward+backward" : "forward");
}

// Add new ops here (issue 6: "na_qk", "na_av", "merge").
const CaseOp kOps[] = {
    {"na", "fused neighborhood attention: output, logsumexp, and grads when present", &load_ref_case,
     &compute_fused, &describe_fused},
};

}  // namespace

const CaseOp* find_case_op(std::string_view op) {
  for (const CaseOp& o : kOps) {
    if (o.op == op) return &o;
  }
  return nullptr;
}

std::string known_case_ops() {
  std::string s;
  for (const CaseOp& o : kOps) s += (s.empty() ? "" : ", ") + std::string(o.op);
  return s;
}

RefCase load_case(const h5::Group& root, const std::string& name, std::int64_t max_elements) {
  const std::string op = read_case_op(root, name);
  const CaseOp* entry = find_case_op(op);
  if (entry == nullptr) fail("case '{}': unsupported op '{}' (this natten-check knows: {})", name, op, known_case_ops());
  return entry->load(root, name, max_elements);
}

}  // namespace natten
