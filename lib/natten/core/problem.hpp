// Neighborhood-attention parameters, the problem they define over concrete tensor shapes, and the
// validation rules (upstream NATTEN's, plus the limits this library needs).
//
// Tensor layout is "heads last", as upstream NATTEN 0.20+:
//   query [B, *S, Hq, D], key [B, *S, Hkv, D], value [B, *S, Hkv, Dv],
//   additional key/value [B, N, Hkv, D] / [B, N, Hkv, Dv],
//   output [B, *S, Hq, Dv], logsumexp [B, *S, Hq] (float32, natural log).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "natten/core/tensor.hpp"
#include "natten/window.h"

namespace natten {

constexpr int kMaxRank = 3;
using Dims = std::array<int, kMaxRank>;

struct NAParams {
  int rank = 1;
  Dims kernel{0, 0, 0};
  Dims stride{1, 1, 1};
  Dims dilation{1, 1, 1};
  std::array<bool, kMaxRank> causal{false, false, false};
  // Softmax scale; unset means head_dim ** -0.5. Zero is rejected (upstream silently reads 0 as
  // "default"; we refuse to guess).
  std::optional<double> scale;

  // Same value on every axis of `rank`.
  static NAParams uniform(int rank, int kernel, int stride = 1, int dilation = 1, bool causal = false);
  std::string str() const;  // "k=7x7 s=1x1 d=1x1 causal=0x0"
};

// The tensors of one NA call. Unset (default-constructed) tensors are absent.
struct NAInputs {
  Tensor query, key, value;
  Tensor additional_key, additional_value;
};

struct Gradients {
  Tensor query, key, value;
  Tensor additional_key, additional_value;
};

// A validated problem: parameters plus every extent the kernels need.
struct Problem {
  NAParams params;
  DType dtype = DType::f32;
  std::int64_t batch = 1;
  std::array<std::int64_t, kMaxRank> spatial{1, 1, 1};  // axes >= rank are 1
  int heads_q = 1;
  int heads_kv = 1;
  int dim = 1;    // query/key head dim
  int dim_v = 1;  // value head dim
  std::int64_t extra_kv = 0;  // additional KV tokens (0 = none)
  double scale = 1.0;         // resolved

  int rank() const { return params.rank; }
  std::int64_t tokens() const { return spatial[0] * spatial[1] * spatial[2]; }
  NattenAxis axis(int a) const;  // a < rank; axes >= rank are a trivial length-1 window

  Shape query_shape() const;
  Shape kv_shape(int head_dim) const;
  Shape extra_kv_shape(int head_dim) const;
  Shape output_shape() const;
  Shape lse_shape() const;
  std::string str() const;  // one line: shapes, params, dtype
};

// Builds the problem described by a parameter set and shapes, validating everything. Used by
// generators (natten-bench) that create tensors from a problem.
struct ProblemSpec {
  NAParams params;
  DType dtype = DType::f32;
  std::int64_t batch = 1;
  std::array<std::int64_t, kMaxRank> spatial{1, 1, 1};
  int heads_q = 1, heads_kv = 1, dim = 32, dim_v = 0;  // dim_v 0 = same as dim
  std::int64_t extra_kv = 0;
};
Problem make_problem(const ProblemSpec& spec);

// Validates forward inputs against the parameters and returns the problem they define.
Problem validate_forward(const NAParams& params, const NAInputs& in);
// Validates backward inputs (forward inputs plus output, logsumexp and output gradient).
Problem validate_backward(const NAParams& params, const NAInputs& in, const Tensor& output,
                          const Tensor& lse, const Tensor& d_output);

// Largest tensor the library accepts, in elements (guards against absurd or corrupt shapes).
constexpr std::int64_t kMaxElements = std::int64_t{1} << 33;

}  // namespace natten
