// The reference backend: the oracle every other backend is tested against. Every op is a plain
// loop in double over the explicit neighbor list (attention_loops.cpp, split_qk.cpp, split_av.cpp,
// merge.cpp, varlen.cpp); this file only wires them into the Backend interface.
#include "natten/backend/factories.hpp"
#include "natten/backend/reference/attention_loops.hpp"
#include "natten/backend/reference/reference_ops.hpp"

namespace natten {
namespace {

class ReferenceBackend final : public Backend {
 public:
  std::string name() const override { return "reference"; }
  std::string description() const override { return "plain loops accumulating in double: the oracle"; }
  bool implements(Op) const override { return true; }
  std::string why_unsupported(Op, const Problem&) const override { return {}; }

  void forward(const Problem& p, const NAInputs& in, Tensor& out, Tensor& lse) override {
    reference::attention_forward(p, reference::neighborhood_attendance(p), in, out, lse);
  }
  void backward(const Problem& p, const NAInputs& in, const Tensor& out, const Tensor& lse, const Tensor& d_out,
                Gradients& grads) override {
    reference::attention_backward(p, reference::neighborhood_attendance(p), in, out, lse, d_out, grads);
  }

  void qk_forward(const Problem& p, const SplitQKInputs& in, Tensor& attention) override {
    reference::qk_forward(p, in, attention);
  }
  void qk_backward(const Problem& p, const SplitQKInputs& in, const Tensor& d_attention,
                   SplitQKGrads& grads) override {
    reference::qk_backward(p, in, d_attention, grads);
  }
  void av_forward(const Problem& p, const SplitAVInputs& in, Tensor& output) override {
    reference::av_forward(p, in, output);
  }
  void av_backward(const Problem& p, const SplitAVInputs& in, const Tensor& d_output, SplitAVGrads& grads) override {
    reference::av_backward(p, in, d_output, grads);
  }

  void merge_forward(const MergeProblem& m, const std::vector<Tensor>& outputs, const std::vector<Tensor>& lses,
                     Tensor& output, Tensor& lse) override {
    reference::merge_forward(m, outputs, lses, output, lse);
  }
  void merge_backward(const MergeProblem& m, const std::vector<Tensor>& outputs, const std::vector<Tensor>& lses,
                      const Tensor& output, const Tensor& lse, const Tensor& d_output, const Tensor& d_lse,
                      std::vector<Tensor>& d_outputs, std::vector<Tensor>& d_lses) override {
    reference::merge_backward(m, outputs, lses, output, lse, d_output, d_lse, d_outputs, d_lses);
  }

  void varlen_forward(const VarlenProblem& v, const NAInputs& in, Tensor& out, Tensor& lse) override {
    reference::varlen_forward(v, in, out, lse);
  }
  void varlen_backward(const VarlenProblem& v, const NAInputs& in, const Tensor& out, const Tensor& lse,
                       const Tensor& d_out, Gradients& grads) override {
    reference::varlen_backward(v, in, out, lse, d_out, grads);
  }

  // Plain attention by definition (every token), not through the window rule, so that the
  // fast-path tests compare two independent computations.
  void fmha_forward(const Problem& p, const NAInputs& in, Tensor& out, Tensor& lse) override {
    reference::attention_forward(p, reference::dense_attendance(p), in, out, lse);
  }
  void fmha_backward(const Problem& p, const NAInputs& in, const Tensor& out, const Tensor& lse, const Tensor& d_out,
                     Gradients& grads) override {
    reference::attention_backward(p, reference::dense_attendance(p), in, out, lse, d_out, grads);
  }
};

}  // namespace

std::unique_ptr<Backend> make_reference_backend() { return std::make_unique<ReferenceBackend>(); }

}  // namespace natten
