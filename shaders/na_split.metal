// Split neighborhood-attention ops on Apple GPUs (upstream NATTEN 0.14-0.17 API, heads last):
//   qk:  attention[b, i, h, slot] = q_i . k_key(slot) (+ rpb[h, bias index]), then q . k_extra
//   av:  out[b, i, h, :] = sum_slot attention * v_key(slot) (+ additional values)
// and their backward kernels. Semantics: natten/core/split.hpp (slot order row-major over the
// window, first axis slowest; bias index per axis (key - query) / dilation + K - 1; causal slots
// without a key hold -infinity and get no gradient; stride uses the leader's window).
//
// Work split. The window-side kernels (qk, av, and their twins d_attention of av and dQ of qk) work
// like the fused forward: a threadgroup owns a tile of queries of one dilation group and one head,
// stages the union of the tile's windows (K or V rows, as float) in threadgroup memory chunk by
// chunk, and every query reads its keys from there. qk and d_attention compute one dot product
// per (query, column): the threads of the threadgroup share those pairs, so no lane idles when
// the head dim or the window is small. av and dQ accumulate a weighted sum of rows: a query's
// columns are shared by `lanes_per_query` threads (a power of two near the head dim), so a
// simdgroup serves several queries when the head is narrow. No atomics anywhere: dK/dV gather
// over the inverse window and d_rpb reduces each bias entry in one simdgroup, in a fixed order.
#include "natten_metal_common.h"

// Window of one query token: per axis the dilation group, the query's group position and the
// window [start, end) of group positions.
struct NattenQueryWindow {
  NattenLane3 group;
  NattenLane3 pos;
  NattenBox box;
};

inline NattenLane3 natten_split_coords(constant NattenSplitArgs& a, int token) {
  NattenLane3 c;
  for (int ax = 2; ax >= 0; --ax) {
    c.v[ax] = token % a.axis[ax].length;
    token /= a.axis[ax].length;
  }
  return c;
}

inline int natten_split_token(constant NattenSplitArgs& a, NattenLane3 group, NattenLane3 pos) {
  int t = 0;
  for (int ax = 0; ax < 3; ++ax) t = t * a.axis[ax].length + group.v[ax] + a.axis[ax].dilation * pos.v[ax];
  return t;
}

// Window (inverse = 0) or inverse window (inverse = 1) of a token.
inline NattenQueryWindow natten_split_window(constant NattenSplitArgs& a, int token, int inverse) {
  NattenQueryWindow w;
  const NattenLane3 c = natten_split_coords(a, token);
  for (int ax = 0; ax < 3; ++ax) {
    const NattenAxis axis = natten_axis(a, ax);
    w.group.v[ax] = c.v[ax] % axis.dilation;
    w.pos.v[ax] = c.v[ax] / axis.dilation;
    const int glen = natten_group_length(axis, w.group.v[ax]);
    const NattenRange r =
        inverse != 0 ? natten_inverse_window(axis, glen, w.pos.v[ax]) : natten_window(axis, glen, w.pos.v[ax]);
    w.box.start.v[ax] = r.start;
    w.box.end.v[ax] = r.end;
  }
  return w;
}

// Slot of key position `key` in the window of a query (slots run over the full kernel extent, so
// a causal window that ends early leaves its last slots empty).
inline int natten_split_slot(constant NattenSplitArgs& a, NattenBox window, NattenLane3 key) {
  int s = 0;
  for (int ax = 0; ax < 3; ++ax) s = s * a.axis[ax].kernel_size + (key.v[ax] - window.start.v[ax]);
  return s;
}

// Key position of a slot, and whether the window holds a key there.
inline bool natten_split_slot_key(constant NattenSplitArgs& a, NattenBox window, int slot, thread NattenLane3& key) {
  bool valid = true;
  for (int ax = 2; ax >= 0; --ax) {
    key.v[ax] = window.start.v[ax] + slot % a.axis[ax].kernel_size;
    slot /= a.axis[ax].kernel_size;
    valid = valid && key.v[ax] < window.end.v[ax];
  }
  return valid;
}

