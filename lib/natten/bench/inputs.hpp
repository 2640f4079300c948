// Benchmark inputs: uniform values in [-1, 1] from a seeded generator, rounded to the dtype.
// Deterministic per (problem, seed) so every backend and every run sees the same data.
#pragma once

#include <cstdint>

#include "natten/core/problem.hpp"

namespace natten::bench {

NAInputs make_inputs(const Problem& p, std::uint64_t seed);
// The output gradient of a backward benchmark (a different stream of the same seed).
Tensor make_output_grad(const Problem& p, std::uint64_t seed);
// Any other tensor of a benchmark (split-op inputs, merge parts, gradients): uniform in [-1, 1]
// from its own stream of the seed, so tensors of one case differ and every run agrees.
Tensor random_tensor(const Shape& shape, DType dtype, std::uint64_t seed, std::uint64_t stream);

}  // namespace natten::bench
