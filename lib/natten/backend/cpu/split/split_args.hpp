// What the host side of the cpu backend's split ops (split_ops.cpp) hands to their SIMD kernels
// (split_kernel.cpp): the window geometry of a problem as per-axis tables, and the arguments of
// the four kernel families the split ops reduce to.
//
//   window_dots:    out[t, h, slot] = X[t, h] . Y[key(slot), h/G] (+ bias), then X[t, h] . Ye[e, h/G]
//                   (qk forward: X = query, Y = key; av backward d_attention: X = d_out, Y = value)
//   window_sums:    out[t, h] = sum_slot A[t, h, slot] Y[key(slot), h/G] + sum_e A[t, h, W+e] Ye[e, h/G]
//                   (av forward: A = attention, Y = value; qk backward dQ: A = d_attention, Y = key)
//   inverse_sums:   out[k, kvh] = sum over queries t whose window holds k, heads h of kv head kvh,
//                   of A[t, h, slot(t, k)] X[t, h]   (dK: A = d_attention, X = query; dV: A = attention,
//                   X = d_out). A gather over the inverse window: no atomics, one writer per row.
//   extra_sums:     out[e, kvh] = sum over every query t, heads h of kvh, of A[t, h, W+e] X[t, h]
//                   (gradients of the additional keys / values).
//
// Units of work are "lines": (batch, one position on every axis but the last real one, a chunk of
// consecutive positions along the last real axis). A line's windows (or inverse windows) span a
// small box of tokens, whose rows are converted to float32 once per kv head and reused by every
// query of the line and every query head of the kv group. Units depend only on the problem, and
// every output row is written by one unit in a fixed order: results do not depend on threads.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "natten/backend/cpu/common/workspace.hpp"
#include "natten/core/dtype.hpp"
#include "natten/core/problem.hpp"

namespace natten::cpu {

// Token positions first, first + step, ..., first + (count - 1) * step along one axis.
struct Span {
  int first = 0, count = 1;
};

// Per-axis window and inverse-window tables of a problem (from core/neighborhood.hpp, hence from
// natten/window.h), plus the extents the kernels address tensors with.
struct SplitGeometry {
  std::int64_t batch = 1, tokens = 1, extra = 0;
  std::array<int, kMaxRank> length{1, 1, 1}, kernel{1, 1, 1}, dilation{1, 1, 1};
  std::array<std::vector<Span>, kMaxRank> window, inverse;  // indexed by position on the axis
  int inner = 0;                                            // the last real axis: lines run along it
  int heads_q = 1, heads_kv = 1;
  std::int64_t slots = 1;       // W = prod(kernel)
  std::int64_t bias_size = 1;   // prod(2K - 1)

  explicit SplitGeometry(const Problem& p);
  int group() const { return heads_q / heads_kv; }
  std::int64_t width() const { return slots + extra; }  // columns of the attention tensor

  // A unit covers kLineChunk positions along the inner axis times up to kLineRows positions of ONE
  // dilation group along the axis before it (mid), so that the box rows a unit loads are shared
  // by several rows of queries (a window's extent along mid is loaded once, not once per row).
  static constexpr int kLineChunk = 32;
  static constexpr int kLineRows = 4;
  int mid = -1;                                      // inner - 1, or -1 for rank 1
  std::vector<std::array<int, 2>> mid_blocks;        // (first position, rows), rows step dilation[mid]
  std::int64_t lines_per_batch() const;
  std::int64_t units() const { return batch * lines_per_batch(); }
  struct Line {
    std::int64_t batch;
    std::array<int, kMaxRank> pos;  // first position on every axis; pos[inner] = begin
    int rows;                       // positions along mid: pos[mid] + r * dilation[mid], r < rows
    int end;                        // along inner: [pos[inner], end)
  };
  Line line(std::int64_t unit) const;
  // Positions of a line, row-major (mid rows, then inner): count and the coordinate of index u.
  int line_size(const Line& l) const { return l.rows * (l.end - l.pos[inner]); }
  std::array<int, kMaxRank> line_coord(const Line& l, int u) const {
    std::array<int, kMaxRank> c = l.pos;
    const int w = l.end - l.pos[inner];
    if (mid >= 0) c[mid] += (u / w) * dilation[mid];
    c[inner] += u % w;
    return c;
  }
  std::int64_t token(const std::array<int, kMaxRank>& c) const {
    return (static_cast<std::int64_t>(c[0]) * length[1] + c[1]) * length[2] + c[2];
  }
};

struct WindowDotsArgs {
  const SplitGeometry* g;
  const void* x;        // [B, T, Hq, dx]
  const void* y;        // [B, T, Hkv, dx]
  const void* y_extra;  // [B, N, Hkv, dx] or null
  const float* bias;    // [Hq, bias_size] float32 or null
  float missing;        // value of slots a causal window lacks (-inf for qk, 0 for gradients)
  int dx;
  void* out;            // [B, T, Hq, W + N]
};

struct WindowSumsArgs {
  const SplitGeometry* g;
  const void* a;        // [B, T, Hq, W + N]
  const void* y;        // [B, T, Hkv, dy]
  const void* y_extra;  // [B, N, Hkv, dy] or null
  int dy;
  void* out;            // [B, T, Hq, dy]
};

struct InverseSumsArgs {  // also extra_sums
  const SplitGeometry* g;
  const void* a;  // [B, T, Hq, W + N]
  const void* x;  // [B, T, Hq, dx]
  int dx;
  void* out;      // inverse_sums: [B, T, Hkv, dx]; extra_sums: [B, N, Hkv, dx]
};

// One unit each, on the calling thread, dispatched to the best SIMD target (split_kernel.cpp).
void window_dots_unit(DType t, const WindowDotsArgs& a, std::int64_t unit, Workspace& ws);
void window_sums_unit(DType t, const WindowSumsArgs& a, std::int64_t unit, Workspace& ws);
void inverse_sums_unit(DType t, const InverseSumsArgs& a, std::int64_t unit, Workspace& ws);
// Unit = (batch, kv head, additional token).
void extra_sums_unit(DType t, const InverseSumsArgs& a, std::int64_t unit, Workspace& ws);

}  // namespace natten::cpu
