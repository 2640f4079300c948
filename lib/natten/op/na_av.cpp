// Op family "na_av": the split av op of upstream NATTEN 0.14-0.17 (attention weights times values,
// additional values) and its backward (core/split.hpp).
#include <fmt/format.h>

#include "natten/bench/flops.hpp"
#include "natten/bench/inputs.hpp"
#include "natten/core/error.hpp"
#include "natten/op/families.hpp"
#include "natten/op/parts_checked.hpp"
#include "natten/op/split_family.hpp"
#include "natten/ops.hpp"

namespace natten {
namespace {

using split_family::Tensors;

Tensors forward(Backend& backend, const SplitCase& c) { return {{"output", na_av(backend, c.params, c.av)}}; }

Tensors backward(Backend& backend, const SplitCase& c) {
  const SplitAVGrads g = na_av_backward(backend, c.params, c.av, c.grad_result);
  Tensors ours{{"grad_attention", g.attention}, {"grad_value", g.value}};
  if (g.additional_value.defined()) ours["grad_additional_value"] = g.additional_value;
  return ours;
}

std::string why_backward_unsupported(const Backend& backend, const SplitCase& c) {
  return unsupported_reason(backend, Op::av_backward, validate_av(c.params, c.av));
}

constexpr split_family::Calls kCalls{&forward, &backward, &why_backward_unsupported};

OpOutputs compute(Backend& backend, const ParityCase& c) { return split_family::compute(kCalls, backend, c); }

std::string describe(const ParityCase& pc) {
  const SplitCase& c = std::get<SplitCase>(pc.data);
  return fmt::format("{} layout={} {}", validate_av(c.params, c.av).str(), c.layout, parts_checked(c.has_backward()));
}

class AVWorkload final : public split_family::Workload {
 public:
  explicit AVWorkload(const config::ResolvedCase& cfg) : Workload(cfg, kCalls), problem_(make_problem(cfg.spec)) {
    blank().params = problem_.params;  // no scale: the split ops do not scale
    problem_.scale = 1.0;
    problem_.dim = problem_.dim_v;
  }

  const Problem& problem() const override { return problem_; }
  std::string problem_str() const override { return fmt::format("na_av {}", problem_.str()); }
  Op op(bool backward) const override { return backward ? Op::av_backward : Op::av_forward; }
  double flops(bool backward) const override { return bench::av_flops(problem_, backward); }
  double bytes(bool backward) const override { return bench::av_bytes(problem_, backward); }
  std::string kernel(const Backend&, bool backward) const override {
    return fmt::format("{} (attention weights times values)", op_name(op(backward)));
  }

  std::function<void()> prepare(Backend& b, bool backward) override {
    const SplitCase& c = tensors();
    const Problem& p = problem_;
    if (!backward) {
      auto out = std::make_shared<Tensor>(Tensor::empty(p.output_shape(), p.dtype));
      return [&b, &p, &c, out] { b.av_forward(p, c.av, *out); };
    }
    auto grads = std::make_shared<SplitAVGrads>(allocate_av_grads(p, c.av));
    return [&b, &p, &c, grads] { b.av_backward(p, c.av, c.grad_result, *grads); };
  }

 private:
  // Streams 0-3 of the seed: attention, value, additional_value, grad_output.
  void make_tensors(SplitCase& c) override {
    const Problem spec = make_problem(cfg().spec);
    const std::uint64_t seed = cfg().seed;
    c.av.attention = bench::random_tensor(attention_shape(spec), c.dtype, seed, 0);
    c.av.value = bench::random_tensor(spec.kv_shape(spec.dim_v), c.dtype, seed, 1);
    if (spec.extra_kv > 0)
      c.av.additional_value = bench::random_tensor(spec.extra_kv_shape(spec.dim_v), c.dtype, seed, 2);
    const Problem validated = validate_av(c.params, c.av);
    if (cfg().backward) c.grad_result = bench::random_tensor(validated.output_shape(), c.dtype, seed, 3);
    if (validated.str() != problem_.str())
      fail("internal: case '{}' validates to {}, not {}", cfg().name, validated.str(), problem_.str());
  }

  Problem problem_;
};

}  // namespace

const CaseOp op_entries::na_av = {
    OpFamily::na_av,
    &split_family::load,
    &compute,
    &describe,
    &split_family::generate,
    &split_family::write,
    [](const config::ResolvedCase& c, bool) -> std::unique_ptr<bench::Workload> { return std::make_unique<AVWorkload>(c); },
};

}  // namespace natten
