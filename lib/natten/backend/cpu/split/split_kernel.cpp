// SIMD kernels of the split ops (split_args.hpp lists the four families and who uses them).
//
// Per unit (a line of queries, or of keys for the gather), the rows of its token box are converted
// to float32 once per kv head (f16/bf16 inputs are widened once per unit, never in inner loops)
// and reused by every query of the line and every query head of the kv group. Dot products of a
// query against its window run in full SIMD batches of pairs (DotBatch of simd-inl.h); weighted
// row sums use AccumulateRows; all accumulation is float32 and each output row is rounded once.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "natten/backend/cpu/split/split_kernel.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "natten/backend/cpu/common/dispatch.hpp"
#include "natten/backend/cpu/split/split_args.hpp"
#include "natten/backend/cpu/split/split_boxes.hpp"
#include "natten/backend/cpu/common/simd-inl.h"

// The kernels' entries (common/dispatch.hpp): name, template, public function, parameters, arguments.
#define NATTEN_CPU_SPLIT_KERNELS(X)                                                                              \
  X(WindowDots, WindowDotsT, window_dots_unit, (const WindowDotsArgs& a, std::int64_t u, Workspace& ws), (a, u, ws)) \
  X(WindowSums, WindowSumsT, window_sums_unit, (const WindowSumsArgs& a, std::int64_t u, Workspace& ws), (a, u, ws)) \
  X(InverseSums, InverseSumsT, inverse_sums_unit, (const InverseSumsArgs& a, std::int64_t u, Workspace& ws),         \
    (a, u, ws))                                                                                                       \
  X(ExtraSums, ExtraSumsT, extra_sums_unit, (const InverseSumsArgs& a, std::int64_t u, Workspace& ws), (a, u, ws))

