// Builds natten-ref cases from our own backends (natten-check --write): seeded inputs for a
// case config (config/case_spec.hpp), run forward (and backward when asked), expected tensors = what the backend produced.
// For every op: fused "na", the split ops "na_qk"/"na_av" and "merge".
#pragma once

#include <cstdint>
#include <random>

#include "natten/backend.hpp"
#include "natten/config/case_spec.hpp"
#include "natten/io/ref_case.hpp"
#include "natten/io/split_case.hpp"

namespace natten {

// Uniform values in [-1, 1) rounded to dtype. mt19937_64 is fully specified by the standard and the
// mapping to floats is ours (std::uniform_real_distribution is not portable), so a seed gives the
// same inputs with any standard library: a Mac and a Linux box generate identical files.
Tensor seeded_uniform(std::mt19937_64& rng, const Shape& shape, DType dtype);

// Inputs are drawn in this order from one generator seeded with cfg.seed: query, key, value,
// additional_key, additional_value, grad_output (the last only with cfg.backward).
RefCase generate_ref_case(const config::ResolvedCase& cfg, Backend& backend);

// The same for the split ops and merge, drawing in this order:
//   na_qk: query, key, rpb (with cfg.rpb), additional_key, grad_attention (with cfg.backward);
//   na_av: attention, value, additional_value, grad_output;
//   merge: output_0, logsumexp_0, output_1, ..., then grad_output and grad_logsumexp.
// Attention weights are uniform like every input (na_av never reads the slots a causal window
// lacks); logsumexps are uniform in [-4, 4) in float32, so the parts' weights differ by up to e^8.
SplitCase generate_split_case(const config::ResolvedCase& cfg, Backend& backend);

}  // namespace natten
