// Op family "merge": merge_attentions (core/merge.hpp), partial attention outputs over disjoint
// key sets merged by their logsumexps, and its backward. Not an NA problem: no window.
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

Tensors forward(Backend& backend, const SplitCase& c) {
  const ForwardResult r = merge_attentions(backend, c.merge_outputs, c.merge_lses);
  return {{"output", r.output}, {"logsumexp", r.lse}};
}

// Fed the case's own merged output and logsumexp, so forward error cannot leak in.
Tensors backward(Backend& backend, const SplitCase& c) {
  const MergeGrads g = merge_attentions_backward(backend, c.merge_outputs, c.merge_lses,
                                                 c.expected.at("output").to(c.dtype), c.expected.at("logsumexp"),
                                                 c.grad_result, c.grad_lse);
  Tensors ours;
  for (std::size_t i = 0; i < g.outputs.size(); ++i) {
    ours[fmt::format("grad_output_{}", i)] = g.outputs[i];
    ours[fmt::format("grad_logsumexp_{}", i)] = g.lses[i];
  }
  return ours;
}

// merge has no NA problem: supported when implemented.
std::string why_backward_unsupported(const Backend& backend, const SplitCase&) {
  return unsupported_reason(backend, Op::merge_backward, Problem{});
}

constexpr split_family::Calls kCalls{&forward, &backward, &why_backward_unsupported};

OpOutputs compute(Backend& backend, const ParityCase& c) { return split_family::compute(kCalls, backend, c); }

std::string describe(const ParityCase& pc) {
  const SplitCase& c = std::get<SplitCase>(pc.data);
  const MergeProblem m = validate_merge(c.merge_outputs, c.merge_lses);
  return fmt::format("parts={} output={} {}{} layout={} {}", m.parts, shape_str(m.output_shape), dtype_name(m.dtype),
                     c.grad_lse.defined() ? " grad_logsumexp" : "", c.layout, parts_checked(c.has_backward()));
}

class MergeWorkload final : public split_family::Workload {
 public:
  // The problem recorded in reports is the parts' shape [B, *S, heads, dim] with no window.
  explicit MergeWorkload(const config::ResolvedCase& cfg) : Workload(cfg, kCalls) {
    problem_.params.rank = cfg.spec.params.rank;
    problem_.params.kernel = {0, 0, 0};
    problem_.dtype = cfg.spec.dtype;
    problem_.batch = cfg.spec.batch;
    problem_.spatial = cfg.spec.spatial;
    problem_.heads_q = problem_.heads_kv = cfg.spec.heads_q;
    problem_.dim = problem_.dim_v = cfg.spec.dim;
    merge_.parts = cfg.parts;
    merge_.output_shape = problem_.output_shape();
    merge_.lse_shape = problem_.lse_shape();
    merge_.dtype = cfg.spec.dtype;
    merge_.rows = numel(merge_.lse_shape);
    merge_.dim = problem_.dim;
  }

  const Problem& problem() const override { return problem_; }
  std::string problem_str() const override {
    return fmt::format("merge {} parts of {} {}", merge_.parts, shape_str(merge_.output_shape), dtype_name(merge_.dtype));
  }
  std::string op_detail() const override { return fmt::format("parts {}", merge_.parts); }
  Op op(bool backward) const override { return backward ? Op::merge_backward : Op::merge_forward; }
  double flops(bool backward) const override { return bench::merge_flops(merge_, backward); }
  double bytes(bool backward) const override { return bench::merge_bytes(merge_, backward); }
  std::string kernel(const Backend&, bool backward) const override {
    return fmt::format("{} ({} parts merged by logsumexp)", op_name(op(backward)), merge_.parts);
  }

  std::function<void()> prepare(Backend& b, bool backward) override {
    struct Merged {
      Tensor out, lse;
      std::vector<Tensor> d_outputs, d_lses;
    };
    const SplitCase& c = tensors();
    auto s = std::make_shared<Merged>();
    const MergeProblem& m = merge_;
    s->out = Tensor::empty(m.output_shape, m.dtype);
    s->lse = Tensor::empty(m.lse_shape, DType::f32);
    if (!backward) return [&b, &m, &c, s] { b.merge_forward(m, c.merge_outputs, c.merge_lses, s->out, s->lse); };
    // The backward reads the merged output and logsumexp: computed once here, untimed. No
    // gradient flows into the merged logsumexp.
    b.merge_forward(m, c.merge_outputs, c.merge_lses, s->out, s->lse);
    b.synchronize();
    for (int i = 0; i < m.parts; ++i) {
      s->d_outputs.push_back(Tensor::zeros(m.output_shape, m.dtype));
      s->d_lses.push_back(Tensor::zeros(m.lse_shape, DType::f32));
    }
    return [&b, &m, &c, s] {
      b.merge_backward(m, c.merge_outputs, c.merge_lses, s->out, s->lse, c.grad_result, Tensor(), s->d_outputs,
                       s->d_lses);
    };
  }

 private:
  Problem support_problem() const override { return Problem{}; }  // no NA problem: supported when implemented

  // Streams 2i and 2i+1 of the seed: part i's output and logsumexp; 1000: grad_output.
  void make_tensors(SplitCase& c) override {
    const std::uint64_t seed = cfg().seed;
    for (int i = 0; i < merge_.parts; ++i) {
      c.merge_outputs.push_back(bench::random_tensor(merge_.output_shape, c.dtype, seed, 2 * static_cast<std::uint64_t>(i)));
      // Logsumexps in [-4, 4]: the parts' weights differ by up to e^8, as in natten-check's cases.
      Tensor lse = bench::random_tensor(merge_.lse_shape, DType::f32, seed, 2 * static_cast<std::uint64_t>(i) + 1);
      for (std::int64_t k = 0; k < lse.numel(); ++k) lse.set(k, 4.0f * lse.get(k));
      c.merge_lses.push_back(lse);
    }
    const MergeProblem m = validate_merge(c.merge_outputs, c.merge_lses);
    if (m.parts != merge_.parts || m.output_shape != merge_.output_shape || m.lse_shape != merge_.lse_shape ||
        m.rows != merge_.rows || m.dim != merge_.dim)
      fail("internal: merge case '{}' validates to another problem", cfg().name);
    if (cfg().backward) c.grad_result = bench::random_tensor(merge_.output_shape, c.dtype, seed, 1000);
  }

  Problem problem_;
  MergeProblem merge_;
};

}  // namespace

const CaseOp op_entries::merge = {
    OpFamily::merge,
    &split_family::load,
    &compute,
    &describe,
    &split_family::generate,
    &split_family::write,
    [](const config::ResolvedCase& c, bool) -> std::unique_ptr<bench::Workload> { return std::make_unique<MergeWorkload>(c); },
};

}  // namespace natten
