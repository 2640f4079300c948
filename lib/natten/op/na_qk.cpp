// Op family "na_qk": the split qk op of upstream NATTEN 0.14-0.17 (attention logits, optional
// relative positional bias, additional keys) and its backward (core/split.hpp).
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

Tensors forward(Backend& backend, const SplitCase& c) { return {{"attention", na_qk(backend, c.params, c.qk)}}; }

Tensors backward(Backend& backend, const SplitCase& c) {
  const SplitQKGrads g = na_qk_backward(backend, c.params, c.qk, c.grad_result);
  Tensors ours{{"grad_query", g.query}, {"grad_key", g.key}};
  if (g.rpb.defined()) ours["grad_rpb"] = g.rpb;
  if (g.additional_key.defined()) ours["grad_additional_key"] = g.additional_key;
  return ours;
}

std::string why_backward_unsupported(const Backend& backend, const SplitCase& c) {
  return unsupported_reason(backend, Op::qk_backward, validate_qk(c.params, c.qk));
}

constexpr split_family::Calls kCalls{&forward, &backward, &why_backward_unsupported};

OpOutputs compute(Backend& backend, const ParityCase& c) { return split_family::compute(kCalls, backend, c); }

std::string describe(const ParityCase& pc) {
  const SplitCase& c = std::get<SplitCase>(pc.data);
  return fmt::format("{} {} layout={} {}", validate_qk(c.params, c.qk).str(), c.qk.rpb.defined() ? "rpb" : "no-rpb",
                     c.layout, parts_checked(c.has_backward()));
}

class QKWorkload final : public split_family::Workload {
 public:
  explicit QKWorkload(const config::ResolvedCase& cfg) : Workload(cfg, kCalls), problem_(make_problem(cfg.spec)) {
    blank().params = problem_.params;  // no scale: the split ops do not scale
    problem_.scale = 1.0;
    problem_.dim_v = problem_.dim;  // the key stands in for the value
  }

  const Problem& problem() const override { return problem_; }
  std::string problem_str() const override { return fmt::format("na_qk {}{}", problem_.str(), rpb() ? " rpb" : ""); }
  std::string op_detail() const override { return rpb() ? "rpb" : ""; }
  Op op(bool backward) const override { return backward ? Op::qk_backward : Op::qk_forward; }
  double flops(bool backward) const override { return bench::qk_flops(problem_, backward); }
  double bytes(bool backward) const override { return bench::qk_bytes(problem_, rpb(), backward); }
  std::string kernel(const Backend&, bool backward) const override {
    return fmt::format("{} ({})", op_name(op(backward)),
                       rpb() ? "attention logits with relative positional bias" : "attention logits");
  }

  std::function<void()> prepare(Backend& b, bool backward) override {
    const SplitCase& c = tensors();
    const Problem& p = problem_;
    if (!backward) {
      auto attention = std::make_shared<Tensor>(Tensor::empty(attention_shape(p), p.dtype));
      return [&b, &p, &c, attention] { b.qk_forward(p, c.qk, *attention); };
    }
    auto grads = std::make_shared<SplitQKGrads>(allocate_qk_grads(p, c.qk));
    return [&b, &p, &c, grads] { b.qk_backward(p, c.qk, c.grad_result, *grads); };
  }

 private:
  bool rpb() const { return cfg().rpb; }

  // Streams 0-4 of the seed: query, key, rpb, additional_key, grad_attention.
  void make_tensors(SplitCase& c) override {
    const Problem spec = make_problem(cfg().spec);
    const std::uint64_t seed = cfg().seed;
    c.qk.query = bench::random_tensor(spec.query_shape(), c.dtype, seed, 0);
    c.qk.key = bench::random_tensor(spec.kv_shape(spec.dim), c.dtype, seed, 1);
    if (rpb()) c.qk.rpb = bench::random_tensor(rpb_shape(spec), c.dtype, seed, 2);
    if (spec.extra_kv > 0) c.qk.additional_key = bench::random_tensor(spec.extra_kv_shape(spec.dim), c.dtype, seed, 3);
    const Problem validated = validate_qk(c.params, c.qk);
    if (cfg().backward) c.grad_result = bench::random_tensor(attention_shape(validated), c.dtype, seed, 4);
    if (validated.str() != problem_.str())
      fail("internal: case '{}' validates to {}, not {}", cfg().name, validated.str(), problem_.str());
  }

  Problem problem_;
};

}  // namespace

const CaseOp op_entries::na_qk = {
    OpFamily::na_qk,
    &split_family::load,
    &compute,
    &describe,
    &split_family::generate,
    &split_family::write,
    [](const config::ResolvedCase& c, bool) -> std::unique_ptr<bench::Workload> { return std::make_unique<QKWorkload>(c); },
};

}  // namespace natten
