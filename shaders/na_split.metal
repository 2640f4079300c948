// Split neighborhood-attention ops on Apple GPUs (upstream NATTEN 0.14-0.17 API, heads last):
//   qk:  attention[b, i, h, slot] = q_i . k_key(slot) (+ rpb[h, bias index]), then q . k_extra
//   av:  out[b, i, h, :] = sum_slot attention * v_key(slot) (+ additional values)
// and their backward kernels. Semantics: natten/core/split.hpp (slot order row-major over the
// window, first axis slowest; bias index per axis (key - query) / dilation + K - 1; causal slots
// without a key hold -infinity and get no gradient; stride uses the leader's window).
//
// These ops move an attention tensor as large as their inputs through memory, so they are
// bandwidth-bound: one thread per output element, reading rows straight from device memory, and
// every reduction is a gather in a fixed order (no atomics: dK/dV gather over the inverse window,
// d_rpb reduces each bias entry in one simdgroup).
#include "natten_metal_common.h"

// Window of one query token: per axis the dilation group, the query's group position and the
// window [start, end) of group positions.
struct NattenQueryWindow {
  NattenLane3 group;
  NattenLane3 pos;
  NattenBox box;
};

inline NattenAxis natten_split_axis(constant NattenSplitArgs& a, int ax) {
  NattenAxis r;
  r.length = a.axis[ax].length;
  r.kernel_size = a.axis[ax].kernel_size;
  r.stride = a.axis[ax].stride;
  r.dilation = a.axis[ax].dilation;
  r.causal = a.axis[ax].causal;
  return r;
}

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
    const NattenAxis axis = natten_split_axis(a, ax);
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

// ---- qk ------------------------------------------------------------------------------------------
// One thread per attention element (row = (b, i, h), column).
template <typename T>
inline void natten_qk_body(device const T* q, device const T* k, device const T* rpb, device const T* ak,
                           device T* attn, constant NattenSplitArgs& a, uint gid) {
  if (int(gid) >= a.work) return;
  const int col = int(gid) % a.columns;
  const int row = int(gid) / a.columns;  // (b * tokens + i) * heads_q + h
  const int h = row % a.heads_q;
  const int i = (row / a.heads_q) % a.tokens;
  const int b = row / (a.heads_q * a.tokens);
  const int kvh = h / (a.heads_q / a.heads_kv);
  device const T* qr = q + long(row) * a.dim;
  float value;
  if (col >= a.window) {
    value = natten_split_dot(qr, ak + natten_row(b, col - a.window, kvh, a.extra_kv, a.heads_kv, a.dim), a.dim);
  } else {
    const NattenQueryWindow w = natten_split_window(a, i, 0);
    NattenLane3 key;
    if (natten_split_slot_key(a, w.box, col, key)) {
      const int kt = natten_split_token(a, w.group, key);
      value = natten_split_dot(qr, k + natten_row(b, kt, kvh, a.tokens, a.heads_kv, a.dim), a.dim);
      if (a.has_rpb != 0) value += natten_to_float(rpb[natten_split_bias(a, h, w.pos, key)]);
    } else {
      value = -INFINITY;
    }
  }
  natten_store(attn, long(gid), value);
}

// dQ[row, d] = sum over the row's slots of dA * k (+ additional keys). One thread per element.
template <typename T>
inline void natten_qk_dq_body(device const T* d_attn, device const T* k, device const T* ak, device T* dq,
                              constant NattenSplitArgs& a, uint gid) {
  if (int(gid) >= a.work) return;
  const int d = int(gid) % a.dim;
  const int row = int(gid) / a.dim;
  const int h = row % a.heads_q;
  const int i = (row / a.heads_q) % a.tokens;
  const int b = row / (a.heads_q * a.tokens);
  const int kvh = h / (a.heads_q / a.heads_kv);
  device const T* da = d_attn + long(row) * a.columns;
  const NattenQueryWindow w = natten_split_window(a, i, 0);
  float s = 0.0f;
  for (int slot = 0; slot < a.window; ++slot) {
    NattenLane3 key;
    if (!natten_split_slot_key(a, w.box, slot, key)) continue;
    const int kt = natten_split_token(a, w.group, key);
    s += natten_to_float(da[slot]) * natten_to_float(k[natten_row(b, kt, kvh, a.tokens, a.heads_kv, a.dim) + d]);
  }
  for (int e = 0; e < a.extra_kv; ++e) {
    s += natten_to_float(da[a.window + e]) *
         natten_to_float(ak[natten_row(b, e, kvh, a.extra_kv, a.heads_kv, a.dim) + d]);
  }
  natten_store(dq, long(gid), s);
}

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

