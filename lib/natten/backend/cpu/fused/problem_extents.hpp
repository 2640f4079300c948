// Kernel extents of a validated problem.
#pragma once

#include "natten/backend/cpu/fused/kernel_args.hpp"
#include "natten/core/problem.hpp"

namespace natten::cpu {

inline Extents extents_of(const Problem& p) {
  Extents e;
  e.batch = p.batch;
  e.spatial = p.spatial;
  e.tokens = p.tokens();
  e.extra_kv = p.extra_kv;
  e.heads_q = p.heads_q;
  e.heads_kv = p.heads_kv;
  e.dim = p.dim;
  e.dim_v = p.dim_v;
  e.scale = static_cast<float>(p.scale);
  return e;
}

inline const void* optional_raw(const Tensor& t) { return t.defined() ? t.raw() : nullptr; }
inline void* optional_raw_mut(Tensor& t) { return t.defined() ? t.raw() : nullptr; }

}  // namespace natten::cpu
