// Fused neighborhood attention on Apple GPUs: forward (output + logsumexp) and backward (delta,
// dQ, dK/dV including the additional KV tokens), ranks 1-3, every parameter, float32/float16/bf16.
//
// Work split. A threadgroup owns a tile of query positions (one dilation group, up to
// NattenFusedArgs::tile per axis) and runs one simdgroup per query; the lanes of a simdgroup share
// the head dimension, so a dot product is a per-lane partial sum plus one simd_sum. Neighboring
// queries share most keys: the threadgroup stages the union of its queries' windows in
// threadgroup memory (in chunks that fit the budget the plan chose, so K is not capped) and every
// query reads its keys from there. The forward keeps an online softmax per query, writes each
// output element once and uses no atomics.
//
// The backward is deterministic: dQ gathers over each query's window like the forward, and dK/dV
// gather over each key's inverse window (natten_inverse_window: one contiguous range per axis),
// staging the union of the queries that see the keys of a tile. Every sum runs in a fixed order.
//
// Output columns are accumulated NATTEN_COLS_PER_PASS at a time (4 per lane); wider heads run
// several passes over the neighbors, so no per-thread array limits the head dim.
#include "natten_metal_common.h"

// Softmax running state of one query (every lane holds the same m and l, and its own columns).
struct NattenOnline {
  float m;
  float l;
  float4 acc;
};

// Folds one key (row kr of K, row vr of V) into the running softmax of query row qr.
template <typename QP, typename KP, typename VP>
inline void natten_fwd_visit(QP qr, KP kr, VP vr, constant NattenFusedArgs& a, int pass, uint lane,
                             thread NattenOnline& st) {
  const float s = simd_sum(natten_dot_lane(qr, kr, a.dim, lane)) * a.scale;
  const float m = max(st.m, s);
  const float correction = exp(st.m - m);
  const float p = exp(s - m);
  st.l = st.l * correction + p;
  for (int c = 0; c < NATTEN_COLS_PER_LANE; ++c) {
    const int col = natten_col(pass, lane, c);
    const float vv = col < a.dim_v ? natten_to_float(vr[col]) : 0.0f;
    st.acc[c] = st.acc[c] * correction + p * vv;
  }
  st.m = m;
}

// The additional KV tokens, read from device memory (every query sees all of them).
template <typename QP, typename T>
inline void natten_fwd_extra(QP qr, device const T* ak, device const T* av, constant NattenFusedArgs& a, int b,
                             int kvh, int pass, uint lane, thread NattenOnline& st) {
  for (int e = 0; e < a.extra_kv; ++e) {
    natten_fwd_visit(qr, ak + natten_row(b, e, kvh, a.extra_kv, a.heads_kv, a.dim),
                     av + natten_row(b, e, kvh, a.extra_kv, a.heads_kv, a.dim_v), a, pass, lane, st);
  }
}

// Position of this simdgroup's query or key inside the tile, and whether the tile owns it.
struct NattenSlot {
  NattenLane3 pos;
  bool active;
  int token;
};

inline NattenSlot natten_slot(constant NattenFusedArgs& a, NattenTile t, uint sg) {
  NattenSlot s;
  const NattenLane3 in_tile = natten_tile_local(a, sg);
  s.active = natten_tile_owns(t, in_tile);
  for (int ax = 0; ax < 3; ++ax) s.pos.v[ax] = t.first.v[ax] + in_tile.v[ax];
  s.token = s.active ? natten_token_of(a, t, s.pos) : 0;
  return s;
}

inline int natten_tile_size(constant NattenFusedArgs& a) { return a.tile[0] * a.tile[1] * a.tile[2]; }
inline int natten_chunk_size(constant NattenFusedArgs& a) { return a.chunk[0] * a.chunk[1] * a.chunk[2]; }

