// Shared checks of the cpu backend tests: run a problem on `cpu` and on the reference backend and
// compare every tensor with the per-dtype tolerances natten-check uses.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

#include "natten/backend.hpp"
#include "natten/parity/compare.hpp"
#include "support/random_problem.hpp"

namespace natten::testing {

inline NAParams params_of(const Problem& p) {
  NAParams params = p.params;
  params.scale = p.scale;
  return params;
}

inline void expect_close(const Tensor& ours, const Tensor& ref, DType dtype, const std::string& name,
                         const std::string& what) {
  const TensorComparison c = compare_tensors(ours, ref, default_tolerance(dtype, name));
  EXPECT_EQ(c.failures, 0) << what << " " << name << ": max abs error " << c.max_abs_error << " at " << c.worst_index
                           << " (cpu " << c.worst_ours << ", reference " << c.worst_reference << ")";
}

// Forward and (optionally) backward of `p` on a fresh input draw, cpu against reference. The
// backward of both backends consumes the reference's output and lse, isolating it.
inline void check_against_reference(const Problem& p, std::mt19937_64& rng, bool backward, int threads = 0) {
  static std::unique_ptr<Backend> reference = make_backend("reference");
  std::unique_ptr<Backend> cpu = make_backend("cpu");
  cpu->set_threads(threads);
  const NAInputs in = random_inputs(rng, p);
  const NAParams params = params_of(p);
  const std::string what = p.str();
  const ForwardResult want = na_forward(*reference, params, in);
  const ForwardResult got = na_forward(*cpu, params, in);
  expect_close(got.output, want.output, p.dtype, "output", what);
  expect_close(got.lse, want.lse, p.dtype, "logsumexp", what);
  if (!backward) return;
  const Tensor d_out = random_tensor(rng, p.output_shape(), p.dtype);
  const Gradients gw = na_backward(*reference, params, in, want.output, want.lse, d_out);
  const Gradients gg = na_backward(*cpu, params, in, want.output, want.lse, d_out);
  expect_close(gg.query, gw.query, p.dtype, "grad_query", what);
  expect_close(gg.key, gw.key, p.dtype, "grad_key", what);
  expect_close(gg.value, gw.value, p.dtype, "grad_value", what);
  if (p.extra_kv > 0) {
    expect_close(gg.additional_key, gw.additional_key, p.dtype, "grad_additional_key", what);
    expect_close(gg.additional_value, gw.additional_value, p.dtype, "grad_additional_value", what);
  }
}

}  // namespace natten::testing
