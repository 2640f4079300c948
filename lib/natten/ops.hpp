// Convenience calls for the ops beyond the fused pair: validate, check that the backend supports
// the op (throwing natten::Unsupported with its reason when not), allocate, run, synchronize.
// Tests and natten-check use these; natten-bench validates and allocates once, then calls the
// Backend virtuals directly in its timed loop.
#pragma once

#include <vector>

#include "natten/backend.hpp"

namespace natten {

// Split ops (core/split.hpp). qk returns attention [B, *S, Hq, W + N]; av returns output.
Tensor na_qk(Backend& backend, const NAParams& params, const SplitQKInputs& in);
SplitQKGrads na_qk_backward(Backend& backend, const NAParams& params, const SplitQKInputs& in,
                            const Tensor& d_attention);
Tensor na_av(Backend& backend, const NAParams& params, const SplitAVInputs& in);
SplitAVGrads na_av_backward(Backend& backend, const NAParams& params, const SplitAVInputs& in, const Tensor& d_output);

// merge_attentions (core/merge.hpp).
ForwardResult merge_attentions(Backend& backend, const std::vector<Tensor>& outputs, const std::vector<Tensor>& lses);
struct MergeGrads {
  std::vector<Tensor> outputs, lses;  // one per part
};
// d_lse may be undefined (no gradient flows into the merged logsumexp).
MergeGrads merge_attentions_backward(Backend& backend, const std::vector<Tensor>& outputs,
                                     const std::vector<Tensor>& lses, const Tensor& output, const Tensor& lse,
                                     const Tensor& d_output, const Tensor& d_lse = {});

// Variable-length fused op (core/varlen.hpp).
ForwardResult na_forward_varlen(Backend& backend, const NAParams& params, const NAInputs& in,
                                const std::vector<Extent>& extents);
Gradients na_backward_varlen(Backend& backend, const NAParams& params, const NAInputs& in,
                             const std::vector<Extent>& extents, const Tensor& output, const Tensor& lse,
                             const Tensor& d_output);

// The plain attention kernel called directly; throws Error when the problem's windows do not cover
// every token (its result would not be neighborhood attention).
ForwardResult fmha_forward(Backend& backend, const NAParams& params, const NAInputs& in);
Gradients fmha_backward(Backend& backend, const NAParams& params, const NAInputs& in, const Tensor& output,
                        const Tensor& lse, const Tensor& d_output);

}  // namespace natten