// Flat bias index of (query position, key position) for head h.
inline int natten_split_bias(constant NattenSplitArgs& a, int h, NattenLane3 query, NattenLane3 key) {
  int r = h;
  for (int ax = 0; ax < 3; ++ax) r = r * a.rpb_extent[ax] + (key.v[ax] - query.v[ax]) + a.axis[ax].kernel_size - 1;
  return r;
}

template <typename PA, typename PB>
inline float natten_split_dot(PA x, PB y, int n) {
  float s = 0.0f;
  for (int d = 0; d < n; ++d) s += natten_to_float(x[d]) * natten_to_float(y[d]);
  return s;
}

inline bool natten_box_contains(NattenBox c, NattenLane3 p) {
  bool in = true;
  for (int ax = 0; ax < 3; ++ax) in = in && p.v[ax] >= c.start.v[ax] && p.v[ax] < c.end.v[ax];
  return in;
}

// Value of window slot `key` of a query at position qpos: x . y (+ the query head's bias).
template <typename XP, typename YP, typename T>
inline float natten_slot_value(XP xr, YP yr, device const T* rpb, constant NattenSplitArgs& a, int h,
                               NattenLane3 qpos, NattenLane3 key) {
  float v = natten_split_dot(xr, yr, a.dim);
  if (a.has_rpb != 0) v += natten_to_float(rpb[natten_split_bias(a, h, qpos, key)]);
  return v;
}

// ---- tiled dot products: qk and d_attention of av ----------------------------------------------
// out[row, col] = x_row . y_key(col) (+ rpb) for window slots, x_row . ey[col - window] for the
// additional columns, and `empty` in slots a causal window lacks. qk: x = q, y = k, empty = -inf;
// d_attention of av: x = dO, y = v, empty = 0 and no bias. The threads share the (query, column)
// pairs of the tile; each output element is written exactly once (its key lies in one chunk).
template <typename T>
inline void natten_split_dot_body(device const T* x, device const T* y, device const T* rpb, device const T* ey,
                                  device T* out, constant NattenSplitArgs& a, float empty, threadgroup float* smem,
                                  uint3 tg, uint tid, uint nthreads) {
  const int b = int(tg.z);
  const int h = int(tg.y);
  const int kvh = h / (a.heads_q / a.heads_kv);
  const NattenTile t = natten_tile(a, tg.x);
  const int pairs = natten_tile_size(a) * a.columns;
  const bool staged = a.chunk[0] > 0;
  // Threadgroup memory: x rows of the tile | y rows of the chunk.
  threadgroup float* sx = smem;
  threadgroup float* sy = sx + natten_tile_size(a) * a.dim;
  if (staged) natten_stage_tile(a, t, sx, x, b, h, a.heads_q, a.dim, tid, nthreads);
  threadgroup_barrier(mem_flags::mem_threadgroup);
  // Columns that need no staged key: additional tokens, empty causal slots, and (unstaged) all.
  for (int e = int(tid); e < pairs; e += int(nthreads)) {
    const int ql = e / a.columns;
    const int col = e - ql * a.columns;
    const NattenSlot me = natten_slot(a, t, uint(ql));
    if (!me.active) continue;
    const long row = natten_row(b, me.token, h, a.tokens, a.heads_q, 1);
    device const T* xr = x + row * a.dim;
    if (col >= a.window) {
      device const T* er = ey + natten_row(b, col - a.window, kvh, a.extra_kv, a.heads_kv, a.dim);
      natten_store(out, row * a.columns + col,
                   staged ? natten_split_dot(sx + ql * a.dim, er, a.dim) : natten_split_dot(xr, er, a.dim));
      continue;
    }
    NattenLane3 key;
    if (!natten_split_slot_key(a, natten_point_box(a, t, me.pos, 0), col, key)) {
      natten_store(out, row * a.columns + col, empty);
    } else if (!staged) {
      device const T* yr = y + natten_row(b, natten_token_of(a, t, key), kvh, a.tokens, a.heads_kv, a.dim);
      natten_store(out, row * a.columns + col, natten_slot_value(xr, yr, rpb, a, h, me.pos, key));
    }
  }
  if (!staged) return;
  const NattenBox u = natten_tile_union(a, t, 0);
  for (int o0 = u.start.v[0]; o0 < u.end.v[0]; o0 += a.chunk[0]) {
    for (int o1 = u.start.v[1]; o1 < u.end.v[1]; o1 += a.chunk[1]) {
      for (int o2 = u.start.v[2]; o2 < u.end.v[2]; o2 += a.chunk[2]) {
        NattenLane3 origin;
        origin.v[0] = o0;
        origin.v[1] = o1;
        origin.v[2] = o2;
        const NattenBox c = natten_chunk(a, u, origin);
        threadgroup_barrier(mem_flags::mem_threadgroup);  // previous chunk fully consumed
        natten_stage_box(a, t, c, sy, y, b, kvh, a.heads_kv, a.dim, tid, nthreads);
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (int e = int(tid); e < pairs; e += int(nthreads)) {
          const int ql = e / a.columns;
          const int col = e - ql * a.columns;
          if (col >= a.window) continue;
          const NattenSlot me = natten_slot(a, t, uint(ql));
          NattenLane3 key;
          if (!me.active || !natten_split_slot_key(a, natten_point_box(a, t, me.pos, 0), col, key) ||
              !natten_box_contains(c, key)) {
            continue;
          }
          const long row = natten_row(b, me.token, h, a.tokens, a.heads_q, 1);
          natten_store(out, row * a.columns + col,
                       natten_slot_value(sx + ql * a.dim, sy + natten_box_index(c, key) * a.dim, rpb, a, h, me.pos, key));
        }
      }
    }
  }
}