// ---- av ------------------------------------------------------------------------------------------
// out[row, d] = sum over valid slots of attention * v (+ additional values). One thread per element.
template <typename T>
inline void natten_av_body(device const T* attn, device const T* v, device const T* av, device T* out,
                           constant NattenSplitArgs& a, uint gid) {
  if (int(gid) >= a.work) return;
  const int d = int(gid) % a.dim;
  const int row = int(gid) / a.dim;
  const int h = row % a.heads_q;
  const int i = (row / a.heads_q) % a.tokens;
  const int b = row / (a.heads_q * a.tokens);
  const int kvh = h / (a.heads_q / a.heads_kv);
  device const T* ar = attn + long(row) * a.columns;
  const NattenQueryWindow w = natten_split_window(a, i, 0);
  float s = 0.0f;
  for (int slot = 0; slot < a.window; ++slot) {
    NattenLane3 key;
    if (!natten_split_slot_key(a, w.box, slot, key)) continue;  // never read: may be -inf
    const int kt = natten_split_token(a, w.group, key);
    s += natten_to_float(ar[slot]) * natten_to_float(v[natten_row(b, kt, kvh, a.tokens, a.heads_kv, a.dim) + d]);
  }
  for (int e = 0; e < a.extra_kv; ++e) {
    s += natten_to_float(ar[a.window + e]) *
         natten_to_float(av[natten_row(b, e, kvh, a.extra_kv, a.heads_kv, a.dim) + d]);
  }
  natten_store(out, long(gid), s);
}

// d_attention[row, col] = dO_row . v_key(col) (0 for slots without a key).
template <typename T>
inline void natten_av_dattn_body(device const T* d_out, device const T* v, device const T* av, device T* d_attn,
                                 constant NattenSplitArgs& a, uint gid) {
  if (int(gid) >= a.work) return;
  const int col = int(gid) % a.columns;
  const int row = int(gid) / a.columns;
  const int h = row % a.heads_q;
  const int i = (row / a.heads_q) % a.tokens;
  const int b = row / (a.heads_q * a.tokens);
  const int kvh = h / (a.heads_q / a.heads_kv);
  device const T* dor = d_out + long(row) * a.dim;
  float value = 0.0f;
  if (col >= a.window) {
    value = natten_split_dot(dor, av + natten_row(b, col - a.window, kvh, a.extra_kv, a.heads_kv, a.dim), a.dim);
  } else {
    const NattenQueryWindow w = natten_split_window(a, i, 0);
    NattenLane3 key;
    if (natten_split_slot_key(a, w.box, col, key)) {
      const int kt = natten_split_token(a, w.group, key);
      value = natten_split_dot(dor, v + natten_row(b, kt, kvh, a.tokens, a.heads_kv, a.dim), a.dim);
    }
  }
  natten_store(d_attn, long(gid), value);
}

// One set of kernels per storage type; buffer indices are the host contract (metal_plan.cpp).
#define NATTEN_SPLIT_KERNELS(SUFFIX, T)                                                                               \
  kernel void natten_qk_##SUFFIX(device const T* q [[buffer(0)]], device const T* k [[buffer(1)]],                   \
                                 device const T* rpb [[buffer(2)]], device const T* additional_k [[buffer(3)]],       \
                                 device T* attn [[buffer(4)]], constant NattenSplitArgs& args [[buffer(5)]],          \
                                 uint gid [[thread_position_in_grid]]) {                                              \
    natten_qk_body(q, k, rpb, additional_k, attn, args, gid);                                                         \
  }                                                                                                                   \
  kernel void natten_qk_bwd_dq_##SUFFIX(device const T* d_attn [[buffer(0)]], device const T* k [[buffer(1)]],       \
                                        device const T* additional_k [[buffer(2)]], device T* d_q [[buffer(3)]],      \
                                        constant NattenSplitArgs& args [[buffer(4)]],                                 \
                                        uint gid [[thread_position_in_grid]]) {                                       \
    natten_qk_dq_body(d_attn, k, additional_k, d_q, args, gid);                                                       \
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
                                 constant NattenSplitArgs& args [[buffer(4)]], uint gid [[thread_position_in_grid]]) { \
    natten_av_body(attn, v, additional_v, out, args, gid);                                                            \
  }                                                                                                                   \
  kernel void natten_av_bwd_dattn_##SUFFIX(device const T* d_out [[buffer(0)]], device const T* v [[buffer(1)]],     \
                                           device const T* additional_v [[buffer(2)]], device T* d_attn [[buffer(3)]], \
                                           constant NattenSplitArgs& args [[buffer(4)]],                              \
                                           uint gid [[thread_position_in_grid]]) {                                    \
    natten_av_dattn_body(d_out, v, additional_v, d_attn, args, gid);                                                  \
  }

NATTEN_SPLIT_KERNELS(f32, float)
NATTEN_SPLIT_KERNELS(f16, half)
NATTEN_SPLIT_KERNELS(bf16, natten_bf16)
