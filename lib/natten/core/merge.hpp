// merge_attentions: combine attention outputs computed over disjoint key sets into the output of
// attention over their union, using each part's logsumexp (upstream NATTEN's `merge_attentions`).
//
// With parts i = 0..n-1, outputs O_i [..., H, D] and logsumexps L_i [..., H] (float32, natural log):
//   L = log(sum_i exp(L_i)),  w_i = exp(L_i - L),  O = sum_i w_i O_i
// computed around m = max_i L_i so nothing overflows. A row whose parts are all empty (every
// L_i = -inf) merges to O = 0, L = -inf. Backward, given dO and optionally dL:
//   dO_i = w_i dO,  dL_i = w_i (dO . (O_i - O) + dL).
// Shapes are free up to the last two axes: the leading axes (batch, spatial) are rows.
#pragma once

#include <cstdint>
#include <vector>

#include "natten/core/tensor.hpp"

namespace natten {

struct MergeProblem {
  DType dtype = DType::f32;  // of the outputs; logsumexps are float32
  Shape output_shape;        // [..., H, D]
  Shape lse_shape;           // [..., H]
  int parts = 0;
  std::int64_t rows = 0;     // numel(lse_shape): one (token, head) per row
  int dim = 0;               // D
};

// At least two parts (one part is the identity, and upstream rejects it too), matching shapes and
// dtypes, float32 logsumexps.
MergeProblem validate_merge(const std::vector<Tensor>& outputs, const std::vector<Tensor>& lses);
// Also checks the merged output/lse and their gradients (d_lse may be undefined: no gradient).
MergeProblem validate_merge_backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& lses,
                                     const Tensor& output, const Tensor& lse, const Tensor& d_output,
                                     const Tensor& d_lse);

}  // namespace natten
