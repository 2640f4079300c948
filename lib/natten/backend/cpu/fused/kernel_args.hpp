// What the host side of the cpu backend hands to its SIMD kernels: typed-erased tensor pointers and
// the extents of a validated problem. Plain data, so that every Highway target sees one definition.
#pragma once

#include <array>
#include <cstdint>

#include "natten/backend/cpu/fused/tiling.hpp"
#include "natten/backend/cpu/common/workspace.hpp"

namespace natten::cpu {

// (query, key) pairs whose scores one thread holds at once (16 KiB per buffer): the unit of work
// between two softmax updates, and the bound on a thread's score memory whatever the window.
constexpr int kPairBudget = 4096;

// Extents of a problem, with contiguous heads-last tensors: a token row of head h of tensor X with
// heads H and head dim D starts at ((b * tokens + t) * H + h) * D.
struct Extents {
  std::int64_t batch = 1;
  std::array<std::int64_t, kMaxRank> spatial{1, 1, 1};
  std::int64_t tokens = 1;
  std::int64_t extra_kv = 0;
  int heads_q = 1, heads_kv = 1;
  int dim = 1, dim_v = 1;
  float scale = 1.0f;

  int group() const { return heads_q / heads_kv; }  // query heads per kv head (GQA)
};

// Forward: out and lse are written; additional key/value may be null (extra_kv == 0).
struct ForwardArgs {
  Extents e;
  const void* query;
  const void* key;
  const void* value;
  const void* additional_key;
  const void* additional_value;
  void* output;
  float* lse;
};

// Backward: every input of the forward plus its output, output gradient, logsumexp, and
// delta = rowsum(d_output * output) (float32 [B, tokens, Hq], written by the delta pass).
struct BackwardArgs {
  Extents e;
  const void* query;
  const void* key;
  const void* value;
  const void* additional_key;
  const void* additional_value;
  const void* output;
  const void* d_output;
  const float* lse;
  float* delta;
  void* d_query;
  void* d_key;
  void* d_value;
  void* d_additional_key;
  void* d_additional_value;
};

}  // namespace natten::cpu

namespace natten::cpu {

// Token index of the position tuple (p0, p1, p2) of a unit (group coordinates on every axis).
inline std::int64_t token_of(const Extents& e, const UnitGeom& g, int p0, int p1, int p2) {
  const auto coord = [&](int a, int pos) { return g.ax[a].group + g.ax[a].axis.dilation * pos; };
  return (static_cast<std::int64_t>(coord(0, p0)) * e.spatial[1] + coord(1, p1)) * e.spatial[2] + coord(2, p2);
}

}  // namespace natten::cpu