// Stages `width` elements of the rows of the tile's own tokens (zeros for positions it does not
// own) into dst[tile position][width].
template <typename T>
inline void natten_stage_tile(constant NattenFusedArgs& a, NattenTile t, threadgroup float* dst, device const T* src,
                              int b, int head, int heads, int width, uint tid, uint nthreads) {
  const int n = natten_tile_size(a) * width;
  for (int e = int(tid); e < n; e += int(nthreads)) {
    const int r = e / width;
    const NattenSlot s = natten_slot(a, t, uint(r));
    dst[e] = s.active ? natten_to_float(src[natten_row(b, s.token, head, a.tokens, heads, width) + (e - r * width)])
                      : 0.0f;
  }
}

template <typename T>
inline void natten_fwd_body(device const T* q, device const T* k, device const T* v, device const T* ak,
                            device const T* av, device T* out, device float* lse, constant NattenFusedArgs& a,
                            threadgroup float* smem, uint3 tg, uint tid, uint lane, uint sg, uint nthreads) {
  const int b = int(tg.z);
  const int h = int(tg.y);
  const int kvh = h / (a.heads_q / a.heads_kv);
  const NattenTile t = natten_tile(a, tg.x);
  const NattenSlot me = natten_slot(a, t, sg);
  const NattenBox window = natten_point_box(a, t, me.pos, 0);
  const NattenBox u = natten_tile_union(a, t, 0);
  const long qrow = natten_row(b, me.token, h, a.tokens, a.heads_q, a.dim);
  const long orow = natten_row(b, me.token, h, a.tokens, a.heads_q, a.dim_v);
  const bool staged = a.chunk[0] > 0;
  // Threadgroup memory: q of the tile | K chunk | V chunk.
  threadgroup float* sq = smem;
  threadgroup float* sk = sq + natten_tile_size(a) * a.dim;
  threadgroup float* sv = sk + natten_chunk_size(a) * a.dim;
  if (staged) {
    natten_stage_tile(a, t, sq, q, b, h, a.heads_q, a.dim, tid, nthreads);
  }
  for (int pass = 0; pass < natten_passes(a.dim_v); ++pass) {
    NattenOnline st;
    st.m = -1.0e30f;  // finite: stays correct under fast math
    st.l = 0.0f;
    st.acc = float4(0.0f);
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
            natten_stage_box(a, t, c, sk, k, b, kvh, a.heads_kv, a.dim, tid, nthreads);
            natten_stage_box(a, t, c, sv, v, b, kvh, a.heads_kv, a.dim_v, tid, nthreads);
            threadgroup_barrier(mem_flags::mem_threadgroup);
            if (me.active) {
              const NattenBox x = natten_intersect(window, c);
              NattenLane3 p;
              for (p.v[0] = x.start.v[0]; p.v[0] < x.end.v[0]; ++p.v[0]) {
                for (p.v[1] = x.start.v[1]; p.v[1] < x.end.v[1]; ++p.v[1]) {
                  for (p.v[2] = x.start.v[2]; p.v[2] < x.end.v[2]; ++p.v[2]) {
                    const int r = natten_box_index(c, p);
                    natten_fwd_visit(sq + int(sg) * a.dim, sk + r * a.dim, sv + r * a.dim_v, a, pass, lane, st);
                  }
                }
              }
            }
          }
        }
      }
      if (me.active) natten_fwd_extra(sq + int(sg) * a.dim, ak, av, a, b, kvh, pass, lane, st);
    } else if (me.active) {
      NattenLane3 p;
      for (p.v[0] = window.start.v[0]; p.v[0] < window.end.v[0]; ++p.v[0]) {
        for (p.v[1] = window.start.v[1]; p.v[1] < window.end.v[1]; ++p.v[1]) {
          for (p.v[2] = window.start.v[2]; p.v[2] < window.end.v[2]; ++p.v[2]) {
            const int key = natten_token_of(a, t, p);
            natten_fwd_visit(q + qrow, k + natten_row(b, key, kvh, a.tokens, a.heads_kv, a.dim),
                             v + natten_row(b, key, kvh, a.tokens, a.heads_kv, a.dim_v), a, pass, lane, st);
          }
        }
      }
      natten_fwd_extra(q + qrow, ak, av, a, b, kvh, pass, lane, st);
    }
    if (me.active) {
      for (int c = 0; c < NATTEN_COLS_PER_LANE; ++c) {
        const int col = natten_col(pass, lane, c);
        if (col < a.dim_v) natten_store(out, orow + col, st.acc[c] / st.l);
      }
      if (pass == 0 && lane == 0) lse[natten_row(b, me.token, h, a.tokens, a.heads_q, 1)] = st.m + log(st.l);
    }
  }
}

