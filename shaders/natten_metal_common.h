// Helpers shared by the Metal kernels: element loads/stores per storage type, the tile geometry of
// a threadgroup and the staging of operand rows into threadgroup memory.
//
// MSL subset (checked on Linux by tests/metal): no double, no recursion, no std::, no
// function-scope threadgroup variables (threadgroup memory arrives as [[threadgroup(n)]] kernel
// parameters), no vector constructors from mixed parts, no half literals.
#ifndef NATTEN_METAL_COMMON_H
#define NATTEN_METAL_COMMON_H

#include <metal_stdlib>

#include "natten/window.h"
#include "natten_metal_args.h"

using namespace metal;

// ---- storage types ------------------------------------------------------------------------------
// bfloat16 is stored as its 16 bits and converted with integer operations: identical results on
// every Metal version (the `bfloat` type needs Metal 3.1) and no float32 copy of the tensors.
struct natten_bf16 {
  ushort bits;
};

inline float natten_to_float(float x) { return x; }
inline float natten_to_float(half x) { return float(x); }
inline float natten_to_float(natten_bf16 x) { return as_type<float>(uint(x.bits) << 16); }

inline void natten_store(device float* p, long i, float v) { p[i] = v; }
inline void natten_store(device half* p, long i, float v) { p[i] = half(v); }
// Round to nearest even, NaN kept quiet (the same rule as natten/core/dtype.hpp).
inline void natten_store(device natten_bf16* p, long i, float v) {
  const uint x = as_type<uint>(v);
  uint r;
  if ((x & 0x7fffffffu) > 0x7f800000u) {
    r = (x >> 16) | 0x40u;
  } else {
    r = (x + 0x7fffu + ((x >> 16) & 1u)) >> 16;
  }
  p[i].bits = ushort(r);
}

// ---- rows of operands ---------------------------------------------------------------------------
// A row is the head vector of one token: `data + offset`, read as float through natten_to_float.
// The same kernel body runs on rows staged in threadgroup memory (as float) and on rows read
// straight from device memory, selected by the pointer type.
// This lane's share of the dot product of two rows of n elements (a simd_sum completes it).
template <typename PA, typename PB>
inline float natten_dot_lane(PA a, PB b, int n, uint lane) {
  float s = 0.0f;
  for (int d = int(lane); d < n; d += NATTEN_SIMD_WIDTH) s += natten_to_float(a[d]) * natten_to_float(b[d]);
  return s;
}

// Column handled by `lane` in slot c of pass `pass` (lanes interleave so reads are contiguous).
inline int natten_col(int pass, uint lane, int c) {
  return pass * NATTEN_COLS_PER_PASS + c * NATTEN_SIMD_WIDTH + int(lane);
}

inline int natten_passes(int cols) { return (cols + NATTEN_COLS_PER_PASS - 1) / NATTEN_COLS_PER_PASS; }

// Offset of row (b, token, head) of a [B, tokens, heads, dim] tensor.
inline long natten_row(int b, int token, int head, int tokens, int heads, int dim) {
  return ((long(b) * tokens + token) * heads + head) * long(dim);
}

// ---- geometry -----------------------------------------------------------------------------------
// One axis as the staging code sees it: tokens group + dilation * position, positions < glen,
// flattened with the spatial extent `length`.
struct NattenLane3 {
  int v[3];
};

inline int natten_flat_token(constant NattenFusedArgs& a, NattenLane3 token) {
  return (token.v[0] * a.axis[1].length + token.v[1]) * a.axis[2].length + token.v[2];
}

// The tile of a threadgroup: per axis its dilation group, the group's length and the positions
// [first, first + count) it owns (count may be 0 for the short groups of a dilated axis). Token of
// position p: group + step * p.
struct NattenTile {
  NattenLane3 group;
  NattenLane3 step;  // token distance between consecutive positions: the dilation
  NattenLane3 glen;
  NattenLane3 first;
  NattenLane3 count;
};

inline NattenAxis natten_axis(constant NattenFusedArgs& a, int ax) {
  NattenAxis r;
  r.length = a.axis[ax].length;
  r.kernel_size = a.axis[ax].kernel_size;
  r.stride = a.axis[ax].stride;
  r.dilation = a.axis[ax].dilation;
  r.causal = a.axis[ax].causal;
  return r;
}

inline NattenTile natten_tile(constant NattenFusedArgs& a, uint tile_index) {
  NattenTile t;
  int rest = int(tile_index);
  for (int ax = 2; ax >= 0; --ax) {
    const NattenAxis axis = natten_axis(a, ax);
    const int per_axis = axis.dilation * a.tiles_per_group[ax];
    const int v = rest % per_axis;
    rest /= per_axis;
    t.group.v[ax] = v / a.tiles_per_group[ax];
    t.step.v[ax] = axis.dilation;
    t.glen.v[ax] = natten_group_length(axis, t.group.v[ax]);
    t.first.v[ax] = (v % a.tiles_per_group[ax]) * a.tile[ax];
    t.count.v[ax] = natten_max(0, natten_min(a.tile[ax], t.glen.v[ax] - t.first.v[ax]));
  }
  return t;
}

// Every token, as one tile of step 1: the queries that see an additional KV token.
inline NattenTile natten_all_tokens(constant NattenFusedArgs& a) {
  NattenTile t;
  for (int ax = 0; ax < 3; ++ax) {
    t.group.v[ax] = 0;
    t.step.v[ax] = 1;
    t.glen.v[ax] = a.axis[ax].length;
    t.first.v[ax] = 0;
    t.count.v[ax] = a.axis[ax].length;
  }
  return t;
}

