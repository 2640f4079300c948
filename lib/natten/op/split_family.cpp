#include "natten/op/split_family.hpp"

#include "natten/bench/verify.hpp"
#include "natten/core/error.hpp"
#include "natten/parity/case_generator.hpp"

namespace natten::split_family {

OpOutputs compute(const Calls& calls, Backend& backend, const ParityCase& pc) {
  const SplitCase& c = std::get<SplitCase>(pc.data);
  OpOutputs out;
  out.tensors = calls.forward(backend, c);
  if (!c.has_backward()) return out;
  const std::string why = calls.why_backward_unsupported(backend, c);
  if (!why.empty()) {
    out.not_run.push_back("backward: " + why);
    return out;
  }
  out.tensors.merge(calls.backward(backend, c));
  return out;
}

ParityCase load(const h5::Group& root, const std::string& name, std::int64_t max_elements) {
  SplitCase c = load_split_case(root, name, max_elements);
  const CaseOp* op = find_case_op(c.op);
  return {op, std::move(c)};
}

ParityCase generate(const config::ResolvedCase& cfg, Backend& backend) {
  return {find_case_op(cfg.op), generate_split_case(cfg, backend)};
}

void write(const h5::Group& root, const ParityCase& c, const std::string& producer, bool compress) {
  write_split_case(root, std::get<SplitCase>(c.data), producer, compress);
}

Workload::Workload(const config::ResolvedCase& cfg, const Calls& calls) : cfg_(cfg), calls_(calls) {
  c_.name = cfg.name;
  c_.op = cfg.op;
  c_.layout = "heads_last";
  c_.dtype = cfg.spec.dtype;
}

const SplitCase& Workload::tensors() {
  if (!made_) {
    made_ = true;
    make_tensors(c_);
  }
  return c_;
}

bench::Verification Workload::verify(Backend& b, bool backward) {
  tensors();
  auto ref = make_backend("reference");
  return bench::guarded_verification([&] {
    if (c_.expected.empty()) c_.expected = calls_.forward(*ref, c_);  // merge's backward reads them
    if (backward && reference_grads_.empty()) reference_grads_ = calls_.backward(*ref, c_);
    const Tensors ours = backward ? calls_.backward(b, c_) : calls_.forward(b, c_);
    const Tensors& want = backward ? reference_grads_ : c_.expected;
    std::vector<bench::NamedResult> pairs;
    for (const auto& [name, t] : ours) pairs.push_back({name, t, want.at(name)});
    return bench::compare_results(c_.dtype, pairs);
  });
}

}  // namespace natten::split_family