// delta = rowsum(dO * O) per (batch, token, query head), one simdgroup per row.
template <typename T>
inline void natten_delta_body(device const T* o, device const T* d_o, device float* delta, constant NattenFusedArgs& a,
                              uint3 tg, uint lane, uint sg, uint nthreads) {
  const int row = int(tg.x) * int(nthreads / NATTEN_SIMD_WIDTH) + int(sg);
  if (row >= a.rows) return;  // uniform per simdgroup: the sum below stays convergent
  const long off = long(row) * a.dim_v;
  const float s = simd_sum(natten_dot_lane(o + off, d_o + off, a.dim_v, lane));
  if (lane == 0) delta[row] = s;
}

// Per-query gradient state: dS terms need p = exp(s - lse) and dp = dO . v.
struct NattenGradRow {
  float lse;
  float delta;
};

// dQ += scale * dS * k for one key (columns of this pass).
template <typename QP, typename OP, typename KP, typename VP>
inline void natten_dq_visit(QP qr, OP dor, KP kr, VP vr, constant NattenFusedArgs& a, NattenGradRow g, int pass,
                            uint lane, thread float4& acc) {
  float2 part;
  part.x = natten_dot_lane(qr, kr, a.dim, lane);
  part.y = natten_dot_lane(dor, vr, a.dim_v, lane);
  const float2 s = simd_sum(part);
  const float p = exp(s.x * a.scale - g.lse);
  const float ds = p * (s.y - g.delta);
  for (int c = 0; c < NATTEN_COLS_PER_LANE; ++c) {
    const int col = natten_col(pass, lane, c);
    if (col < a.dim) acc[c] += ds * natten_to_float(kr[col]);
  }
}

template <typename QP, typename OP, typename T>
inline void natten_dq_extra(QP qr, OP dor, device const T* ak, device const T* av, constant NattenFusedArgs& a, int b,
                            int kvh, NattenGradRow g, int pass, uint lane, thread float4& acc) {
  for (int e = 0; e < a.extra_kv; ++e) {
    natten_dq_visit(qr, dor, ak + natten_row(b, e, kvh, a.extra_kv, a.heads_kv, a.dim),
                    av + natten_row(b, e, kvh, a.extra_kv, a.heads_kv, a.dim_v), a, g, pass, lane, acc);
  }
}

