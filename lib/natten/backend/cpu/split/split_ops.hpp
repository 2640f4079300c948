// Host side of the cpu backend's split ops: builds the geometry and kernel arguments of a
// validated problem and runs the units of each pass on the backend's threads (split_args.hpp).
#pragma once

#include "natten/backend/cpu/common/passes.hpp"
#include "natten/core/split.hpp"

namespace natten::cpu {

// Every tensor is contiguous (inputs are made so by the caller); gradients are zeroed.
void run_qk_forward(const Problem& p, const SplitQKInputs& in, Tensor& attention, const Workers& w);
void run_qk_backward(const Problem& p, const SplitQKInputs& in, const Tensor& d_attention, SplitQKGrads& grads,
                     const Workers& w);
void run_av_forward(const Problem& p, const SplitAVInputs& in, Tensor& output, const Workers& w);
void run_av_backward(const Problem& p, const SplitAVInputs& in, const Tensor& d_output, SplitAVGrads& grads,
                     const Workers& w);

}  // namespace natten::cpu
