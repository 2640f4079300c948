// Variable-length neighborhood attention: a padded batch in which sample b occupies the leading
// extents[b] tokens of every spatial axis (a 1D length, a 2D/3D box anchored at the origin).
//
// Each sample behaves exactly as if run alone at its own size: the window rule sees its extents,
// not the padded ones. Padding is never read (it may hold anything, NaN included); the outputs,
// logsumexps and gradients at padded positions are zero. Additional KV tokens, when present, are
// per sample ([B, N, Hkv, D]) and all N are attended by every valid query of that sample.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "natten/core/problem.hpp"

namespace natten {

using Extent = std::array<std::int64_t, kMaxRank>;  // axes >= rank are 1

struct VarlenProblem {
  Problem padded;               // shapes of the tensors; its spatial sizes bound every extent
  std::vector<Extent> extents;  // one per batch element

  // Sample b run alone: batch 1, its own extents, everything else from the padded problem.
  Problem sample(std::int64_t b) const;
  // Token index in the padded layout of token t of sample problem s (row-major in s's extents).
  std::int64_t padded_token(const Problem& s, std::int64_t t) const;
};

// Validates the padded tensors as for the fused op, then each extent: one per batch element,
// 1 <= extent <= padded size, and the fused op's rules at that size (kernel * dilation <= extent).
VarlenProblem validate_varlen_forward(const NAParams& params, const NAInputs& in, const std::vector<Extent>& extents);
VarlenProblem validate_varlen_backward(const NAParams& params, const NAInputs& in, const std::vector<Extent>& extents,
                                       const Tensor& output, const Tensor& lse, const Tensor& d_output);

}  // namespace natten