template <typename T>
inline void natten_dq_body(device const T* q, device const T* k, device const T* v, device const T* ak,
                           device const T* av, device const T* d_o, device const float* lse, device const float* delta,
                           device T* dq, constant NattenFusedArgs& a, threadgroup float* smem, uint3 tg, uint tid,
                           uint lane, uint sg, uint nthreads) {
  const int b = int(tg.z);
  const int h = int(tg.y);
  const int kvh = h / (a.heads_q / a.heads_kv);
  const NattenTile t = natten_tile(a, tg.x);
  const NattenSlot me = natten_slot(a, t, sg);
  const NattenBox window = natten_point_box(a, t, me.pos, 0);
  const NattenBox u = natten_tile_union(a, t, 0);
  const long qrow = natten_row(b, me.token, h, a.tokens, a.heads_q, a.dim);
  const long orow = natten_row(b, me.token, h, a.tokens, a.heads_q, a.dim_v);
  NattenGradRow g;
  g.lse = me.active ? lse[natten_row(b, me.token, h, a.tokens, a.heads_q, 1)] : 0.0f;
  g.delta = me.active ? delta[natten_row(b, me.token, h, a.tokens, a.heads_q, 1)] : 0.0f;
  const bool staged = a.chunk[0] > 0;
  // Threadgroup memory: q of the tile | dO of the tile | K chunk | V chunk.
  threadgroup float* sq = smem;
  threadgroup float* sdo = sq + natten_tile_size(a) * a.dim;
  threadgroup float* sk = sdo + natten_tile_size(a) * a.dim_v;
  threadgroup float* sv = sk + natten_chunk_size(a) * a.dim;
  if (staged) {
    natten_stage_tile(a, t, sq, q, b, h, a.heads_q, a.dim, tid, nthreads);
    natten_stage_tile(a, t, sdo, d_o, b, h, a.heads_q, a.dim_v, tid, nthreads);
  }
  for (int pass = 0; pass < natten_passes(a.dim); ++pass) {
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
            threadgroup_barrier(mem_flags::mem_threadgroup);
            natten_stage_box(a, t, c, sk, k, b, kvh, a.heads_kv, a.dim, tid, nthreads);
            natten_stage_box(a, t, c, sv, v, b, kvh, a.heads_kv, a.dim_v, tid, nthreads);
            threadgroup_barrier(mem_flags::mem_threadgroup);
            if (me.active) {
              const NattenBox x = natten_intersect(window, c);
              NattenLane3 p;
              for (p.v[0] = x.start.v[0]; p.v[0] < x.end.v[0]; ++p.v[0]) {
                for (p.v[1] = x.start.v[1]; p.v[1] < x.end.v[1]; ++p.v[1]) {
                  for (p.v[2] = x.start.v[2]; p.v[2] < x.end.v[2]; ++p.v[2]) {
                    const int r = natten_box_index(c, p);
                    natten_dq_visit(sq + int(sg) * a.dim, sdo + int(sg) * a.dim_v, sk + r * a.dim, sv + r * a.dim_v, a,
                                    g, pass, lane, acc);
                  }
                }
              }
            }
          }
        }
      }
      if (me.active) natten_dq_extra(sq + int(sg) * a.dim, sdo + int(sg) * a.dim_v, ak, av, a, b, kvh, g, pass, lane, acc);
    } else if (me.active) {
      NattenLane3 p;
      for (p.v[0] = window.start.v[0]; p.v[0] < window.end.v[0]; ++p.v[0]) {
        for (p.v[1] = window.start.v[1]; p.v[1] < window.end.v[1]; ++p.v[1]) {
          for (p.v[2] = window.start.v[2]; p.v[2] < window.end.v[2]; ++p.v[2]) {
            const int key = natten_token_of(a, t, p);
            natten_dq_visit(q + qrow, d_o + orow, k + natten_row(b, key, kvh, a.tokens, a.heads_kv, a.dim),
                            v + natten_row(b, key, kvh, a.tokens, a.heads_kv, a.dim_v), a, g, pass, lane, acc);
          }
        }
      }
      natten_dq_extra(q + qrow, d_o + orow, ak, av, a, b, kvh, g, pass, lane, acc);
    }
    if (me.active) {
      for (int c = 0; c < NATTEN_COLS_PER_LANE; ++c) {
        const int col = natten_col(pass, lane, c);
        if (col < a.dim) natten_store(dq, qrow + col, acc[c] * a.scale);
      }
    }
  }
}

// dK and dV accumulators of one key (columns of this pass).
struct NattenKeyGrad {
  float4 dk;
  float4 dv;
};

// Folds one query (rows qr, dor and its lse/delta) into the gradients of key (kr, vr).
template <typename QP, typename OP, typename KP, typename VP>
inline void natten_dkv_visit(QP qr, OP dor, KP kr, VP vr, constant NattenFusedArgs& a, NattenGradRow g, int pass,
                             uint lane, thread NattenKeyGrad& acc) {
  float2 part;
  part.x = natten_dot_lane(qr, kr, a.dim, lane);
  part.y = natten_dot_lane(dor, vr, a.dim_v, lane);
  const float2 s = simd_sum(part);
  const float p = exp(s.x * a.scale - g.lse);
  const float ds = p * (s.y - g.delta);
  for (int c = 0; c < NATTEN_COLS_PER_LANE; ++c) {
    const int col = natten_col(pass, lane, c);
    if (col < a.dim) acc.dk[c] += ds * natten_to_float(qr[col]);
    if (col < a.dim_v) acc.dv[c] += p * natten_to_float(dor[col]);
  }
}

