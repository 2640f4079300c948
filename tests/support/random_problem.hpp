// Random problems and inputs for the randomized sweeps shared by the tests.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "natten/core/problem.hpp"

namespace natten::testing {

struct SweepLimits {
  int max_rank = 3;
  std::int64_t max_tokens = 96;  // keeps the double-precision oracle quick
  int max_dim = 12;
  bool allow_extra_kv = true;
  bool allow_gqa = true;
  bool allow_dim_v = true;
};

// A random valid problem: rank, sizes, odd/even kernels, dilation (dividing the length or not),
// stride, per-axis causal, GQA, additional KV, optional explicit scale.
Problem random_problem(std::mt19937_64& rng, DType dtype, const SweepLimits& lim = {});

// Random inputs for a problem, values in [-1, 1] rounded to the problem's dtype.
NAInputs random_inputs(std::mt19937_64& rng, const Problem& p);
Tensor random_tensor(std::mt19937_64& rng, const Shape& shape, DType dtype, float amplitude = 1.0f);

}  // namespace natten::testing
