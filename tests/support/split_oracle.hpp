// Test-side oracles for the ops beyond the fused pair, written independently of the library's
// enumeration helpers: the split-op brute force scans every key token and asks the window rule
// (natten/window.h) whether it is in the query's window, then derives its slot and bias index.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include "natten/core/split.hpp"
#include "natten/core/varlen.hpp"

namespace natten::testing {

// attention [B, T, Hq, W + N] as doubles (-inf in slots a causal window lacks).
std::vector<double> brute_qk(const Problem& p, const SplitQKInputs& in);
// output [B, T, Hq, Dv] as doubles.
std::vector<double> brute_av(const Problem& p, const SplitAVInputs& in);

// Softmax along the last axis (exp(-inf) = 0), rows of `width`.
std::vector<double> softmax_rows(const std::vector<double>& x, std::int64_t width);

// Central differences of loss() with respect to every element of x (a tensor the loss reads).
// The step actually taken is measured after rounding to x's dtype, so the quotient is exact for
// losses linear in x up to the loss's own rounding.
std::vector<double> numeric_gradient(Tensor& x, const std::function<double()>& loss, float step);

// sum(a * g) over elements where a is finite (masked attention slots hold -inf and carry no loss).
double weighted_sum(const Tensor& a, const Tensor& g);

// The region of sample b ([1, *extent, ...]) of a padded [B, *S, ...] tensor, and the reverse.
Tensor slice_sample(const Tensor& padded, int rank, std::int64_t b, const Extent& extent);
// Random problems for the split ops: f32, ranks 1-3, every window parameter, GQA, extra KV.
Problem random_split_problem(std::mt19937_64& rng, std::int64_t max_tokens = 64);

}  // namespace natten::testing
