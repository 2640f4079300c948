// The interface every backend implements, and the registry the apps pick backends from by name.
//
// A backend receives problems that are already validated (validate_forward / validate_backward)
// and output tensors that are already allocated with the problem's shapes, so timing a backend
// call never times validation or allocation. Anything a backend cannot do it reports up front
// through why_unsupported(); it never falls back or truncates silently.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "natten/core/merge.hpp"
#include "natten/core/problem.hpp"
#include "natten/core/split.hpp"
#include "natten/core/varlen.hpp"

namespace natten {

enum class Op {
  forward,         // fused NA: output + logsumexp
  backward,        // fused NA: d query/key/value (+ additional KV)
  qk_forward,      // split qk: attention logits (+ rpb), core/split.hpp
  qk_backward,     // d query/key (+ rpb, additional keys)
  av_forward,      // split av: attention weights times values
  av_backward,     // d attention/value (+ additional values)
  merge_forward,   // merge_attentions, core/merge.hpp
  merge_backward,
  varlen_forward,  // fused NA on a padded batch of per-sample extents, core/varlen.hpp
  varlen_backward,
  fmha_forward,    // plain attention over every token: the fast path when windows cover everything
  fmha_backward,
};
// "forward", "backward", "na_qk", "na_qk_backward", "na_av", "na_av_backward", "merge",
// "merge_backward", "varlen_forward", "varlen_backward", "fmha_forward", "fmha_backward".
std::string_view op_name(Op op);
// Every op, in enum order (for listings and tests).
const std::vector<Op>& all_ops();

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual std::string description() const = 0;

  // The ops this backend has kernels for. The default is the fused pair, so a backend written
  // before an op existed says "not implemented" instead of claiming support; backends override it
  // together with the op's virtual below.
  virtual bool implements(Op op) const { return op == Op::forward || op == Op::backward; }

  // Empty when `op` on `problem` is supported; otherwise one line saying why not. Only asked for
  // ops the backend implements (callers go through natten::unsupported_reason). For varlen ops the
  // problem is the padded one; merge ops have no NA problem and are supported when implemented.
  virtual std::string why_unsupported(Op op, const Problem& problem) const = 0;

  // out [B, *S, Hq, Dv] in the problem's dtype, lse [B, *S, Hq] float32.
  virtual void forward(const Problem& problem, const NAInputs& in, Tensor& out, Tensor& lse) = 0;
  // grads holds tensors shaped and typed like the inputs (additional KV ones only when present).
  virtual void backward(const Problem& problem, const NAInputs& in, const Tensor& out, const Tensor& lse,
                        const Tensor& d_out, Gradients& grads) = 0;

  // Ops beyond the fused pair. Each default throws natten::Unsupported naming the backend and the
  // op; a backend that implements one overrides it and lists it in implements(). Outputs are
  // allocated by the caller with the shapes core/{split,merge,varlen}.hpp give, gradients zeroed.