// ---- tiled weighted sums: av and dQ of qk -------------------------------------------------------
// out[row, d] = sum over the window's keys of w[row, slot] * y_key[d], plus w[row, window + e] *
// ey[e][d] for the additional tokens. av: w = attention, y = v; dQ of qk: w = dA, y = k. Slots
// without a key are never read (they may hold -inf or NaN). Thread tid serves query
// tid / lanes_per_query of the tile and columns lane, lane + lanes_per_query, ... of it.
template <typename T>
inline void natten_split_weighted_body(device const T* w, device const T* y, device const T* ey, device T* out,
                                       constant NattenSplitArgs& a, threadgroup float* sy, uint3 tg, uint tid,
                                       uint nthreads) {
  const int b = int(tg.z);
  const int h = int(tg.y);
  const int kvh = h / (a.heads_q / a.heads_kv);
  const NattenTile t = natten_tile(a, tg.x);
  const int width = a.lanes_per_query;
  const int ql = int(tid) / width;
  const int lane = int(tid) - ql * width;
  NattenSlot me = natten_slot(a, t, uint(ql));
  me.active = me.active && ql < natten_tile_size(a);  // threads past the tile only help staging
  const NattenBox window = natten_point_box(a, t, me.pos, 0);
  const long row = natten_row(b, me.token, h, a.tokens, a.heads_q, 1);
  device const T* wr = w + row * a.columns;
  const bool staged = a.chunk[0] > 0;
  const NattenBox u = natten_tile_union(a, t, 0);
  const int per_pass = width * NATTEN_COLS_PER_LANE;
  for (int pass = 0; pass * per_pass < a.dim; ++pass) {
    float4 acc = float4(0.0f);
    if (staged) {
      for (int o0 = u.start.v[0]; o0 < u.end.v[0]; o0 += a.chunk[0]) {
        for (int o1 = u.start.v[1]; o1 < u.end.v[1]; o1 += a.chunk[1]) {
          for (int o2 = u.start.v[2]; o2 < u.end.v[2]; o2 += a.chunk[2]) {
            NattenLane3 origin;
            origin.v[0] = o0;
            origin.v[1] = o1;
            origin.v[2] = o2;
            const NattenBox c = natten_chunk(a, u, origin);
            threadgroup_barrier(mem_flags::mem_threadgroup);  // previous chunk fully consumed
            natten_stage_box(a, t, c, sy, y, b, kvh, a.heads_kv, a.dim, tid, nthreads);
            threadgroup_barrier(mem_flags::mem_threadgroup);
            if (!me.active) continue;
            const NattenBox x = natten_intersect(window, c);
            NattenLane3 p;
            for (p.v[0] = x.start.v[0]; p.v[0] < x.end.v[0]; ++p.v[0]) {
              for (p.v[1] = x.start.v[1]; p.v[1] < x.end.v[1]; ++p.v[1]) {
                for (p.v[2] = x.start.v[2]; p.v[2] < x.end.v[2]; ++p.v[2]) {
                  const float weight = natten_to_float(wr[natten_split_slot(a, window, p)]);
                  threadgroup const float* yr = sy + natten_box_index(c, p) * a.dim;
                  for (int k = 0; k < NATTEN_COLS_PER_LANE; ++k) {
                    const int col = pass * per_pass + k * width + lane;
                    if (col < a.dim) acc[k] += weight * yr[col];
                  }
                }
              }
            }
          }
        }
      }
    } else if (me.active) {
      NattenLane3 p;
      for (p.v[0] = window.start.v[0]; p.v[0] < window.end.v[0]; ++p.v[0]) {
        for (p.v[1] = window.start.v[1]; p.v[1] < window.end.v[1]; ++p.v[1]) {
          for (p.v[2] = window.start.v[2]; p.v[2] < window.end.v[2]; ++p.v[2]) {
            const float weight = natten_to_float(wr[natten_split_slot(a, window, p)]);
            device const T* yr = y + natten_row(b, natten_token_of(a, t, p), kvh, a.tokens, a.heads_kv, a.dim);
            for (int k = 0; k < NATTEN_COLS_PER_LANE; ++k) {
              const int col = pass * per_pass + k * width + lane;
              if (col < a.dim) acc[k] += weight * natten_to_float(yr[col]);
            }
          }
        }
      }
    }
    if (!me.active) continue;
    for (int e = 0; e < a.extra_kv; ++e) {
      const float weight = natten_to_float(wr[a.window + e]);
      device const T* yr = ey + natten_row(b, e, kvh, a.extra_kv, a.heads_kv, a.dim);
      for (int k = 0; k < NATTEN_COLS_PER_LANE; ++k) {
        const int col = pass * per_pass + k * width + lane;
        if (col < a.dim) acc[k] += weight * natten_to_float(yr[col]);
      }
    }
    for (int k = 0; k < NATTEN_COLS_PER_LANE; ++k) {
      const int col = pass * per_pass + k * width + lane;
      if (col < a.dim) natten_store(out, row * a.dim + col, acc[k]);
    }
  }
}

