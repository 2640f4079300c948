// One check before timing: does this backend's result match the reference backend's on the very
// problem and inputs being timed? (Tolerances: natten/parity/compare.hpp, per dtype.)
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "natten/backend.hpp"
#include "natten/bench/results.hpp"

namespace natten::bench {

// Reference results for one problem, computed once and shared by every backend checked.
struct ReferenceResults {
  ForwardResult forward;
  Tensor d_output;
  Gradients grads;  // from the reference forward's output and logsumexp
  bool has_grads = false;
};

ReferenceResults reference_results(const Problem& p, const NAInputs& in, bool backward, std::uint64_t seed);

// Compares `backend` with the reference: forward (output, logsumexp) or backward (every gradient,
// given the reference's output, logsumexp and output gradient), through the same fused plan
// (neighborhood kernel or FMHA fast path) that is timed. Backend errors become failures.
Verification verify_forward(Backend& backend, const Problem& p, const NAInputs& in, const ReferenceResults& ref,
                            bool allow_fast_path);
Verification verify_backward(Backend& backend, const Problem& p, const NAInputs& in, const ReferenceResults& ref,
                             bool allow_fast_path);

// The building blocks, for the other ops: each named tensor of ours against the reference's
// (pairs whose reference is undefined are skipped), with the per-dtype default tolerances; and
// a run of `check` in which a backend error becomes a failed verification.
struct NamedResult {
  std::string name;  // "output", "attention", "grad_rpb", ... (selects the tolerance)
  Tensor ours, reference;
};
Verification compare_results(DType dtype, const std::vector<NamedResult>& results);
Verification guarded_verification(const std::function<Verification()>& check);

}  // namespace natten::bench