  // attention [B, *S, Hq, W + N] (core/split.hpp: no scale; -inf in slots a causal window lacks).
  virtual void qk_forward(const Problem& problem, const SplitQKInputs& in, Tensor& attention);
  virtual void qk_backward(const Problem& problem, const SplitQKInputs& in, const Tensor& d_attention,
                           SplitQKGrads& grads);
  // output [B, *S, Hq, Dv].
  virtual void av_forward(const Problem& problem, const SplitAVInputs& in, Tensor& output);
  virtual void av_backward(const Problem& problem, const SplitAVInputs& in, const Tensor& d_output,
                           SplitAVGrads& grads);
  // output like outputs[i], lse like lses[i] (float32). d_lse may be undefined (no gradient).
  virtual void merge_forward(const MergeProblem& problem, const std::vector<Tensor>& outputs,
                             const std::vector<Tensor>& lses, Tensor& output, Tensor& lse);
  virtual void merge_backward(const MergeProblem& problem, const std::vector<Tensor>& outputs,
                              const std::vector<Tensor>& lses, const Tensor& output, const Tensor& lse,
                              const Tensor& d_output, const Tensor& d_lse, std::vector<Tensor>& d_outputs,
                              std::vector<Tensor>& d_lses);
  // Fused op on a padded batch; outputs and gradients at padded positions must be zero.
  virtual void varlen_forward(const VarlenProblem& problem, const NAInputs& in, Tensor& out, Tensor& lse);
  virtual void varlen_backward(const VarlenProblem& problem, const NAInputs& in, const Tensor& out,
                               const Tensor& lse, const Tensor& d_out, Gradients& grads);
  // Plain attention of every query over every token (+ additional KV): the fused op's result when
  // why_not_full_attention(problem) is empty, which is the only case it is called for.
  virtual void fmha_forward(const Problem& problem, const NAInputs& in, Tensor& out, Tensor& lse);
  virtual void fmha_backward(const Problem& problem, const NAInputs& in, const Tensor& out, const Tensor& lse,
                             const Tensor& d_out, Gradients& grads);

  // Worker threads for CPU backends (0 = all hardware threads); others ignore it.
  virtual void set_threads(int /*threads*/) {}
  // Waits for queued device work (GPU backends); CPU backends return at once.
  virtual void synchronize() {}
};

// What the registry knows about one backend name.
struct BackendInfo {
  std::string name;
  std::string description;
  bool available = false;  // compiled in and usable on this machine
  std::string unavailable_reason;
};

std::vector<BackendInfo> list_backends();
// Names of the backends usable on this machine, in registry order (reference first).
std::vector<std::string> available_backends();
// Throws Error naming the known backends when `name` is unknown or unavailable here.
std::unique_ptr<Backend> make_backend(std::string_view name);

// Empty when `backend` can run `op` on `problem`: it implements the op and why_unsupported() has
// no objection. Otherwise one line ("not implemented by backend cpu" or the backend's reason).
std::string unsupported_reason(const Backend& backend, Op op, const Problem& problem);

// How a fused call runs: the neighborhood kernel (Op::forward / Op::backward) or, when every
// window covers the whole token grid and the backend implements it, the plain attention kernel
// (Op::fmha_forward / Op::fmha_backward). natten-bench --dry-run prints describe(plan).
struct FusedPlan {
  Op op = Op::forward;
  bool fast_path = false;
  std::string reason;  // why the fast path is or is not taken
};
FusedPlan plan_fused(const Backend& backend, Op direction, const Problem& problem, bool allow_fast_path = true);
std::string describe(const FusedPlan& plan);  // "fmha_forward (fast path: ...)" or "forward (neighborhood: ...)"
// Run a plan on validated inputs and allocated outputs (what natten-bench times).
void run_forward(Backend& backend, const FusedPlan& plan, const Problem& problem, const NAInputs& in, Tensor& out,
                 Tensor& lse);
void run_backward(Backend& backend, const FusedPlan& plan, const Problem& problem, const NAInputs& in,
                  const Tensor& out, const Tensor& lse, const Tensor& d_out, Gradients& grads);

// Convenience calls that validate, allocate and run (tests, natten-check). The fused ones take the
// FMHA fast path when plan_fused() allows it; the other ops' convenience calls are in natten/ops.hpp.
struct ForwardResult {
  Tensor output, lse;
};
ForwardResult na_forward(Backend& backend, const NAParams& params, const NAInputs& in, bool allow_fast_path = true);
Gradients na_backward(Backend& backend, const NAParams& params, const NAInputs& in, const Tensor& output,
                      const Tensor& lse, const Tensor& d_output, bool allow_fast_path = true);
// Gradient tensors allocated (zeroed) with the shapes and dtypes of the inputs of `problem`.
Gradients allocate_gradients(const Problem& problem);

}  // namespace natten
