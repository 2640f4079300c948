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

#include "natten/core/problem.hpp"

namespace natten {

enum class Op {
  forward,   // output + logsumexp
  backward,  // d query/key/value (+ additional KV)
};
std::string_view op_name(Op op);

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual std::string description() const = 0;

  // Empty when `op` on `problem` is supported; otherwise one line saying why not.
  virtual std::string why_unsupported(Op op, const Problem& problem) const = 0;

  // out [B, *S, Hq, Dv] in the problem's dtype, lse [B, *S, Hq] float32.
  virtual void forward(const Problem& problem, const NAInputs& in, Tensor& out, Tensor& lse) = 0;
  // grads holds tensors shaped and typed like the inputs (additional KV ones only when present).
  virtual void backward(const Problem& problem, const NAInputs& in, const Tensor& out, const Tensor& lse,
                        const Tensor& d_out, Gradients& grads) = 0;

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

// Convenience calls that validate, allocate and run (tests, natten-check).
struct ForwardResult {
  Tensor output, lse;
};
ForwardResult na_forward(Backend& backend, const NAParams& params, const NAInputs& in);
Gradients na_backward(Backend& backend, const NAParams& params, const NAInputs& in, const Tensor& output,
                      const Tensor& lse, const Tensor& d_output);
// Gradient tensors allocated (zeroed) with the shapes and dtypes of the inputs of `problem`.
Gradients allocate_gradients(const Problem& problem);

}  // namespace natten
