#include "workload.hpp"

#include <map>
#include <optional>

#include <fmt/format.h>

#include "natten/bench/flops.hpp"
#include "natten/bench/inputs.hpp"
#include "natten/bench/verify.hpp"
#include "natten/core/error.hpp"
#include "natten/io/split_case.hpp"
#include "natten/ops.hpp"

namespace natten::bench {
namespace {

std::string join_extents(const std::vector<Extent>& extents, int rank) {
  std::string s;
  for (const Extent& e : extents) {
    s += s.empty() ? "" : ";";
    for (int a = 0; a < rank; ++a) s += (a ? "x" : "") + std::to_string(e[static_cast<std::size_t>(a)]);
  }
  return s;
}

// ---- na: the fused op, through the same plan (neighborhood kernel or FMHA fast path) as the
// library's convenience calls ------------------------------------------------------------------

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

// ---- na_qk, na_av, merge: inputs in a SplitCase, so verification runs through the library's
// run_split_forward/backward (natten-check's path) on both backends ---------------------------

class SplitWorkload final : public Workload {
 public:
  // The problem, FLOPs and bytes come from the case alone; the tensors are made (and checked
  // against that problem) on first use, so --dry-run allocates nothing.
  explicit SplitWorkload(const config::ResolvedCase& cfg) : cfg_(cfg), rpb_(cfg.rpb) {
    c_.name = cfg.name;
    c_.op = cfg.op;
    c_.layout = "heads_last";
    c_.dtype = cfg.spec.dtype;
    if (cfg.op == "merge") {
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
      return;
    }
    problem_ = make_problem(cfg.spec);
    c_.params = problem_.params;  // no scale: the split ops do not scale
    problem_.scale = 1.0;
    if (cfg.op == "na_qk") problem_.dim_v = problem_.dim;  // the key stands in for the value
    else problem_.dim = problem_.dim_v;
  }

  const Problem& problem() const override { return problem_; }
  std::string problem_str() const override {
    if (is_merge()) return fmt::format("merge {} parts of {} {}", merge_.parts, shape_str(merge_.output_shape), dtype_name(merge_.dtype));
    return fmt::format("{} {}{}", c_.op, problem_.str(), rpb_ ? " rpb" : "");
  }
  std::string op_detail() const override {
    if (is_merge()) return fmt::format("parts {}", merge_.parts);
    return rpb_ ? "rpb" : "";
  }
  Op op(bool backward) const override {
    if (c_.op == "na_qk") return backward ? Op::qk_backward : Op::qk_forward;
    if (c_.op == "na_av") return backward ? Op::av_backward : Op::av_forward;
    return backward ? Op::merge_backward : Op::merge_forward;
  }
  double flops(bool backward) const override {
    if (c_.op == "na_qk") return qk_flops(problem_, backward);
    if (c_.op == "na_av") return av_flops(problem_, backward);
    return merge_flops(merge_, backward);
  }
  double bytes(bool backward) const override {
    if (c_.op == "na_qk") return qk_bytes(problem_, rpb_, backward);
    if (c_.op == "na_av") return av_bytes(problem_, backward);
    return merge_bytes(merge_, backward);
  }
  double verify_gflop(bool with_backward) const override {
    return (flops(false) + (with_backward ? flops(true) : 0.0)) * 1e-9;
  }
  std::string kernel(const Backend&, bool backward) const override {
    std::string what = c_.op == "na_qk" ? (rpb_ ? "attention logits with relative positional bias" : "attention logits")
                       : c_.op == "na_av" ? "attention weights times values"
                                          : fmt::format("{} parts merged by logsumexp", merge_.parts);
    return fmt::format("{} ({})", op_name(op(backward)), what);
  }
  std::string unsupported(const Backend& b, bool backward) const override {
    // merge has no NA problem: supported when implemented.
    return unsupported_reason(b, op(backward), is_merge() ? Problem{} : problem_);
  }

  Verification verify(Backend& b, bool backward) override {
    ensure_inputs();
    auto ref = make_backend("reference");
    return guarded_verification([&] {
      if (c_.expected.empty()) c_.expected = run_split_forward(*ref, c_);  // merge's backward reads them
      if (backward && reference_grads_.empty()) reference_grads_ = run_split_backward(*ref, c_);
      const std::map<std::string, Tensor> ours = backward ? run_split_backward(b, c_) : run_split_forward(b, c_);
      const std::map<std::string, Tensor>& want = backward ? reference_grads_ : c_.expected;
      std::vector<NamedResult> pairs;
      for (const auto& [name, t] : ours) pairs.push_back({name, t, want.at(name)});
      return compare_results(c_.dtype, pairs);
    });
  }