// ---- backward gathers ----------------------------------------------------------------------------
// Gather over the queries that see key token j (its inverse window, every query head of the KV
// head's group): sum of w(query, slot of j) * x[query][d], where w is an attention-shaped tensor
// and x a query-shaped one. dK of qk (w = dA, x = q) and dV of av (w = attention, x = dO) are
// this same gather; extra_keys_mode gathers column window + j of every query instead.
template <typename T>
inline void natten_gather_body(device const T* w, device const T* x, device T* out, constant NattenSplitArgs& a,
                               uint gid) {
  if (int(gid) >= a.work) return;
  const bool extra = a.extra_keys_mode != 0;
  const int key_tokens = extra ? a.extra_kv : a.tokens;
  const int d = int(gid) % a.dim;
  const int kvh = (int(gid) / a.dim) % a.heads_kv;
  const int j = (int(gid) / (a.dim * a.heads_kv)) % key_tokens;
  const int b = int(gid) / (a.dim * a.heads_kv * key_tokens);
  const int group = a.heads_q / a.heads_kv;
  float s = 0.0f;
  if (extra) {
    for (int i = 0; i < a.tokens; ++i) {
      for (int h = kvh * group; h < (kvh + 1) * group; ++h) {
        const long row = natten_row(b, i, h, a.tokens, a.heads_q, 1);
        s += natten_to_float(w[row * a.columns + a.window + j]) * natten_to_float(x[row * a.dim + d]);
      }
    }
  } else {
    const NattenQueryWindow inv = natten_split_window(a, j, 1);
    NattenLane3 p;
    for (p.v[0] = inv.box.start.v[0]; p.v[0] < inv.box.end.v[0]; ++p.v[0]) {
      for (p.v[1] = inv.box.start.v[1]; p.v[1] < inv.box.end.v[1]; ++p.v[1]) {
        for (p.v[2] = inv.box.start.v[2]; p.v[2] < inv.box.end.v[2]; ++p.v[2]) {
          const int i = natten_split_token(a, inv.group, p);
          const int slot = natten_split_slot(a, natten_split_window(a, i, 0).box, inv.pos);
          for (int h = kvh * group; h < (kvh + 1) * group; ++h) {
            const long row = natten_row(b, i, h, a.tokens, a.heads_q, 1);
            s += natten_to_float(w[row * a.columns + slot]) * natten_to_float(x[row * a.dim + d]);
          }
        }
      }
    }
  }
  natten_store(out, long(gid), s);
}

