// The reference backend's ops, one file each; reference_backend.cpp wires them into the Backend
// interface.
#pragma once

#include <vector>

#include "natten/core/merge.hpp"
#include "natten/core/split.hpp"
#include "natten/core/varlen.hpp"

namespace natten::reference {

void qk_forward(const Problem& p, const SplitQKInputs& in, Tensor& attention);                 // split_qk.cpp
void qk_backward(const Problem& p, const SplitQKInputs& in, const Tensor& d_attention, SplitQKGrads& grads);
void av_forward(const Problem& p, const SplitAVInputs& in, Tensor& output);                     // split_av.cpp
void av_backward(const Problem& p, const SplitAVInputs& in, const Tensor& d_output, SplitAVGrads& grads);
void merge_forward(const MergeProblem& m, const std::vector<Tensor>& outputs, const std::vector<Tensor>& lses,
                   Tensor& output, Tensor& lse);                                                // merge.cpp
void merge_backward(const MergeProblem& m, const std::vector<Tensor>& outputs, const std::vector<Tensor>& lses,
                    const Tensor& output, const Tensor& lse, const Tensor& d_output, const Tensor& d_lse,
                    std::vector<Tensor>& d_outputs, std::vector<Tensor>& d_lses);
void varlen_forward(const VarlenProblem& v, const NAInputs& in, Tensor& out, Tensor& lse);     // varlen.cpp
void varlen_backward(const VarlenProblem& v, const NAInputs& in, const Tensor& out, const Tensor& lse,
                     const Tensor& d_out, Gradients& grads);

}  // namespace natten::reference