// Position (per axis, inside the tile) of simdgroup `sg`, row-major over the tile extents.
inline NattenLane3 natten_tile_local(constant NattenFusedArgs& a, uint sg) {
  NattenLane3 l;
  int rest = int(sg);
  for (int ax = 2; ax >= 0; --ax) {
    l.v[ax] = rest % a.tile[ax];
    rest /= a.tile[ax];
  }
  return l;
}

inline bool natten_tile_owns(NattenTile t, NattenLane3 in_tile) {
  return in_tile.v[0] < t.count.v[0] && in_tile.v[1] < t.count.v[1] && in_tile.v[2] < t.count.v[2];
}

// A box of positions [start, end) per axis.
struct NattenBox {
  NattenLane3 start;
  NattenLane3 end;
};

// Window (inverse = 0) or inverse window (inverse = 1) of group position p along axis ax.
inline NattenRange natten_axis_range(constant NattenFusedArgs& a, int ax, int glen, int p, int inverse) {
  const NattenAxis axis = natten_axis(a, ax);
  return inverse != 0 ? natten_inverse_window(axis, glen, p) : natten_window(axis, glen, p);
}

inline NattenBox natten_point_box(constant NattenFusedArgs& a, NattenTile t, NattenLane3 pos, int inverse) {
  NattenBox b;
  for (int ax = 0; ax < 3; ++ax) {
    const NattenRange r = natten_axis_range(a, ax, t.glen.v[ax], pos.v[ax], inverse);
    b.start.v[ax] = r.start;
    b.end.v[ax] = r.end;
  }
  return b;
}

// Union of the (inverse) windows of every position of the tile: the positions it must stage.
inline NattenBox natten_tile_union(constant NattenFusedArgs& a, NattenTile t, int inverse) {
  NattenBox u;
  for (int ax = 0; ax < 3; ++ax) {
    u.start.v[ax] = t.glen.v[ax];
    u.end.v[ax] = 0;
    for (int p = t.first.v[ax]; p < t.first.v[ax] + t.count.v[ax]; ++p) {
      const NattenRange r = natten_axis_range(a, ax, t.glen.v[ax], p, inverse);
      u.start.v[ax] = natten_min(u.start.v[ax], r.start);
      u.end.v[ax] = natten_max(u.end.v[ax], r.end);
    }
  }
  return u;
}

inline NattenBox natten_intersect(NattenBox x, NattenBox y) {
  NattenBox r;
  for (int ax = 0; ax < 3; ++ax) {
    r.start.v[ax] = natten_max(x.start.v[ax], y.start.v[ax]);
    r.end.v[ax] = natten_min(x.end.v[ax], y.end.v[ax]);
  }
  return r;
}

inline int natten_box_size(NattenBox b) {
  int n = 1;
  for (int ax = 0; ax < 3; ++ax) n *= natten_max(0, b.end.v[ax] - b.start.v[ax]);
  return n;
}

// Chunk of the union starting at `origin`, clipped to the union.
inline NattenBox natten_chunk(constant NattenFusedArgs& a, NattenBox u, NattenLane3 origin) {
  NattenBox c;
  for (int ax = 0; ax < 3; ++ax) {
    c.start.v[ax] = origin.v[ax];
    c.end.v[ax] = natten_min(origin.v[ax] + a.chunk[ax], u.end.v[ax]);
  }
  return c;
}

// Index of position p inside box c, row-major.
inline int natten_box_index(NattenBox c, NattenLane3 p) {
  int i = 0;
  for (int ax = 0; ax < 3; ++ax) i = i * (c.end.v[ax] - c.start.v[ax]) + (p.v[ax] - c.start.v[ax]);
  return i;
}

// Position of the i-th element of box c, row-major.
inline NattenLane3 natten_box_at(NattenBox c, int i) {
  NattenLane3 p;
  for (int ax = 2; ax >= 0; --ax) {
    const int n = c.end.v[ax] - c.start.v[ax];
    p.v[ax] = c.start.v[ax] + i % n;
    i /= n;
  }
  return p;
}

// Token (spatial index) of group position p of tile t.
inline int natten_token_of(constant NattenFusedArgs& a, NattenTile t, NattenLane3 p) {
  NattenLane3 tok;
  for (int ax = 0; ax < 3; ++ax) tok.v[ax] = t.group.v[ax] + t.step.v[ax] * p.v[ax];
  return natten_flat_token(a, tok);
}

// Copies the rows (b, token, head) of the tokens of box c into dst as float, row-major over the
// box, `width` elements each; all threads of the threadgroup share the work.
template <typename T>
inline void natten_stage_box(constant NattenFusedArgs& a, NattenTile t, NattenBox c, threadgroup float* dst,
                             device const T* src, int b, int head, int heads, int width, uint tid, uint nthreads) {
  const int n = natten_box_size(c) * width;
  for (int e = int(tid); e < n; e += int(nthreads)) {
    const int r = e / width;
    const int token = natten_token_of(a, t, natten_box_at(c, r));
    dst[e] = natten_to_float(src[natten_row(b, token, head, a.tokens, heads, width) + (e - r * width)]);
  }
}

// Same for per-row scalars (logsumexp, delta) stored [B, tokens, heads].
inline void natten_stage_box_scalar(constant NattenFusedArgs& a, NattenTile t, NattenBox c, threadgroup float* dst,
                                    device const float* src, int b, int head, int heads, uint tid, uint nthreads) {
  const int n = natten_box_size(c);
  for (int e = int(tid); e < n; e += int(nthreads)) {
    dst[e] = src[natten_row(b, natten_token_of(a, t, natten_box_at(c, e)), head, a.tokens, heads, 1)];
  }
}

#endif  // NATTEN_METAL_COMMON_H