// The keys of the threadgroup: a tile of neighborhood keys, or (extra_keys_mode) a run of
// additional KV tokens that every query sees. K/V and dK/dV are bound to the matching tensors.
template <typename T>
inline void natten_dkv_body(device const T* q, device const T* k, device const T* v, device const T* d_o,
                            device const float* lse, device const float* delta, device T* dk, device T* dv,
                            constant NattenFusedArgs& a, threadgroup float* smem, uint3 tg, uint tid, uint lane, uint sg,
                            uint nthreads) {
  const int b = int(tg.z);
  const int kvh = int(tg.y);
  const int group = a.heads_q / a.heads_kv;
  const bool extra = a.extra_keys_mode != 0;
  const int key_tokens = extra ? a.extra_kv : a.tokens;
  // Query side: the key tile itself (same dilation group), or every token for extra keys.
  const NattenTile t = extra ? natten_all_tokens(a) : natten_tile(a, tg.x);
  NattenSlot me;
  NattenBox seen;
  if (extra) {
    me.token = int(tg.x) * natten_tile_size(a) + int(sg);
    me.active = me.token < a.extra_kv;
    for (int ax = 0; ax < 3; ++ax) {
      me.pos.v[ax] = 0;
      seen.start.v[ax] = 0;
      seen.end.v[ax] = t.glen.v[ax];
    }
  } else {
    me = natten_slot(a, t, sg);
    seen = natten_point_box(a, t, me.pos, 1);
  }
  if (!me.active) me.token = 0;
  NattenBox u = seen;
  if (!extra) u = natten_tile_union(a, t, 1);
  const long krow = natten_row(b, me.token, kvh, key_tokens, a.heads_kv, a.dim);
  const long vrow = natten_row(b, me.token, kvh, key_tokens, a.heads_kv, a.dim_v);
  const bool staged = a.chunk[0] > 0;
  // Threadgroup memory: K of the tile | V of the tile | q chunk | dO chunk | lse chunk | delta chunk.
  const int cn = natten_chunk_size(a);
  threadgroup float* sk = smem;
  threadgroup float* sv = sk + natten_tile_size(a) * a.dim;
  threadgroup float* sq = sv + natten_tile_size(a) * a.dim_v;
  threadgroup float* sdo = sq + cn * a.dim;
  threadgroup float* slse = sdo + cn * a.dim_v;
  threadgroup float* sdelta = slse + cn;
  if (staged) {
    // Rows of this tile's own keys (zeros for slots it does not own).
    const int tn = natten_tile_size(a);
    for (int e = int(tid); e < tn * a.dim; e += int(nthreads)) {
      const int r = e / a.dim;
      const NattenSlot s = natten_slot(a, t, uint(r));
      const int tok = extra ? int(tg.x) * tn + r : s.token;
      const bool own = extra ? tok < a.extra_kv : s.active;
      sk[e] = own ? natten_to_float(k[natten_row(b, tok, kvh, key_tokens, a.heads_kv, a.dim) + (e - r * a.dim)]) : 0.0f;
    }
    for (int e = int(tid); e < tn * a.dim_v; e += int(nthreads)) {
      const int r = e / a.dim_v;
      const NattenSlot s = natten_slot(a, t, uint(r));
      const int tok = extra ? int(tg.x) * tn + r : s.token;
      const bool own = extra ? tok < a.extra_kv : s.active;
      sv[e] = own ? natten_to_float(v[natten_row(b, tok, kvh, key_tokens, a.heads_kv, a.dim_v) + (e - r * a.dim_v)])
                  : 0.0f;
    }
  }
  const int passes = natten_passes(max(a.dim, a.dim_v));
  for (int pass = 0; pass < passes; ++pass) {
    NattenKeyGrad acc;
    acc.dk = float4(0.0f);
    acc.dv = float4(0.0f);
    for (int hq = kvh * group; hq < (kvh + 1) * group; ++hq) {
      if (staged) {
        for (int o0 = u.start.v[0]; o0 < u.end.v[0]; o0 += a.chunk[0]) {
          for (int o1 = u.start.v[1]; o1 < u.end.v[1]; o1 += a.chunk[1]) {
            for (int o2 = u.start.v[2]; o2 < u.end.v[2]; o2 += a.chunk[2]) {
              NattenLane3 origin;
              origin.v[0] = o0;
              origin.v[1] = o1;
              origin.v[2] = o2;
              const NattenBox c = natten_chunk(a, u, origin);
              threadgroup_barrier(mem_flags::mem_threadgroup);
              natten_stage_box(a, t, c, sq, q, b, hq, a.heads_q, a.dim, tid, nthreads);
              natten_stage_box(a, t, c, sdo, d_o, b, hq, a.heads_q, a.dim_v, tid, nthreads);
              natten_stage_box_scalar(a, t, c, slse, lse, b, hq, a.heads_q, tid, nthreads);
              natten_stage_box_scalar(a, t, c, sdelta, delta, b, hq, a.heads_q, tid, nthreads);
              threadgroup_barrier(mem_flags::mem_threadgroup);
              if (me.active) {
                const NattenBox x = natten_intersect(seen, c);
                NattenLane3 p;
                for (p.v[0] = x.start.v[0]; p.v[0] < x.end.v[0]; ++p.v[0]) {
                  for (p.v[1] = x.start.v[1]; p.v[1] < x.end.v[1]; ++p.v[1]) {
                    for (p.v[2] = x.start.v[2]; p.v[2] < x.end.v[2]; ++p.v[2]) {
                      const int r = natten_box_index(c, p);
                      NattenGradRow g;
                      g.lse = slse[r];
                      g.delta = sdelta[r];
                      natten_dkv_visit(sq + r * a.dim, sdo + r * a.dim_v, sk + int(sg) * a.dim, sv + int(sg) * a.dim_v,
                                       a, g, pass, lane, acc);
                    }
                  }
                }
              }
            }
          }
        }
      } else if (me.active) {
        NattenLane3 p;
        for (p.v[0] = seen.start.v[0]; p.v[0] < seen.end.v[0]; ++p.v[0]) {
          for (p.v[1] = seen.start.v[1]; p.v[1] < seen.end.v[1]; ++p.v[1]) {
            for (p.v[2] = seen.start.v[2]; p.v[2] < seen.end.v[2]; ++p.v[2]) {
              const int qt = natten_token_of(a, t, p);
              NattenGradRow g;
              g.lse = lse[natten_row(b, qt, hq, a.tokens, a.heads_q, 1)];
              g.delta = delta[natten_row(b, qt, hq, a.tokens, a.heads_q, 1)];
              natten_dkv_visit(q + natten_row(b, qt, hq, a.tokens, a.heads_q, a.dim),
                               d_o + natten_row(b, qt, hq, a.tokens, a.heads_q, a.dim_v), k + krow, v + vrow, a, g,
                               pass, lane, acc);
            }
          }
        }
      }
    }
    if (me.active) {
      for (int c = 0; c < NATTEN_COLS_PER_LANE; ++c) {
        const int col = natten_col(pass, lane, c);
        if (col < a.dim) natten_store(dk, krow + col, acc.dk[c] * a.scale);
        if (col < a.dim_v) natten_store(dv, vrow + col, acc.dv[c]);
      }
    }
  }
}

