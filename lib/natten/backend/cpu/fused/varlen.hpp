// Variable-length NA on the cpu backend (core/varlen.hpp): each sample's valid tokens are copied
// out of the padded batch into compact tensors (padding is never read), run through the fused
// kernels at the sample's own extents (forward.cpp / backward.cpp: SIMD, threaded), and copied
// back; everything at padded positions is zero.
#pragma once

#include "natten/backend/cpu/common/passes.hpp"
#include "natten/core/varlen.hpp"

namespace natten::cpu {

// Tensors contiguous; out/lse/grads shaped as the padded problem.
void run_varlen_forward(const VarlenProblem& v, const NAInputs& in, Tensor& out, Tensor& lse, const Workers& w);
void run_varlen_backward(const VarlenProblem& v, const NAInputs& in, const Tensor& out, const Tensor& lse,
                         const Tensor& d_out, Gradients& grads, const Workers& w);

}  // namespace natten::cpu
