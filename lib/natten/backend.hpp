// The interface every backend implements, and the registry the apps pick backends from by name.
//
// A backend receives problems that are already validated (validate_forward / validate_backward)
// and output tensors that are already allocated with the problem's shapes, so timing a backend
// call never times validation or allocation. Anything a backend cannot do it reports up front
// through why_unsupported(); it never falls back or truncates silently.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "natten/core/merge.hpp"
#include "natten/core/problem.hpp"
#include "natten/core/split.hpp"
#include "natten/core/varlen.hpp"

namespace natten {

// Every backend op, once: its enum name and the name reports and messages use. Ops are data
// (as in ggml): the enum, op_name() and all_ops() are generated from this list, and the op
// families below group them into what a case file's or config's `op` names.
#define NATTEN_BACKEND_OPS(X)                                                                        \
  X(forward, "forward")                /* fused NA: output + logsumexp */                            \
  X(backward, "backward")              /* fused NA: d query/key/value (+ additional KV) */          \
  X(qk_forward, "na_qk")               /* split qk: attention logits (+ rpb), core/split.hpp */     \
  X(qk_backward, "na_qk_backward")     /* d query/key (+ rpb, additional keys) */                   \
  X(av_forward, "na_av")               /* split av: attention weights times values */               \
  X(av_backward, "na_av_backward")     /* d attention/value (+ additional values) */                \
  X(merge_forward, "merge")            /* merge_attentions, core/merge.hpp */                       \
  X(merge_backward, "merge_backward")                                                               \
  X(varlen_forward, "varlen_forward")  /* fused NA on a padded batch of extents, core/varlen.hpp */  \
  X(varlen_backward, "varlen_backward")                                                             \
  X(fmha_forward, "fmha_forward")      /* plain attention over every token: the fused op's fast */  \
  X(fmha_backward, "fmha_backward")    /* path when windows cover everything */

enum class Op {
#define NATTEN_OP_ENUM(op, name) op,
  NATTEN_BACKEND_OPS(NATTEN_OP_ENUM)
#undef NATTEN_OP_ENUM
};
#define NATTEN_OP_COUNT(op, name) +1
inline constexpr int kOpCount = 0 NATTEN_BACKEND_OPS(NATTEN_OP_COUNT);
#undef NATTEN_OP_COUNT

std::string_view op_name(Op op);
// Every op, in enum order (for listings and tests).
const std::vector<Op>& all_ops();

// The op families: the values of a case's `op` (natten-ref files, INI configs, natten-bench). Each
// runs one forward/backward pair of backend ops; "na" may take the FMHA fast path instead.
// natten/op/op_table.hpp holds each family's implementation (loading, running, generating,
// benchmarking), indexed by this enum, so a family without one does not compile.
#define NATTEN_OP_FAMILIES(X)                                                                              \
  X(na, forward, backward, true, "fused neighborhood attention: output, logsumexp, and grads when present")     \
  X(na_qk, qk_forward, qk_backward, true,                                                                 \
    "split qk (upstream 0.14-0.17): attention logits with optional rpb, and grad query/key/rpb")          \
  X(na_av, av_forward, av_backward, true,                                                                 \
    "split av (upstream 0.14-0.17): attention weights times values, and grad attention/value")            \
  X(merge, merge_forward, merge_backward, true,                                                           \
    "merge_attentions: outputs over disjoint key sets merged by logsumexp, and its backward")             \
  X(varlen, varlen_forward, varlen_backward, false,                                                       \
    "fused neighborhood attention on a padded batch of per-sample extents (natten-bench only)")

enum class OpFamily {
#define NATTEN_FAMILY_ENUM(family, fwd, bwd, in_files, text) family,
  NATTEN_OP_FAMILIES(NATTEN_FAMILY_ENUM)
#undef NATTEN_FAMILY_ENUM
};
#define NATTEN_FAMILY_COUNT(family, fwd, bwd, in_files, text) +1
inline constexpr int kOpFamilyCount = 0 NATTEN_OP_FAMILIES(NATTEN_FAMILY_COUNT);
#undef NATTEN_FAMILY_COUNT

struct OpFamilyInfo {
  OpFamily family;
  std::string_view name;         // the `op` value: "na", "na_qk", "na_av", "merge", "varlen"
  Op forward, backward;          // the backend ops a case of the family runs
  bool in_case_files;            // natten-ref files hold it (varlen: natten-bench only)
  std::string_view description;  // one line, for docs and messages
};
// Every family, in enum order.
const std::vector<OpFamilyInfo>& op_families();
const OpFamilyInfo& family_info(OpFamily family);
// nullptr when no family has that name.
const OpFamilyInfo* find_op_family(std::string_view name);
// The family whose forward or backward `op` is (the FMHA ops belong to "na").
OpFamily family_of(Op op);
// The family names in enum order, optionally only those natten-ref files hold; and the same
// comma-separated for messages ("na, na_qk, na_av, merge, varlen").
std::vector<std::string> family_name_list(bool case_files_only);
std::string family_names(bool case_files_only);

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
  // Device time in seconds of the last op call (one command buffer per call on GPU backends:
  // kernel time without host copies or queueing), or nullopt when the backend cannot measure it
  // (CPU backends: their wall time is the device time). natten-bench reports it beside wall time.
  virtual std::optional<double> last_device_seconds() const { return std::nullopt; }
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