HWY_BEFORE_NAMESPACE();
namespace natten::cpu::HWY_NAMESPACE {
namespace {

// Workspace slots; kSlotCount is their number (workspace.hpp checks it fits).
enum Slot {
  kBoxRows, kRow, kAccum, kZero, kPairSlot, kPairRow, kPairBias, kPairCount, kWeights, kIndex, kDots, kSlotCount
};

using Coord = std::array<int, kMaxRank>;

// Rows of head `head` of a [B, tokens, heads, dim] tensor at the box's tokens, into dst.
template <typename T>
void LoadBox(const SplitGeometry& g, const TokenBox& box, const void* tensor, std::int64_t b, int head, int heads,
             int dim, float* dst) {
  const T* src = static_cast<const T*>(tensor);
  const std::size_t dp = padded(dim);
  box.for_each([&](int r, const Coord& c) {
    LoadRow(src + ((b * g.tokens + g.token(c)) * heads + head) * dim, dim, 1.0f, dst + static_cast<std::size_t>(r) * dp);
  });
}

// Rows of the additional tokens [B, N, heads_kv, dim] of kv head kvh, into dst.
template <typename T>
void LoadExtra(const SplitGeometry& g, const void* tensor, std::int64_t b, int kvh, int dim, float* dst) {
  const T* src = static_cast<const T*>(tensor);
  const std::size_t dp = padded(dim);
  for (std::int64_t e = 0; e < g.extra; ++e) {
    LoadRow(src + ((b * g.extra + e) * g.heads_kv + kvh) * dim, dim, 1.0f, dst + static_cast<std::size_t>(e) * dp);
  }
}

// The rows a line's windows read (its box, then the additional tokens) for kv head kvh.
template <typename T>
void LoadWindowRows(const SplitGeometry& g, const TokenBox& box, const void* rows, const void* extra, std::int64_t b,
                    int kvh, int dim, float* dst) {
  LoadBox<T>(g, box, rows, b, kvh, g.heads_kv, dim, dst);
  if (g.extra > 0) LoadExtra<T>(g, extra, b, kvh, dim, dst + static_cast<std::size_t>(box.size()) * padded(dim));
}

// The window slots of every query of a line, as (slot, box row, bias index), query by query:
// built once per unit and reused by every head. count[i] = slots of query i; returns the total.
struct LinePairs {
  int* slot;
  int* row;
  int* bias;
  int* first;  // first[i] = index of query i's first pair; first[n] = total
};

int BuildLinePairs(const SplitGeometry& g, const SplitGeometry::Line& l, const TokenBox& box, const LinePairs& p) {
  int n = 0;
  const int size = g.line_size(l);
  for (int u = 0; u < size; ++u) {
    const Coord q = g.line_coord(l, u);
    p.first[u] = n;
    for_each_slot(g, q, &box, [&](int slot, int row, int bias) {
      p.slot[n] = slot;
      p.row[n] = row;
      p.bias[n] = bias;
      ++n;
    });
  }
  p.first[size] = n;
  return n;
}

LinePairs AllocPairs(const SplitGeometry& g, Workspace& ws) {
  const std::size_t positions = SplitGeometry::kLineChunk * SplitGeometry::kLineRows;
  const std::size_t cap = positions * static_cast<std::size_t>(g.slots);
  return {ws.ints(kPairSlot, cap), ws.ints(kPairRow, cap), ws.ints(kPairBias, cap), ws.ints(kPairCount, positions + 1)};
}

template <typename T>
void WindowDotsT(const WindowDotsArgs& A, std::int64_t unit, Workspace& ws) {
  const SplitGeometry& g = *A.g;
  const SplitGeometry::Line l = g.line(unit);
  const TokenBox box = line_box(g, g.window, l);
  const std::size_t dp = padded(A.dx), nbox = static_cast<std::size_t>(box.size());
  const std::size_t width = static_cast<std::size_t>(g.width());
  float* yb = ws.floats(kBoxRows, (nbox + static_cast<std::size_t>(g.extra)) * dp);
  float* xrow = ws.floats(kRow, dp);
  float* row = ws.floats(kAccum, width);
  float* dots = ws.floats(kDots, kLanes);
  float* zero = ws.floats(kZero, dp);
  ZeroRows(zero, dp);
  const LinePairs pairs = AllocPairs(g, ws);
  BuildLinePairs(g, l, box, pairs);
  const T* x = static_cast<const T*>(A.x);
  T* out = static_cast<T*>(A.out);
  const float* pa[kLanes];
  const float* pb[kLanes];
  for (std::size_t i = 0; i < kLanes; ++i) pa[i] = xrow;

  for (int kvh = 0; kvh < g.heads_kv; ++kvh) {
    LoadWindowRows<T>(g, box, A.y, A.y_extra, l.batch, kvh, A.dx, yb);
    for (int gh = 0; gh < g.group(); ++gh) {
      const int h = kvh * g.group() + gh;
      const float* bias = A.bias != nullptr ? A.bias + static_cast<std::int64_t>(h) * g.bias_size : nullptr;
      for (int u = 0; u < g.line_size(l); ++u) {
        const std::int64_t r = (l.batch * g.tokens + g.token(g.line_coord(l, u))) * g.heads_q + h;
        LoadRow(x + r * A.dx, A.dx, 1.0f, xrow);
        for (std::int64_t s = 0; s < g.slots; ++s) row[s] = A.missing;
        const int p0 = pairs.first[u], p1 = pairs.first[u + 1];
        for (int p = p0; p < p1; p += static_cast<int>(kLanes)) {
          const int n = std::min(static_cast<int>(kLanes), p1 - p);
          for (int j = 0; j < static_cast<int>(kLanes); ++j) {
            pb[j] = j < n ? yb + static_cast<std::size_t>(pairs.row[p + j]) * dp : zero;
          }
          hn::StoreU(DotBatch(pa, pb, dp), DF(), dots);
          for (int j = 0; j < n; ++j) {
            row[pairs.slot[p + j]] = bias != nullptr ? dots[j] + bias[pairs.bias[p + j]] : dots[j];
          }
        }
        for (std::int64_t e = 0; e < g.extra; ++e) {
          row[g.slots + e] = DotRow(xrow, yb + (nbox + static_cast<std::size_t>(e)) * dp, dp);
        }
        StoreRow(row, static_cast<int>(width), 1.0f, out + r * static_cast<std::int64_t>(width));
      }
    }
  }
}

template <typename T>
void WindowSumsT(const WindowSumsArgs& A, std::int64_t unit, Workspace& ws) {
  const SplitGeometry& g = *A.g;
  const SplitGeometry::Line l = g.line(unit);
  const TokenBox box = line_box(g, g.window, l);
  const std::size_t dp = padded(A.dy), nbox = static_cast<std::size_t>(box.size());
  const std::size_t width = static_cast<std::size_t>(g.width());
  float* yb = ws.floats(kBoxRows, (nbox + static_cast<std::size_t>(g.extra)) * dp);
  float* acc = ws.floats(kAccum, dp);
  float* w = ws.floats(kWeights, width);
  int* idx = ws.ints(kIndex, width);
  const LinePairs pairs = AllocPairs(g, ws);
  BuildLinePairs(g, l, box, pairs);
  const T* a = static_cast<const T*>(A.a);
  T* out = static_cast<T*>(A.out);

  for (int kvh = 0; kvh < g.heads_kv; ++kvh) {
    LoadWindowRows<T>(g, box, A.y, A.y_extra, l.batch, kvh, A.dy, yb);
    for (int gh = 0; gh < g.group(); ++gh) {
      const int h = kvh * g.group() + gh;
      for (int u = 0; u < g.line_size(l); ++u) {
        const std::int64_t r = (l.batch * g.tokens + g.token(g.line_coord(l, u))) * g.heads_q + h;
        // Only the slots that hold a key are read: the others may be anything (-inf, NaN).
        const T* src = a + r * static_cast<std::int64_t>(width);
        const int p0 = pairs.first[u], p1 = pairs.first[u + 1];
        int n = 0;
        for (int p = p0; p < p1; ++p, ++n) {
          w[n] = to_float(src[pairs.slot[p]]);
          idx[n] = pairs.row[p];
        }
        for (std::int64_t e = 0; e < g.extra; ++e, ++n) {
          w[n] = to_float(src[g.slots + e]);
          idx[n] = static_cast<int>(nbox + static_cast<std::size_t>(e));
        }
        ZeroRows(acc, dp);
        AccumulateRows(acc, w, idx, static_cast<std::size_t>(n), yb, dp, dp);
        StoreRow(acc, A.dy, 1.0f, out + r * A.dy);
      }
    }
  }
}

template <typename T>
void InverseSumsT(const InverseSumsArgs& A, std::int64_t unit, Workspace& ws) {
  const SplitGeometry& g = *A.g;
  const SplitGeometry::Line l = g.line(unit);
  const TokenBox box = line_box(g, g.inverse, l);  // the queries attending the line's keys
  const std::size_t dp = padded(A.dx), nbox = static_cast<std::size_t>(box.size());
  const std::int64_t width = g.width();
  const int keys = g.line_size(l);
  float* xb = ws.floats(kBoxRows, nbox * dp);
  float* acc = ws.floats(kAccum, static_cast<std::size_t>(keys) * dp);
  // Per key: the attending queries' tokens, box rows and the slot the key has in their windows.
  std::size_t cap = 1;
  for (int a = 0; a < kMaxRank; ++a) {
    int m = 0;
    for (const Span& s : g.inverse[a]) m = std::max(m, s.count);
    cap *= static_cast<std::size_t>(m);
  }
  cap *= static_cast<std::size_t>(keys);
  std::int64_t* token = ws.int64s(kPairBias, cap);
  int* rows = ws.ints(kPairRow, cap);
  int* slots = ws.ints(kPairSlot, cap);
  int* first = ws.ints(kPairCount, static_cast<std::size_t>(keys) + 1);
  float* w = ws.floats(kWeights, cap);
  int n = 0;
  for (int i = 0; i < keys; ++i) {
    const Coord k = g.line_coord(l, i);
    first[i] = n;
    for_each_inverse(g, k, [&](const Coord& q, int slot) {
      token[n] = g.token(q);
      rows[n] = box.index(q);
      slots[n] = slot;
      ++n;
    });
  }
  first[keys] = n;
  const T* a = static_cast<const T*>(A.a);
  T* out = static_cast<T*>(A.out);

  for (int kvh = 0; kvh < g.heads_kv; ++kvh) {
    ZeroRows(acc, static_cast<std::size_t>(keys) * dp);
    for (int gh = 0; gh < g.group(); ++gh) {
      const int h = kvh * g.group() + gh;
      LoadBox<T>(g, box, A.x, l.batch, h, g.heads_q, A.dx, xb);
      for (int p = 0; p < n; ++p) {
        w[p] = to_float(a[((l.batch * g.tokens + token[p]) * g.heads_q + h) * width + slots[p]]);
      }
      for (int i = 0; i < keys; ++i) {
        AccumulateRows(acc + static_cast<std::size_t>(i) * dp, w + first[i], rows + first[i],
                       static_cast<std::size_t>(first[i + 1] - first[i]), xb, dp, dp);
      }
    }
    for (int i = 0; i < keys; ++i) {
      const Coord k = g.line_coord(l, i);
      StoreRow(acc + static_cast<std::size_t>(i) * dp, A.dx, 1.0f,
               out + ((l.batch * g.tokens + g.token(k)) * g.heads_kv + kvh) * A.dx);
    }
  }
}

template <typename T>
void ExtraSumsT(const InverseSumsArgs& A, std::int64_t unit, Workspace& ws) {
  const SplitGeometry& g = *A.g;
  const std::int64_t e = unit % g.extra;
  const int kvh = static_cast<int>((unit / g.extra) % g.heads_kv);
  const std::int64_t b = unit / (g.extra * g.heads_kv);
  constexpr int kChunk = 64;  // query rows converted per step
  const std::size_t dp = padded(A.dx);
  float* xb = ws.floats(kBoxRows, kChunk * dp);
  float* acc = ws.floats(kAccum, dp);
  float* w = ws.floats(kWeights, kChunk);
  int* idx = ws.ints(kIndex, kChunk);
  for (int i = 0; i < kChunk; ++i) idx[i] = i;
  const T* a = static_cast<const T*>(A.a);
  const T* x = static_cast<const T*>(A.x);
  ZeroRows(acc, dp);
  for (int gh = 0; gh < g.group(); ++gh) {
    const int h = kvh * g.group() + gh;
    for (std::int64_t t0 = 0; t0 < g.tokens; t0 += kChunk) {
      const int n = static_cast<int>(std::min<std::int64_t>(kChunk, g.tokens - t0));
      for (int i = 0; i < n; ++i) {
        const std::int64_t r = (b * g.tokens + t0 + i) * g.heads_q + h;
        w[i] = to_float(a[r * g.width() + g.slots + e]);
        LoadRow(x + r * A.dx, A.dx, 1.0f, xb + static_cast<std::size_t>(i) * dp);
      }
      AccumulateRows(acc, w, idx, static_cast<std::size_t>(n), xb, dp, dp);
    }
  }
  StoreRow(acc, A.dx, 1.0f, static_cast<T*>(A.out) + ((b * g.extra + e) * g.heads_kv + kvh) * A.dx);
}

NATTEN_CPU_SPLIT_KERNELS(NATTEN_CPU_DTYPE_ENTRIES)

}  // namespace
}  // namespace natten::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace natten::cpu {

NATTEN_CPU_SPLIT_KERNELS(NATTEN_CPU_DTYPE_DISPATCH)

}  // namespace natten::cpu
#endif