  std::function<void()> prepare(Backend& b, bool backward) override {
    ensure_inputs();
    const Problem& p = problem_;
    const SplitCase& c = c_;
    if (c_.op == "na_qk") {
      if (!backward) {
        auto attention = std::make_shared<Tensor>(Tensor::empty(attention_shape(p), p.dtype));
        return [&b, &p, &c, attention] { b.qk_forward(p, c.qk, *attention); };
      }
      auto grads = std::make_shared<SplitQKGrads>(allocate_qk_grads(p, c.qk));
      return [&b, &p, &c, grads] { b.qk_backward(p, c.qk, c.grad_result, *grads); };
    }
    if (c_.op == "na_av") {
      if (!backward) {
        auto out = std::make_shared<Tensor>(Tensor::empty(p.output_shape(), p.dtype));
        return [&b, &p, &c, out] { b.av_forward(p, c.av, *out); };
      }
      auto grads = std::make_shared<SplitAVGrads>(allocate_av_grads(p, c.av));
      return [&b, &p, &c, grads] { b.av_backward(p, c.av, c.grad_result, *grads); };
    }
    struct Merged {
      Tensor out, lse;
      std::vector<Tensor> d_outputs, d_lses;
    };
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
  bool is_merge() const { return c_.op == "merge"; }

  // The case's tensors, made once; the problem they validate to must be the one derived above.
  void ensure_inputs() {
    if (made_) return;
    made_ = true;
    const std::uint64_t seed = cfg_.seed;
    if (is_merge()) {
      for (int i = 0; i < merge_.parts; ++i) {
        c_.merge_outputs.push_back(random_tensor(merge_.output_shape, c_.dtype, seed, 2 * static_cast<std::uint64_t>(i)));
        // Logsumexps in [-4, 4]: the parts' weights differ by up to e^8, as in natten-check's cases.
        Tensor lse = random_tensor(merge_.lse_shape, DType::f32, seed, 2 * static_cast<std::uint64_t>(i) + 1);
        for (std::int64_t k = 0; k < lse.numel(); ++k) lse.set(k, 4.0f * lse.get(k));
        c_.merge_lses.push_back(lse);
      }
      const MergeProblem m = validate_merge(c_.merge_outputs, c_.merge_lses);
      if (m.parts != merge_.parts || m.output_shape != merge_.output_shape || m.lse_shape != merge_.lse_shape ||
          m.rows != merge_.rows || m.dim != merge_.dim)
        fail("internal: merge case '{}' validates to another problem", cfg_.name);
      if (cfg_.backward) c_.grad_result = random_tensor(merge_.output_shape, c_.dtype, seed, 1000);
      return;
    }
    const Problem spec = make_problem(cfg_.spec);
    Problem validated;
    if (c_.op == "na_qk") {
      c_.qk.query = random_tensor(spec.query_shape(), c_.dtype, seed, 0);
      c_.qk.key = random_tensor(spec.kv_shape(spec.dim), c_.dtype, seed, 1);
      if (cfg_.rpb) c_.qk.rpb = random_tensor(rpb_shape(spec), c_.dtype, seed, 2);
      if (spec.extra_kv > 0) c_.qk.additional_key = random_tensor(spec.extra_kv_shape(spec.dim), c_.dtype, seed, 3);
      validated = validate_qk(c_.params, c_.qk);
      if (cfg_.backward) c_.grad_result = random_tensor(attention_shape(validated), c_.dtype, seed, 4);
    } else {
      c_.av.attention = random_tensor(attention_shape(spec), c_.dtype, seed, 0);
      c_.av.value = random_tensor(spec.kv_shape(spec.dim_v), c_.dtype, seed, 1);
      if (spec.extra_kv > 0) c_.av.additional_value = random_tensor(spec.extra_kv_shape(spec.dim_v), c_.dtype, seed, 2);
      validated = validate_av(c_.params, c_.av);
      if (cfg_.backward) c_.grad_result = random_tensor(validated.output_shape(), c_.dtype, seed, 3);
    }
    if (validated.str() != problem_.str())
      fail("internal: case '{}' validates to {}, not {}", cfg_.name, validated.str(), problem_.str());
  }

  config::ResolvedCase cfg_;
  bool made_ = false;
  SplitCase c_;
  bool rpb_;
  Problem problem_;
  MergeProblem merge_;
  std::map<std::string, Tensor> reference_grads_;
};

// ---- varlen: the fused op on a padded batch of per-sample extents -----------------------------

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

std::unique_ptr<Workload> make_workload(const config::ResolvedCase& c, bool allow_fast_path) {
  if (c.op == "na") return std::make_unique<FusedWorkload>(c, allow_fast_path);
  if (c.op == "na_qk" || c.op == "na_av" || c.op == "merge") return std::make_unique<SplitWorkload>(c);
  if (c.op == "varlen") return std::make_unique<VarlenWorkload>(c);
  fail("case '{}': unknown op '{}'", c.name, c.op);
}

}  // namespace natten::bench