// d_rpb[h, r] = sum over batches and queries whose window holds the key at relative offset r.
// One simdgroup per bias entry; lanes stride over the queries, then one simd_sum.
template <typename T>
inline void natten_qk_drpb_body(device const T* d_attn, device T* d_rpb, constant NattenSplitArgs& a, uint3 tg,
                                uint lane, uint sg, uint nthreads) {
  const int entry = int(tg.x) * int(nthreads / NATTEN_SIMD_WIDTH) + int(sg);
  if (entry >= a.work) return;  // uniform per simdgroup
  NattenLane3 off;  // (key - query) / dilation per axis
  int rest = entry;
  for (int ax = 2; ax >= 0; --ax) {
    off.v[ax] = rest % a.rpb_extent[ax] - (a.axis[ax].kernel_size - 1);
    rest /= a.rpb_extent[ax];
  }
  const int h = rest;
  float s = 0.0f;
  for (int n = int(lane); n < a.batch * a.tokens; n += NATTEN_SIMD_WIDTH) {
    const int b = n / a.tokens;
    const int i = n % a.tokens;
    const NattenQueryWindow w = natten_split_window(a, i, 0);
    NattenLane3 key;
    bool inside = true;
    for (int ax = 0; ax < 3; ++ax) {
      key.v[ax] = w.pos.v[ax] + off.v[ax];
      inside = inside && key.v[ax] >= w.box.start.v[ax] && key.v[ax] < w.box.end.v[ax];
    }
    if (inside) {
      s += natten_to_float(d_attn[natten_row(b, i, h, a.tokens, a.heads_q, 1) * a.columns +
                                  natten_split_slot(a, w.box, key)]);
    }
  }
  s = simd_sum(s);
  if (lane == 0) natten_store(d_rpb, long(entry), s);
}

