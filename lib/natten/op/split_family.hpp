// What the families na_qk, na_av and merge share. Their cases are SplitCases (io/split_case.hpp);
// natten-check runs the forward, then the backward unless the backend declines it; natten-bench
// makes the case's tensors on first use (--dry-run allocates nothing) and verifies a backend
// against the reference backend through the same two calls natten-check uses.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "natten/op/op_table.hpp"

namespace natten::split_family {

using Tensors = std::map<std::string, Tensor>;

// A family's two calls on a backend, returning tensors named like the case's datasets. The
// backward is fed the case's expected forward results where it needs them.
struct Calls {
  Tensors (*forward)(Backend& backend, const SplitCase& c);
  Tensors (*backward)(Backend& backend, const SplitCase& c);
  // Empty when `backend` can run the backward (natten::unsupported_reason's line otherwise).
  std::string (*why_backward_unsupported)(const Backend& backend, const SplitCase& c);
};

OpOutputs compute(const Calls& calls, Backend& backend, const ParityCase& c);
ParityCase load(const h5::Group& root, const std::string& name, std::int64_t max_elements);
ParityCase generate(const config::ResolvedCase& cfg, Backend& backend);
void write(const h5::Group& root, const ParityCase& c, const std::string& producer_backend, bool compress);

// natten-bench's workload of a split family: the family gives the problem, the counts and the
// timed calls; this base keeps the tensors and verifies.
class Workload : public bench::Workload {
 public:
  Workload(const config::ResolvedCase& cfg, const Calls& calls);

  double verify_gflop(bool with_backward) const override {
    return (flops(false) + (with_backward ? flops(true) : 0.0)) * 1e-9;
  }
  std::string unsupported(const Backend& b, bool backward) const override {
    return unsupported_reason(b, op(backward), support_problem());
  }
  bench::Verification verify(Backend& b, bool backward) override;

 protected:
  // Fills the case's inputs (and its result gradient with cfg().backward) from cfg().seed, and
  // checks they validate to the problem the workload reports.
  virtual void make_tensors(SplitCase& c) = 0;
  // The problem the backend's support check sees (merge: none).
  virtual Problem support_problem() const { return problem(); }

  const config::ResolvedCase& cfg() const { return cfg_; }
  const SplitCase& tensors();  // made on first use
  SplitCase& blank() { return c_; }  // for constructors: name, op, dtype, params

 private:
  config::ResolvedCase cfg_;
  Calls calls_;
  bool made_ = false;
  SplitCase c_;
  Tensors reference_grads_;
};

}  // namespace natten::split_family
