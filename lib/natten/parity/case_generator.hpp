// Builds natten-ref cases from our own backends (natten-check --write): seeded inputs for a
// CaseConfig, run forward (and backward when asked), expected tensors = what the backend produced.
#pragma once

#include <cstdint>
#include <random>

#include "natten/backend.hpp"
#include "natten/io/case_config.hpp"
#include "natten/io/ref_case.hpp"

namespace natten {

// Uniform values in [-1, 1) rounded to dtype. mt19937_64 is fully specified by the standard and the
// mapping to floats is ours (std::uniform_real_distribution is not portable), so a seed gives the
// same inputs with any standard library: a Mac and a Linux box generate identical files.
Tensor seeded_uniform(std::mt19937_64& rng, const Shape& shape, DType dtype);

// Inputs are drawn in this order from one generator seeded with cfg.seed: query, key, value,
// additional_key, additional_value, grad_output (the last only with cfg.backward).
RefCase generate_ref_case(const CaseConfig& cfg, Backend& backend);

}  // namespace natten
