// The `cpu` backend: fused SIMD forward and backward kernels, multithreaded on the backend's own
// thread pool (parallel.hpp says why not OpenMP).
// This file is only the Backend interface; passes live in forward.cpp / backward.cpp, kernels in
// *_kernel.cpp, work decomposition in tiling.*, threading in parallel.*.
#include <fmt/format.h>

#include "natten/backend/cpu/fmha/fmha_args.hpp"
#include "natten/backend/cpu/fused/kernels.hpp"
#include "natten/backend/cpu/merge/merge_args.hpp"
#include "natten/backend/cpu/common/parallel.hpp"
#include "natten/backend/cpu/common/passes.hpp"
#include "natten/backend/cpu/simd_targets.hpp"
#include "natten/backend/cpu/split/split_ops.hpp"
#include "natten/backend/cpu/fused/varlen.hpp"
#include "natten/backend/factories.hpp"
#include "natten/core/error.hpp"

namespace natten {
namespace {

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  std::string description() const override {
    return fmt::format("fused SIMD kernels ({}), up to {} threads", cpu::simd_target(), cpu::resolve_threads(threads_));
  }
  // Every problem the library validates is supported: any rank, kernel, stride, dilation, causal
  // mask, head dims, GQA and additional KV.
  std::string why_unsupported(Op, const Problem&) const override { return {}; }
  // Every op: split qk/av, merge, FMHA and varlen are in split_*, merge*, fmha*, varlen* (OPS.md).
  bool implements(Op) const override { return true; }

  void forward(const Problem& p, const NAInputs& in, Tensor& out, Tensor& lse) override {
    require_contiguous("output", out);
    require_contiguous("logsumexp", lse);
    cpu::run_forward(p, contiguous(in), out, lse, workers());
  }

  void backward(const Problem& p, const NAInputs& in, const Tensor& out, const Tensor& lse, const Tensor& d_out,
                Gradients& grads) override {
    for (const auto& [name, t] : {std::pair<const char*, const Tensor*>{"grad_query", &grads.query},
                                  {"grad_key", &grads.key},
                                  {"grad_value", &grads.value},
                                  {"grad_additional_key", &grads.additional_key},
                                  {"grad_additional_value", &grads.additional_value}}) {
      if (t->defined()) require_contiguous(name, *t);
    }
    cpu::run_backward(p, contiguous(in), out.contiguous(), lse.contiguous(), d_out.contiguous(), grads, workers());
  }

  // Split ops (split_ops.cpp); outputs come allocated and contiguous from natten/ops.
  void qk_forward(const Problem& p, const SplitQKInputs& in, Tensor& attention) override {
    cpu::run_qk_forward(p, in, attention, workers());
  }
  void qk_backward(const Problem& p, const SplitQKInputs& in, const Tensor& d_attention, SplitQKGrads& grads) override {
    cpu::run_qk_backward(p, in, d_attention, grads, workers());
  }
  void av_forward(const Problem& p, const SplitAVInputs& in, Tensor& output) override {
    cpu::run_av_forward(p, in, output, workers());
  }
  void av_backward(const Problem& p, const SplitAVInputs& in, const Tensor& d_output, SplitAVGrads& grads) override {
    cpu::run_av_backward(p, in, d_output, grads, workers());
  }

  void fmha_forward(const Problem& p, const NAInputs& in, Tensor& out, Tensor& lse) override {
    require_contiguous("output", out);
    require_contiguous("logsumexp", lse);
    cpu::run_fmha_forward(p, in, out, lse, workers());
  }

  void fmha_backward(const Problem& p, const NAInputs& in, const Tensor& out, const Tensor& lse, const Tensor& d_out,
                     Gradients& grads) override {
    cpu::run_fmha_backward(p, in, out, lse, d_out, grads, workers());
  }

  void varlen_forward(const VarlenProblem& v, const NAInputs& in, Tensor& out, Tensor& lse) override {
    require_contiguous("output", out);
    require_contiguous("logsumexp", lse);
    cpu::run_varlen_forward(v, contiguous(in), out, lse, workers());
  }
  void varlen_backward(const VarlenProblem& v, const NAInputs& in, const Tensor& out, const Tensor& lse,
                       const Tensor& d_out, Gradients& grads) override {
    cpu::run_varlen_backward(v, contiguous(in), out.contiguous(), lse.contiguous(), d_out.contiguous(), grads,
                             workers());
  }

  void merge_forward(const MergeProblem& m, const std::vector<Tensor>& outputs, const std::vector<Tensor>& lses,
                     Tensor& output, Tensor& lse) override {
    cpu::run_merge_forward(m, outputs, lses, output, lse, workers());
  }
  void merge_backward(const MergeProblem& m, const std::vector<Tensor>& outputs, const std::vector<Tensor>& lses,
                      const Tensor& output, const Tensor&, const Tensor& d_output, const Tensor& d_lse,
                      std::vector<Tensor>& d_outputs, std::vector<Tensor>& d_lses) override {
    cpu::run_merge_backward(m, outputs, lses, output, d_output, d_lse, d_outputs, d_lses, workers());
  }

  void set_threads(int threads) override {
    if (threads < 0) fail("threads: {} must be >= 0 (0 = all hardware threads)", threads);
    threads_ = threads;
  }

 private:
  static void require_contiguous(const char* name, const Tensor& t) {
    if (!t.is_contiguous()) fail("cpu backend: {} must be a contiguous tensor", name);
  }
  static NAInputs contiguous(const NAInputs& in) {
    auto c = [](const Tensor& t) { return t.defined() ? t.contiguous() : t; };
    return {c(in.query), c(in.key), c(in.value), c(in.additional_key), c(in.additional_value)};
  }
  cpu::Workers workers() {
    const int n = cpu::resolve_threads(threads_);
    if (workspaces_.size() < static_cast<std::size_t>(n)) workspaces_.resize(static_cast<std::size_t>(n));
    return {n, &workspaces_};
  }

  int threads_ = 0;
  std::vector<cpu::Workspace> workspaces_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace natten
