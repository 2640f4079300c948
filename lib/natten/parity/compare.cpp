#include "natten/parity/compare.hpp"

#include <cmath>
#include <limits>

#include "natten/core/error.hpp"

namespace natten {

Tolerance default_tolerance(DType dtype, std::string_view tensor) {
  const bool grad = tensor.rfind("grad_", 0) == 0;
  switch (dtype) {
    case DType::f32: return grad ? Tolerance{1e-5, 1e-4} : Tolerance{1e-5, 1e-5};
    case DType::f16: return grad ? Tolerance{2e-3, 1e-2} : Tolerance{1e-3, 1e-2};
    case DType::bf16: return grad ? Tolerance{1.6e-2, 2e-2} : Tolerance{8e-3, 2e-2};
  }
  return {};
}

TensorComparison compare_tensors(const Tensor& ours, const Tensor& reference, const Tolerance& tol) {
  if (ours.shape() != reference.shape())
    fail("compare: shape {} differs from reference shape {}", shape_str(ours.shape()), shape_str(reference.shape()));
  const Tensor a = ours.contiguous();
  const Tensor b = reference.contiguous();
  TensorComparison c;
  c.count = a.numel();
  double worst_excess = -std::numeric_limits<double>::infinity();
  double sum_abs = 0.0;
  for (std::int64_t i = 0; i < c.count; ++i) {
    const double x = a.get(i);
    const double r = b.get(i);
    // Identical infinities agree: -inf marks masked attention slots and the logsumexp of an empty
    // key set, and a reference may legitimately hold them.
    if (std::isinf(x) && x == r) continue;
    const double err = std::fabs(x - r);
    const bool finite = std::isfinite(x) && std::isfinite(r);
    const double allowed = tol.atol + tol.rtol * std::fabs(r);
    const double excess = finite ? err - allowed : std::numeric_limits<double>::infinity();
    if (!finite || err > allowed) ++c.failures;
    if (finite) {
      sum_abs += err;
      c.max_abs_error = std::max(c.max_abs_error, err);
      if (r != 0.0) c.max_rel_error = std::max(c.max_rel_error, err / std::fabs(r));
    } else {
      c.max_abs_error = std::numeric_limits<double>::infinity();
    }
    if (excess > worst_excess) {
      worst_excess = excess;
      c.worst_index = i;
      c.worst_ours = x;
      c.worst_reference = r;
    }
  }
  c.mean_abs_error = c.count > 0 ? sum_abs / static_cast<double>(c.count) : 0.0;
  return c;
}

}  // namespace natten
