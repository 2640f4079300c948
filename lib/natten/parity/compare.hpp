// Element-wise comparison of a computed tensor with a reference: the statistics natten-check
// reports and the tests assert on. An element fails when |ours - ref| > atol + rtol * |ref|, or
// when either is NaN/Inf (identical infinities match: masked slots and empty-set logsumexps).
#pragma once

#include <cstdint>
#include <string_view>

#include "natten/core/tensor.hpp"

namespace natten {

struct Tolerance {
  double atol = 0.0;
  double rtol = 0.0;
};

// Defaults per dtype and tensor ("output", "logsumexp", "grad_query", ...), calibrated on the
// upstream reference files (apps/natten-check/README.md gives the measurements behind them).
Tolerance default_tolerance(DType dtype, std::string_view tensor);

struct TensorComparison {
  std::int64_t count = 0;
  std::int64_t failures = 0;      // elements outside tolerance (non-finite ones included)
  double max_abs_error = 0.0;
  double max_rel_error = 0.0;     // |ours - ref| / |ref| over elements with ref != 0
  double mean_abs_error = 0.0;
  // max over elements of |ours - ref| / (atol + rtol |ref|): under 1 passes; 24 is "24x over
  // tolerance" (infinite for non-finite values).
  double tolerance_ratio = 0.0;
  std::int64_t worst_index = -1;  // flat row-major index of the largest excess over tolerance
  double worst_ours = 0.0;
  double worst_reference = 0.0;
};

// The multi-index of row-major flat index `flat` in `shape` (for reporting the worst element).
Shape unravel_index(std::int64_t flat, const Shape& shape);

// Shapes must match (throws Error otherwise).
TensorComparison compare_tensors(const Tensor& ours, const Tensor& reference, const Tolerance& tol);

}  // namespace natten
