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

#include <algorithm>
#include <array>
#include <type_traits>

#include <hwy/cache_control.h>

#include "natten/backend/cpu/fused/kernel_args.hpp"
#include "natten/backend/cpu/common/simd-inl.h"
#include "natten/backend/cpu/fused/windows.hpp"

HWY_BEFORE_NAMESPACE();
namespace natten::cpu::HWY_NAMESPACE {

// A box of group positions per axis.
using Box = std::array<NattenRange, kMaxRank>;

inline Box halo_box(const UnitGeom& u) {
  return {NattenRange{u.ax[0].halo_begin, u.ax[0].halo_end}, NattenRange{u.ax[1].halo_begin, u.ax[1].halo_end},
          NattenRange{u.ax[2].halo_begin, u.ax[2].halo_end}};
}

// The tile box of a unit (its own positions).
inline Box tile_box(const UnitGeom& u) {
  return {NattenRange{u.ax[0].begin, u.ax[0].end}, NattenRange{u.ax[1].begin, u.ax[1].end},
          NattenRange{u.ax[2].begin, u.ax[2].end}};
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
// into dst (one row of padded(dim) floats per position); only the rows r with needed[r] != 0 when
// `needed` is given (the others are left as they are).
template <typename T>
HWY_INLINE void LoadBoxRows(const void* tensor, const Extents& e, const UnitGeom& u, const Box& box,
                            std::int64_t batch, int head, int heads, int dim, float mul, float* dst,
                            const int* needed = nullptr) {
  const T* src = static_cast<const T*>(tensor);
  const std::size_t dp = padded(dim);
  ForEachToken(e, u, box, [&](int r, std::int64_t token) {
    if (needed != nullptr && needed[r] == 0) return;
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

// v[i] (lane j) = element (i, j) of a kLanes x kLanes block becomes v[j] (lane i): log2(kLanes)
// rounds of even/odd lane unshuffles (pairs 2k, 2k + 1 go to k and k + kLanes/2) transpose it.
HWY_INLINE void TransposeBlock(VFSlot* v) {
#if HWY_TARGET != HWY_SCALAR
  const DF d;
  VFSlot t[kLanes];
  for (std::size_t round = 1; round < kLanes; round *= 2) {
    for (std::size_t k = 0; k < kLanes / 2; ++k) {
      t[k] = hn::ConcatEven(d, v[2 * k + 1], v[2 * k]);
      t[k + kLanes / 2] = hn::ConcatOdd(d, v[2 * k + 1], v[2 * k]);
    }
    for (std::size_t k = 0; k < kLanes; ++k) v[k] = t[k];
  }
#else
  (void)v;
#endif
}

// Rows first + i * step, i < kLanes (dim elements each, times mul; rows past `count` repeat row
// count - 1) into columns r0 .. r0 + kLanes of dst. Addresses are computed, not read from a
// pointer table: a table of 16 pointers does not fit the registers next to 16 vectors, and its
// spills cost more than the transposes (measured).
template <typename T>
HWY_INLINE void RowsToColumns(const T* first, std::int64_t step, std::int64_t count, int dim, float mul,
                              float* HWY_RESTRICT dst, std::size_t ld, std::size_t r0) {
  const DF d;
  const VF m = hn::Set(d, mul);
  const std::size_t n = static_cast<std::size_t>(dim);
  const auto row = [&](std::size_t i) {
    return first + std::min<std::int64_t>(static_cast<std::int64_t>(i), count - 1) * step;
  };
  std::size_t c0 = 0;
  for (; c0 + kLanes <= n; c0 += kLanes) {
    VFSlot v[kLanes];
    if (count >= static_cast<std::int64_t>(kLanes)) {
      for (std::size_t i = 0; i < kLanes; ++i) {
        v[i] = hn::Mul(LoadAsFloat(first + static_cast<std::int64_t>(i) * step + static_cast<std::int64_t>(c0)), m);
      }
    } else {
      for (std::size_t i = 0; i < kLanes; ++i) v[i] = hn::Mul(LoadAsFloat(row(i) + c0), m);
    }
    TransposeBlock(v);
    for (std::size_t j = 0; j < kLanes; ++j) hn::StoreU(v[j], d, dst + (c0 + j) * ld + r0);
  }
  for (; c0 < n; ++c0) {
    for (std::size_t i = 0; i < kLanes; ++i) dst[c0 * ld + r0 + i] = mul * to_float(row(i)[c0]);
  }
}

// Tokens between consecutive positions along the lane axis (windows.hpp, lane_axis): the axes past
// it hold one position of the group, so the step is the dilation times their extents.
inline std::int64_t lane_token_step(const Extents& e, const UnitGeom& u) {
  const int la = lane_axis(u);
  std::int64_t step = u.ax[la].axis.dilation;
  for (int a = la + 1; a < kMaxRank; ++a) step *= e.spatial[a];
  return step;
}

// As LoadBoxRows, dim-major: element c of the box's r-th row at dst[c * ld + r] (ld >= rows +
// kLanes); the padding columns [box rows, ld) are zeroed (lanes past a run read them). The box is
// walked one line along the lane axis at a time (consecutive positions are a fixed token step
// apart), kLanes positions per register transpose; a line's last block may spill into the next
// line's first columns, which that line then overwrites (the last line's spill lands in padding).
template <typename T>
HWY_INLINE void LoadBoxColumns(const void* tensor, const Extents& e, const UnitGeom& u, const Box& box,
                               std::int64_t batch, int head, int heads, int dim, float mul, float* dst, std::size_t ld) {
  const T* src = static_cast<const T*>(tensor);
  const int la = lane_axis(u);
  const int width = box[static_cast<std::size_t>(la)].end - box[static_cast<std::size_t>(la)].start;
  const std::int64_t step = lane_token_step(e, u) * heads * dim;  // elements between lane positions
  Box lines = box;
  lines[static_cast<std::size_t>(la)].end = lines[static_cast<std::size_t>(la)].start + 1;
  std::size_t r0 = 0;
  for (int i0 = lines[0].start; i0 < lines[0].end; ++i0) {
    for (int i1 = lines[1].start; i1 < lines[1].end; ++i1) {
      for (int i2 = lines[2].start; i2 < lines[2].end; ++i2) {
        const T* first = src + ((batch * e.tokens + token_of(e, u, i0, i1, i2)) * heads + head) * dim;
        for (int x0 = 0; x0 < width; x0 += static_cast<int>(kLanes)) {
          // Two blocks ahead, this head's pieces of strided token rows (not a pattern the hardware
          // prefetchers follow; measured: at most a few percent, at the noise level here).
          const int ahead = x0 + 2 * static_cast<int>(kLanes);
          for (int x = ahead; x < std::min(width, ahead + static_cast<int>(kLanes)); ++x) {
            const char* bytes = reinterpret_cast<const char*>(first + x * step);
            for (std::size_t i = 0; i < static_cast<std::size_t>(dim) * sizeof(T); i += 64) hwy::Prefetch(bytes + i);
          }
          RowsToColumns(first + x0 * step, step, width - x0, dim, mul, dst, ld, r0 + static_cast<std::size_t>(x0));
        }
        r0 += static_cast<std::size_t>(width);
      }
    }
  }
  for (int c = 0; c < dim; ++c) {
    for (std::size_t r = r0; r < ld; ++r) dst[static_cast<std::size_t>(c) * ld + r] = 0.0f;
  }
}

static_assert(kLanes <= static_cast<std::size_t>(kMaxRunLanes), "a run permutes at most kMaxRunLanes lanes");


// Lanes [0, lanes) of a column block (acc[c * kLanes + l], dim columns) times mul[l], written
// (or, with kAdd, added) to rows dst + l * row_stride, [0, dim). Full blocks of kLanes columns
// are transposed in registers for float rows; rounding of f16/bf16 as natten/core/dtype.hpp.
template <bool kAdd, typename T>
HWY_INLINE void ColumnsToRows(const float* HWY_RESTRICT acc, int dim, const float* mul, int lanes, T* dst,
                              std::int64_t row_stride) {
  const std::size_t n = static_cast<std::size_t>(dim);
  std::size_t c0 = 0;
  // 16-bit outputs convert in registers where that rounds as natten/core/dtype.hpp (kVectorStore);
  // the rest (and adding into 16-bit rows) goes element by element below.
  if constexpr (std::is_same_v<T, float> || (kVectorStore<T> && !kAdd)) {
    const DF d;
    for (; c0 + kLanes <= n; c0 += kLanes) {
      VFSlot v[kLanes];
      for (std::size_t c = 0; c < kLanes; ++c) v[c] = hn::Load(d, acc + (c0 + c) * kLanes);
      TransposeBlock(v);
      for (int l = 0; l < lanes; ++l) {
        T* row = dst + l * row_stride + static_cast<std::int64_t>(c0);
        VF r = hn::Mul(v[l], hn::Set(d, mul[l]));
        if constexpr (std::is_same_v<T, float> && kAdd) r = hn::Add(hn::LoadU(d, row), r);
        StoreVectorAs(r, row);
      }
    }
  }
  for (int l = 0; l < lanes; ++l) {
    T* row = dst + l * row_stride;
    for (std::size_t c = c0; c < n; ++c) {
      const float r = acc[c * kLanes + static_cast<std::size_t>(l)] * mul[l];
      if constexpr (kAdd) {
        from_float(to_float(row[c]) + r, row + c);
      } else {
        from_float(r, row + c);
      }
    }
  }
}


}  // namespace natten::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NATTEN_CPU_TILE_IO_INL_H_
