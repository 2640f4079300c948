#include "natten/bench/verify.hpp"

#include <cmath>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "natten/bench/inputs.hpp"
#include "natten/core/error.hpp"
#include "natten/parity/compare.hpp"

namespace natten::bench {

ReferenceResults reference_results(const Problem& p, const NAInputs& in, bool backward, std::uint64_t seed) {
  auto ref = make_backend("reference");
  ReferenceResults r;
  // The oracle always runs its neighborhood loops, so a fast path is checked against them.
  r.forward = na_forward(*ref, p.params, in, /*allow_fast_path=*/false);
  if (backward) {
    r.d_output = make_output_grad(p, seed);
    r.grads = na_backward(*ref, p.params, in, r.forward.output, r.forward.lse, r.d_output, /*allow_fast_path=*/false);
    r.has_grads = true;
  }
  return r;
}

Verification compare_results(DType dtype, const std::vector<NamedResult>& results) {
  Verification v;
  v.status = "ok";
  for (const NamedResult& r : results) {
    if (!r.reference.defined()) continue;
    const TensorComparison c = compare_tensors(r.ours, r.reference, default_tolerance(dtype, r.name));
    v.max_abs_error = std::max(v.max_abs_error, c.max_abs_error);
    if (c.failures > 0 && v.status == "ok") {
      v.status = "failed";
      v.detail = fmt::format("{}: {} of {} elements outside tolerance, max abs error {:.3g}; worst at {}: {} vs reference {}",
                             r.name, c.failures, c.count, c.max_abs_error, c.worst_index, c.worst_ours, c.worst_reference);
    }
  }
  return v;
}

Verification guarded_verification(const std::function<Verification()>& check) {
  try {
    return check();
  } catch (const std::exception& e) {
    Verification v;
    v.status = "failed";
    v.detail = fmt::format("backend error: {}", e.what());
    v.max_abs_error = INFINITY;
    return v;
  }
}

Verification verify_forward(Backend& backend, const Problem& p, const NAInputs& in, const ReferenceResults& ref,
                            bool allow_fast_path) {
  return guarded_verification([&] {
    const ForwardResult r = na_forward(backend, p.params, in, allow_fast_path);
    return compare_results(p.dtype, {{"output", r.output, ref.forward.output}, {"logsumexp", r.lse, ref.forward.lse}});
  });
}

Verification verify_backward(Backend& backend, const Problem& p, const NAInputs& in, const ReferenceResults& ref,
                             bool allow_fast_path) {
  return guarded_verification([&] {
    const Gradients g =
        na_backward(backend, p.params, in, ref.forward.output, ref.forward.lse, ref.d_output, allow_fast_path);
    const Gradients& e = ref.grads;
    return compare_results(p.dtype, {{"grad_query", g.query, e.query},
                                     {"grad_key", g.key, e.key},
                                     {"grad_value", g.value, e.value},
                                     {"grad_additional_key", g.additional_key, e.additional_key},
                                     {"grad_additional_value", g.additional_value, e.additional_value}});
  });
}

}  // namespace natten::bench
