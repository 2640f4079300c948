// Op family "varlen": fused neighborhood attention on a padded batch of per-sample extents
// (core/varlen.hpp). natten-bench only: natten-ref files hold no varlen cases.
#include <optional>

#include <fmt/format.h>

#include "natten/bench/flops.hpp"
#include "natten/bench/inputs.hpp"
#include "natten/bench/verify.hpp"
#include "natten/core/error.hpp"
#include "natten/op/families.hpp"
#include "natten/ops.hpp"

namespace natten {
namespace bench {
namespace {

std::string join_extents(const std::vector<Extent>& extents, int rank) {
  std::string s;
  for (const Extent& e : extents) {
    s += s.empty() ? "" : ";";
    for (int a = 0; a < rank; ++a) s += (a ? "x" : "") + std::to_string(e[static_cast<std::size_t>(a)]);
  }
  return s;
}

class VarlenWorkload final : public Workload {
 public:
  explicit VarlenWorkload(const config::ResolvedCase& c)
      : padded_(make_problem(c.spec)), varlen_{padded_, c.varlen_sizes}, seed_(c.seed) {}

  const Problem& problem() const override { return padded_; }
  std::string problem_str() const override {
    return fmt::format("varlen {} samples {}", padded_.str(), join_extents(varlen_.extents, padded_.rank()));
  }
  std::string op_detail() const override { return "varlen " + join_extents(varlen_.extents, padded_.rank()); }
  Op op(bool backward) const override { return backward ? Op::varlen_backward : Op::varlen_forward; }
  double flops(bool backward) const override { return varlen_flops(varlen_, backward); }
  double bytes(bool backward) const override { return varlen_bytes(varlen_, backward); }
  double verify_gflop(bool with_backward) const override {
    return (flops(false) + (with_backward ? flops(false) + flops(true) : 0.0)) * 1e-9;
  }
  std::string kernel(const Backend&, bool backward) const override {
    return fmt::format("{} ({} samples, each at its own extents)", op_name(op(backward)), varlen_.extents.size());
  }
  std::string unsupported(const Backend& b, bool backward) const override {
    return unsupported_reason(b, op(backward), padded_);
  }

  Verification verify(Backend& b, bool backward) override {
    const NAInputs& in = inputs();
    return guarded_verification([&] {
      const NAParams& params = padded_.params;
      const auto& extents = varlen_.extents;
      if (!reference_) {
        auto ref = make_backend("reference");
        reference_ = na_forward_varlen(*ref, params, in, extents);
        d_out_ = make_output_grad(padded_, seed_);
        if (backward) reference_grads_ = na_backward_varlen(*ref, params, in, extents, reference_->output, reference_->lse, d_out_);
      }
      if (backward && !reference_grads_.query.defined()) {
        auto ref = make_backend("reference");
        reference_grads_ = na_backward_varlen(*ref, params, in, extents, reference_->output, reference_->lse, d_out_);
      }
      if (!backward) {
        const ForwardResult r = na_forward_varlen(b, params, in, extents);
        return compare_results(padded_.dtype,
                               {{"output", r.output, reference_->output}, {"logsumexp", r.lse, reference_->lse}});
      }
      const Gradients g = na_backward_varlen(b, params, in, extents, reference_->output, reference_->lse, d_out_);
      const Gradients& e = reference_grads_;
      return compare_results(padded_.dtype, {{"grad_query", g.query, e.query},
                                             {"grad_key", g.key, e.key},
                                             {"grad_value", g.value, e.value},
                                             {"grad_additional_key", g.additional_key, e.additional_key},
                                             {"grad_additional_value", g.additional_value, e.additional_value}});
    });
  }

  std::function<void()> prepare(Backend& b, bool backward) override {
    struct State {
      Tensor out, lse, d_out;
      Gradients grads;
    };
    auto s = std::make_shared<State>();
    s->out = Tensor::zeros(padded_.output_shape(), padded_.dtype);
    s->lse = Tensor::zeros(padded_.lse_shape(), DType::f32);
    const VarlenProblem& v = varlen_;
    const NAInputs& in = inputs();
    if (!backward) return [&b, &v, &in, s] { b.varlen_forward(v, in, s->out, s->lse); };
    b.varlen_forward(v, in, s->out, s->lse);  // untimed: the backward consumes it
    b.synchronize();
    s->d_out = make_output_grad(padded_, seed_);
    s->grads = allocate_gradients(padded_);
    return [&b, &v, &in, s] { b.varlen_backward(v, in, s->out, s->lse, s->d_out, s->grads); };
  }

 private:
  // Made on first use (--dry-run allocates nothing), and checked: they must validate to varlen_.
  const NAInputs& inputs() {
    if (inputs_) return *inputs_;
    inputs_ = make_inputs(padded_, seed_);
    const VarlenProblem v = validate_varlen_forward(padded_.params, *inputs_, varlen_.extents);
    if (v.padded.str() != varlen_.padded.str()) fail("internal: varlen inputs validate to {}", v.padded.str());
    return *inputs_;
  }

  Problem padded_;
  std::optional<NAInputs> inputs_;
  VarlenProblem varlen_;
  std::uint64_t seed_;
  std::optional<ForwardResult> reference_;
  Tensor d_out_;
  Gradients reference_grads_;
};

}  // namespace
}  // namespace bench

const CaseOp op_entries::varlen = {
    OpFamily::varlen,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    [](const config::ResolvedCase& c, bool) -> std::unique_ptr<bench::Workload> {
      return std::make_unique<bench::VarlenWorkload>(c);
    },
};

}  // namespace natten
