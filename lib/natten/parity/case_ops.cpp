#include "natten/parity/case_ops.hpp"

#include <fmt/format.h>

#include "natten/core/error.hpp"
#include "natten/parity/case_generator.hpp"

namespace natten {

const std::string& ParityCase::name() const {
  return std::visit([](const auto& c) -> const std::string& { return c.name; }, data);
}
const std::string& ParityCase::op_name() const {
  return std::visit([](const auto& c) -> const std::string& { return c.op; }, data);
}
DType ParityCase::dtype() const {
  return std::visit([](const auto& c) { return c.dtype; }, data);
}
const std::map<std::string, Tensor>& ParityCase::expected() const {
  return std::visit([](const auto& c) -> const std::map<std::string, Tensor>& { return c.expected; }, data);
}

namespace {

const char* parts_checked(bool backward) { return backward ? "forward+backward" : "forward"; }

// ---- "na": fused neighborhood attention -------------------------------------------------------

// Forward (output, logsumexp) and, when the case has grads, backward. The backward is fed the
// reference's own output and logsumexp, so a forward error cannot leak into the gradient
// comparison: each tensor is checked against upstream in isolation.
OpOutputs compute_fused(Backend& backend, const ParityCase& pc) {
  const RefCase& c = std::get<RefCase>(pc.data);
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

std::string describe_fused(const ParityCase& pc) {
  const RefCase& c = std::get<RefCase>(pc.data);
  const Problem p = validate_forward(c.params, c.inputs);
  return fmt::format("{} layout={} {}", p.str(), c.layout, parts_checked(c.has_backward()));
}

ParityCase load_fused(const h5::Group& root, const std::string& name, std::int64_t max_elements) {
  return {find_case_op("na"), load_ref_case(root, name, max_elements)};
}

ParityCase generate_fused(const config::ResolvedCase& cfg, Backend& backend) {
  return {find_case_op("na"), generate_ref_case(cfg, backend)};
}

void write_fused(const h5::Group& root, const ParityCase& c, const std::string& producer, bool compress) {
  write_ref_case(root, std::get<RefCase>(c.data), producer, compress);
}

// ---- "na_qk", "na_av", "merge" (split_case.hpp) -----------------------------------------------

// Forward, then the backward unless the backend declines it (reported, as for the fused op). The
// merge backward is fed the case's own merged output and logsumexp.
OpOutputs compute_split(Backend& backend, const ParityCase& pc) {
  const SplitCase& c = std::get<SplitCase>(pc.data);
  OpOutputs out;
  out.tensors = run_split_forward(backend, c);
  if (!c.has_backward()) return out;
  const std::string why = why_backward_unsupported(backend, c);
  if (!why.empty()) {
    out.not_run.push_back("backward: " + why);
    return out;
  }
  out.tensors.merge(run_split_backward(backend, c));
  return out;
}

std::string describe_split(const ParityCase& pc) {
  const SplitCase& c = std::get<SplitCase>(pc.data);
  std::string what;
  if (c.op == "na_qk") {
    what = fmt::format("{} {}", validate_qk(c.params, c.qk).str(), c.qk.rpb.defined() ? "rpb" : "no-rpb");
  } else if (c.op == "na_av") {
    what = validate_av(c.params, c.av).str();
  } else {
    const MergeProblem m = validate_merge(c.merge_outputs, c.merge_lses);
    what = fmt::format("parts={} output={} {}", m.parts, shape_str(m.output_shape), dtype_name(m.dtype));
    if (c.grad_lse.defined()) what += " grad_logsumexp";
  }
  return fmt::format("{} layout={} {}", what, c.layout, parts_checked(c.has_backward()));
}

ParityCase load_split(const h5::Group& root, const std::string& name, std::int64_t max_elements) {
  SplitCase c = load_split_case(root, name, max_elements);
  const CaseOp* op = find_case_op(c.op);
  return {op, std::move(c)};
}

ParityCase generate_split(const config::ResolvedCase& cfg, Backend& backend) {
  return {find_case_op(cfg.op), generate_split_case(cfg, backend)};
}

void write_split(const h5::Group& root, const ParityCase& c, const std::string& producer, bool compress) {
  write_split_case(root, std::get<SplitCase>(c.data), producer, compress);
}

const CaseOp kOps[] = {
    {"na", "fused neighborhood attention: output, logsumexp, and grads when present", &load_fused, &compute_fused,
     &describe_fused, &generate_fused, &write_fused},
    {"na_qk", "split qk (upstream 0.14-0.17): attention logits with optional rpb, and grad query/key/rpb",
     &load_split, &compute_split, &describe_split, &generate_split, &write_split},
    {"na_av", "split av (upstream 0.14-0.17): attention weights times values, and grad attention/value",
     &load_split, &compute_split, &describe_split, &generate_split, &write_split},
    {"merge", "merge_attentions: outputs over disjoint key sets merged by logsumexp, and its backward",
     &load_split, &compute_split, &describe_split, &generate_split, &write_split},
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

ParityCase load_case(const h5::Group& root, const std::string& name, std::int64_t max_elements) {
  const std::string op = read_case_op(root, name);
  const CaseOp* entry = find_case_op(op);
  if (entry == nullptr) fail("case '{}': unsupported op '{}' (this natten-check knows: {})", name, op, known_case_ops());
  return entry->load(root, name, max_elements);
}

const CaseOp& case_op_for(const config::ResolvedCase& cfg) {
  const CaseOp* op = find_case_op(cfg.op);
  if (op == nullptr) fail("case [{}]: op '{}' has no entry in the op table (known: {})", cfg.name, cfg.op, known_case_ops());
  return *op;
}

}  // namespace natten
