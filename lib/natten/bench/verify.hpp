// One check before timing: does this backend's result match the reference backend's on the very
// problem and inputs being timed? (Tolerances: natten/parity/compare.hpp, per dtype.)
#pragma once

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

}  // namespace natten::bench