// One set of kernels per storage type. Buffer indices are part of the host contract
// (lib/natten/backend/metal/metal_plan.cpp binds by these numbers; tests/metal checks both sides).
#define NATTEN_FUSED_KERNELS(SUFFIX, T)                                                                               \
  kernel void natten_fwd_##SUFFIX(                                                                                    \
      device const T* q [[buffer(0)]], device const T* k [[buffer(1)]], device const T* v [[buffer(2)]],             \
      device const T* additional_k [[buffer(3)]], device const T* additional_v [[buffer(4)]],                         \
      device T* out [[buffer(5)]], device float* lse [[buffer(6)]], constant NattenFusedArgs& args [[buffer(7)]],    \
      threadgroup float* smem [[threadgroup(0)]], uint3 tg [[threadgroup_position_in_grid]],                         \
      uint tid [[thread_index_in_threadgroup]], uint lane [[thread_index_in_simdgroup]],                              \
      uint sg [[simdgroup_index_in_threadgroup]], uint3 threads [[threads_per_threadgroup]]) {                        \
    natten_fwd_body(q, k, v, additional_k, additional_v, out, lse, args, smem, tg, tid, lane, sg, threads.x);        \
  }                                                                                                                   \
  kernel void natten_bwd_delta_##SUFFIX(                                                                              \
      device const T* out [[buffer(0)]], device const T* d_out [[buffer(1)]], device float* delta [[buffer(2)]],     \
      constant NattenFusedArgs& args [[buffer(3)]], uint3 tg [[threadgroup_position_in_grid]],                       \
      uint lane [[thread_index_in_simdgroup]], uint sg [[simdgroup_index_in_threadgroup]],                            \
      uint3 threads [[threads_per_threadgroup]]) {                                                                    \
    natten_delta_body(out, d_out, delta, args, tg, lane, sg, threads.x);                                              \
  }                                                                                                                   \
  kernel void natten_bwd_dq_##SUFFIX(                                                                                 \
      device const T* q [[buffer(0)]], device const T* k [[buffer(1)]], device const T* v [[buffer(2)]],             \
      device const T* additional_k [[buffer(3)]], device const T* additional_v [[buffer(4)]],                         \
      device const T* d_out [[buffer(5)]], device const float* lse [[buffer(6)]],                                    \
      device const float* delta [[buffer(7)]], device T* d_q [[buffer(8)]],                                           \
      constant NattenFusedArgs& args [[buffer(9)]], threadgroup float* smem [[threadgroup(0)]],                       \
      uint3 tg [[threadgroup_position_in_grid]], uint tid [[thread_index_in_threadgroup]],                            \
      uint lane [[thread_index_in_simdgroup]], uint sg [[simdgroup_index_in_threadgroup]],                            \
      uint3 threads [[threads_per_threadgroup]]) {                                                                    \
    natten_dq_body(q, k, v, additional_k, additional_v, d_out, lse, delta, d_q, args, smem, tg, tid, lane, sg,       \
                   threads.x);                                                                                        \
  }                                                                                                                   \
  kernel void natten_bwd_dkv_##SUFFIX(                                                                                \
      device const T* q [[buffer(0)]], device const T* k [[buffer(1)]], device const T* v [[buffer(2)]],             \
      device const T* d_out [[buffer(3)]], device const float* lse [[buffer(4)]],                                     \
      device const float* delta [[buffer(5)]], device T* d_k [[buffer(6)]], device T* d_v [[buffer(7)]],             \
      constant NattenFusedArgs& args [[buffer(8)]], threadgroup float* smem [[threadgroup(0)]],                       \
      uint3 tg [[threadgroup_position_in_grid]], uint tid [[thread_index_in_threadgroup]],                            \
      uint lane [[thread_index_in_simdgroup]], uint sg [[simdgroup_index_in_threadgroup]],                            \
      uint3 threads [[threads_per_threadgroup]]) {                                                                    \
    natten_dkv_body(q, k, v, d_out, lse, delta, d_k, d_v, args, smem, tg, tid, lane, sg, threads.x);                 \
  }

NATTEN_FUSED_KERNELS(f32, float)
NATTEN_FUSED_KERNELS(f16, half)
NATTEN_FUSED_KERNELS(bf16, natten_bf16)
