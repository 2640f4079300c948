// Per-target loaders that copy the rows of a box of positions (a tile or a halo) out of a
// heads-last tensor into a float32 scratch buffer, converting f16/bf16 on the way (once per tile,
// never inside the inner loops).

// Per-target include guard (Highway's pattern).
#if defined(NATTEN_CPU_TILE_IO_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NATTEN_CPU_TILE_IO_INL_H_
#undef NATTEN_CPU_TILE_IO_INL_H_
#else
#define NATTEN_CPU_TILE_IO_INL_H_
#endif

#include <array>

#include "natten/backend/cpu/kernel_args.hpp"
#include "natten/backend/cpu/simd-inl.h"

HWY_BEFORE_NAMESPACE();
namespace natten::cpu::HWY_NAMESPACE {

// A box of group positions per axis.
using Box = std::array<NattenRange, kMaxRank>;

inline Box halo_box(const UnitGeom& u) {
  return {NattenRange{u.ax[0].halo_begin, u.ax[0].halo_end}, NattenRange{u.ax[1].halo_begin, u.ax[1].halo_end},
          NattenRange{u.ax[2].halo_begin, u.ax[2].halo_end}};
}

// Calls f(index, token) for the box's positions in row-major order.
template <class F>
HWY_INLINE void ForEachToken(const Extents& e, const UnitGeom& u, const Box& box, F&& f) {
  int r = 0;
  for (int i0 = box[0].start; i0 < box[0].end; ++i0) {
    for (int i1 = box[1].start; i1 < box[1].end; ++i1) {
      for (int i2 = box[2].start; i2 < box[2].end; ++i2, ++r) f(r, token_of(e, u, i0, i1, i2));
    }
  }
}

// Rows of head `head` of a [B, tokens, heads, dim] tensor at the box's positions, times `mul`,
// into dst (one row of padded(dim) floats per position).
template <typename T>
HWY_INLINE void LoadBoxRows(const void* tensor, const Extents& e, const UnitGeom& u, const Box& box,
                            std::int64_t batch, int head, int heads, int dim, float mul, float* dst) {
  const T* src = static_cast<const T*>(tensor);
  const std::size_t dp = padded(dim);
  ForEachToken(e, u, box, [&](int r, std::int64_t token) {
    LoadRow(src + ((batch * e.tokens + token) * heads + head) * dim, dim, mul, dst + static_cast<std::size_t>(r) * dp);
  });
}

// Per-(token, query head) floats (lse, delta) of head `head` at the box's positions.
HWY_INLINE void LoadBoxScalars(const float* src, const Extents& e, const UnitGeom& u, const Box& box,
                               std::int64_t batch, int head, float* dst) {
  ForEachToken(e, u, box, [&](int r, std::int64_t token) { dst[r] = src[(batch * e.tokens + token) * e.heads_q + head]; });
}

// Rows of the additional KV tensor [B, N, heads_kv, dim] for kv head `kvh`, appended at dst.
template <typename T>
HWY_INLINE void LoadExtraRows(const void* tensor, const Extents& e, std::int64_t batch, int kvh, int dim, float* dst) {
  const T* src = static_cast<const T*>(tensor);
  const std::size_t dp = padded(dim);
  for (std::int64_t x = 0; x < e.extra_kv; ++x) {
    LoadRow(src + ((batch * e.extra_kv + x) * e.heads_kv + kvh) * dim, dim, 1.0f, dst + static_cast<std::size_t>(x) * dp);
  }
}

}  // namespace natten::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NATTEN_CPU_TILE_IO_INL_H_