// One set of kernels per storage type; buffer indices are the host contract (metal_plan.cpp).
#define NATTEN_SPLIT_KERNELS(SUFFIX, T)                                                                               \
  kernel void natten_qk_##SUFFIX(device const T* q [[buffer(0)]], device const T* k [[buffer(1)]],                   \
                                 device const T* rpb [[buffer(2)]], device const T* additional_k [[buffer(3)]],       \
                                 device T* attn [[buffer(4)]], constant NattenSplitArgs& args [[buffer(5)]],          \
                                 threadgroup float* smem [[threadgroup(0)]],                                          \
                                 uint3 tg [[threadgroup_position_in_grid]], uint tid [[thread_index_in_threadgroup]], \
                                 uint3 threads [[threads_per_threadgroup]]) {                                         \
    natten_split_dot_body(q, k, rpb, additional_k, attn, args, -INFINITY, smem, tg, tid, threads.x);                  \
  }                                                                                                                   \
  kernel void natten_qk_bwd_dq_##SUFFIX(device const T* d_attn [[buffer(0)]], device const T* k [[buffer(1)]],       \
                                        device const T* additional_k [[buffer(2)]], device T* d_q [[buffer(3)]],      \
                                        constant NattenSplitArgs& args [[buffer(4)]],                                 \
                                        threadgroup float* smem [[threadgroup(0)]],                                   \
                                        uint3 tg [[threadgroup_position_in_grid]],                                    \
                                        uint tid [[thread_index_in_threadgroup]],                                     \
                                        uint3 threads [[threads_per_threadgroup]]) {                                  \
    natten_split_weighted_body(d_attn, k, additional_k, d_q, args, smem, tg, tid, threads.x);                        \
  }                                                                                                                   \
  kernel void natten_split_gather_##SUFFIX(device const T* weights [[buffer(0)]], device const T* rows [[buffer(1)]], \
                                           device T* out [[buffer(2)]], constant NattenSplitArgs& args [[buffer(3)]], \
                                           uint gid [[thread_position_in_grid]]) {                                    \
    natten_gather_body(weights, rows, out, args, gid);                                                                \
  }                                                                                                                   \
  kernel void natten_qk_bwd_drpb_##SUFFIX(                                                                            \
      device const T* d_attn [[buffer(0)]], device T* d_rpb [[buffer(1)]], constant NattenSplitArgs& args [[buffer(2)]], \
      uint3 tg [[threadgroup_position_in_grid]], uint lane [[thread_index_in_simdgroup]],                             \
      uint sg [[simdgroup_index_in_threadgroup]], uint3 threads [[threads_per_threadgroup]]) {                        \
    natten_qk_drpb_body(d_attn, d_rpb, args, tg, lane, sg, threads.x);                                                \
  }                                                                                                                   \
  kernel void natten_av_##SUFFIX(device const T* attn [[buffer(0)]], device const T* v [[buffer(1)]],                \
                                 device const T* additional_v [[buffer(2)]], device T* out [[buffer(3)]],             \
                                 constant NattenSplitArgs& args [[buffer(4)]],                                        \
                                 threadgroup float* smem [[threadgroup(0)]],                                          \
                                 uint3 tg [[threadgroup_position_in_grid]], uint tid [[thread_index_in_threadgroup]], \
                                 uint3 threads [[threads_per_threadgroup]]) {                                         \
    natten_split_weighted_body(attn, v, additional_v, out, args, smem, tg, tid, threads.x);                           \
  }                                                                                                                   \
  kernel void natten_av_bwd_dattn_##SUFFIX(device const T* d_out [[buffer(0)]], device const T* v [[buffer(1)]],     \
                                           device const T* additional_v [[buffer(2)]], device T* d_attn [[buffer(3)]], \
                                           constant NattenSplitArgs& args [[buffer(4)]],                              \
                                           threadgroup float* smem [[threadgroup(0)]],                                \
                                           uint3 tg [[threadgroup_position_in_grid]],                                 \
                                           uint tid [[thread_index_in_threadgroup]],                                  \
                                           uint3 threads [[threads_per_threadgroup]]) {                               \
    /* no bias here (has_rpb = 0): the rpb slot is never read */                                                      \
    natten_split_dot_body(d_out, v, v, additional_v, d_attn, args, 0.0f, smem, tg, tid, threads.x);                  \
  }

NATTEN_SPLIT_KERNELS(f32, float)
NATTEN_SPLIT_KERNELS(f16, half)
NATTEN_SPLIT_KERNELS(bf16, natten_bf16)
