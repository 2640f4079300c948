// Op family "na": fused neighborhood attention (output + logsumexp, and the backward), checked
// against natten-ref cases and benchmarked through the same plan (neighborhood kernel or FMHA fast
// path) as the library's convenience calls.
#include <optional>

#include <fmt/format.h>

#include "natten/bench/flops.hpp"
#include "natten/bench/inputs.hpp"
#include "natten/bench/verify.hpp"
#include "natten/op/families.hpp"
#include "natten/op/parts_checked.hpp"
#include "natten/parity/case_generator.hpp"

namespace natten {
namespace {

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
  return {&op_entries::na, load_ref_case(root, name, max_elements)};
}

ParityCase generate_fused(const config::ResolvedCase& cfg, Backend& backend) {
  return {&op_entries::na, generate_ref_case(cfg, backend)};
}

void write_fused(const h5::Group& root, const ParityCase& c, const std::string& producer, bool compress) {
  write_ref_case(root, std::get<RefCase>(c.data), producer, compress);
}

}  // namespace

namespace bench {
namespace {

class FusedWorkload final : public Workload {
 public:
  FusedWorkload(const config::ResolvedCase& c, bool fast_path)
      : problem_(make_problem(c.spec)),
        seed_(c.seed),
        with_backward_(c.backward),
        fast_path_(fast_path) {}

  const Problem& problem() const override { return problem_; }
  std::string problem_str() const override { return problem_.str(); }
  Op op(bool backward) const override { return backward ? Op::backward : Op::forward; }
  double flops(bool backward) const override { return backward ? backward_flops(problem_) : forward_flops(problem_); }
  double bytes(bool backward) const override { return backward ? backward_bytes(problem_) : forward_bytes(problem_); }
  double verify_gflop(bool with_backward) const override {
    return (forward_flops(problem_) + (with_backward ? forward_flops(problem_) + backward_flops(problem_) : 0.0)) * 1e-9;
  }
  std::string kernel(const Backend& b, bool backward) const override { return describe(plan(b, backward)); }
  std::string unsupported(const Backend& b, bool backward) const override {
    return unsupported_reason(b, plan(b, backward).op, problem_);
  }

  Verification verify(Backend& b, bool backward) override {
    if (!reference_) reference_ = reference_results(problem_, inputs(), with_backward_, seed_);
    return backward ? verify_backward(b, problem_, inputs(), *reference_, fast_path_)
                    : verify_forward(b, problem_, inputs(), *reference_, fast_path_);
  }

  std::function<void()> prepare(Backend& b, bool backward) override {
    struct State {
      FusedPlan plan;
      Tensor out, lse, d_out;
      Gradients grads;
    };
    auto s = std::make_shared<State>();
    s->plan = plan(b, backward);
    s->out = Tensor::empty(problem_.output_shape(), problem_.dtype);
    s->lse = Tensor::empty(problem_.lse_shape(), DType::f32);
    const Problem& p = problem_;
    const NAInputs& in = inputs();
    if (!backward) return [s, &b, &p, &in] { run_forward(b, s->plan, p, in, s->out, s->lse); };
    // The backward consumes the forward's output and logsumexp: computed once here, untimed.
    run_forward(b, plan(b, false), p, in, s->out, s->lse);
    b.synchronize();
    s->d_out = make_output_grad(p, seed_);
    s->grads = allocate_gradients(p);
    return [s, &b, &p, &in] { run_backward(b, s->plan, p, in, s->out, s->lse, s->d_out, s->grads); };
  }

 private:
  FusedPlan plan(const Backend& b, bool backward) const {
    return plan_fused(b, backward ? Op::backward : Op::forward, problem_, fast_path_);
  }
  const NAInputs& inputs() {
    if (!inputs_) inputs_ = make_inputs(problem_, seed_);
    return *inputs_;
  }

  Problem problem_;
  std::optional<NAInputs> inputs_;  // made on first use: --dry-run allocates nothing
  std::uint64_t seed_;
  bool with_backward_, fast_path_;
  std::optional<ReferenceResults> reference_;
};

}  // namespace
}  // namespace bench

const CaseOp op_entries::na = {
    OpFamily::na,
    &load_fused,
    &compute_fused,
    &describe_fused,
    &generate_fused,
    &write_fused,
    [](const config::ResolvedCase& c, bool fast_path) -> std::unique_ptr<bench::Workload> {
      return std::make_unique<bench::FusedWorkload>(c, fast_path);
    },
};

}  // namespace natten
