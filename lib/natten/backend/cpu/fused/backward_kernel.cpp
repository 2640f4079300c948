// Fused backward kernels (see backward.cpp for the passes). Every pass recomputes the scores it
// needs from Q, K and the forward's logsumexp (P = exp(S - lse)), so nothing of the attention
// matrix is stored beyond one pass of one tile:
//   query pass  dQ = scale * sum_k dS K, over each query's window;
//   key pass    dV = sum_q P dO and dK = scale * sum_q dS Q, over each key's inverse window;
//   extra pass  the same for additional KV tokens, over every query of the kv group;
// with dS = P * (dO . V - delta). Queries are loaded pre-multiplied by `scale`, which gives both
// the scaled scores and dK's factor.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "natten/backend/cpu/fused/backward_kernel.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "natten/backend/cpu/common/dispatch.hpp"
#include "natten/backend/cpu/fused/kernels.hpp"
#include "natten/backend/cpu/common/simd-inl.h"
#include "natten/backend/cpu/fused/row_kernels-inl.h"
#include "natten/backend/cpu/fused/tile_io-inl.h"
#include "natten/backend/cpu/fused/unit_skeleton-inl.h"
#include "natten/backend/cpu/fused/windows.hpp"

// The passes' entries (common/dispatch.hpp): name, template, public function, parameters, arguments.
#define NATTEN_CPU_BACKWARD_KERNELS(X)                                                                       \
  X(DeltaRows, DeltaRowsT, backward_delta_rows,                                                             \
    (const BackwardArgs& a, std::int64_t batch, std::int64_t first, std::int64_t count, Workspace& ws),     \
    (a, batch, first, count, ws))                                                                           \
  X(QueryUnit, QueryUnitT, backward_query_unit,                                                             \
    (const BackwardArgs& a, const UnitGeom& u, std::int64_t batch, Workspace& ws), (a, u, batch, ws))       \
  X(KeyUnit, KeyUnitT, backward_key_unit,                                                                   \
    (const BackwardArgs& a, const UnitGeom& u, std::int64_t batch, Workspace& ws), (a, u, batch, ws))       \
  X(ExtraKvUnit, ExtraKvUnitT, backward_extra_kv_unit,                                                      \
    (const BackwardArgs& a, std::int64_t batch, int kvh, std::int64_t token, Workspace& ws),                \
    (a, batch, kvh, token, ws))

HWY_BEFORE_NAMESPACE();
namespace natten::cpu::HWY_NAMESPACE {
namespace {

// Workspace slots after the plan's (unit_skeleton-inl.h); kSlotCount is their number
// (workspace.hpp checks it fits).
enum Slot {
  kHaloA = kFirstUnitSlot, kHaloB, kHaloLse, kHaloDelta,  // halo rows (K, V or scaled Q, dO) and per-row stats
  kTileA, kTileB, kGradA, kGradB,                         // the tile's own rows and their gradients
  kProb, kGrad, kPairLse, kPairDelta,                     // per pair: P (or scores), dS (or dP), lse, delta
  kZero, kColA, kColB, kTileColA, kTileColB, kVecProb, kVecGrad, kVecAccA, kVecAccB, kTileStats, kSlotCount
};

// Keys per block row and chunk of a vector run (P and dS: this many vectors each).
constexpr int kVecKeys = 192;

template <typename T>
void DeltaRowsT(const BackwardArgs& A, std::int64_t b, std::int64_t first, std::int64_t count, Workspace& ws) {
  const Extents& e = A.e;
  const std::size_t dvp = padded(e.dim_v);
  float* o = ws.floats(kTileA, dvp);
  float* g = ws.floats(kTileB, dvp);
  for (std::int64_t t = first; t < first + count; ++t) {
    for (int h = 0; h < e.heads_q; ++h) {
      const std::int64_t row = (b * e.tokens + t) * e.heads_q + h;
      LoadRow(static_cast<const T*>(A.output) + row * e.dim_v, e.dim_v, 1.0f, o);
      LoadRow(static_cast<const T*>(A.d_output) + row * e.dim_v, e.dim_v, 1.0f, g);
      A.delta[row] = DotRow(o, g, dvp);
    }
  }
}

// Windows below this many keys (1D with small K) keep the pair-list path in the backward: there
// the dim-major copies of four tensors per pass cost more than the FMAs they feed (measured: 1D
// L=256 K=7 backward 243 us with vector runs, 192 us without).
constexpr int kMinVectorWindow = 16;

// Per (token, head) floats of the box's positions, then zeros up to `count` (lanes past a run).
inline void LoadScalarsPadded(const float* src, const Extents& e, const UnitGeom& u, const Box& box, std::int64_t b,
                              int h, std::size_t rows, std::size_t count, float* dst) {
  LoadBoxScalars(src, e, u, box, b, h, dst);
  for (std::size_t i = rows; i < count; ++i) dst[i] = 0.0f;
}

// Scratch of the vector runs of one row block (dim-major copies, see simd-inl.h "columns").
struct RunScratch {
  float* prob[kMaxBlockRows];   // per block row, kVecKeys vectors: scores, then P
  float* grad[kMaxBlockRows];   // per block row, kVecKeys vectors: dP, then dS
  float* acc_a[kMaxBlockRows];  // per block row, dim vectors: dQ or dK of its lanes
  float* acc_b[kMaxBlockRows];  // per block row, dim_v vectors: dV of its lanes
};
inline RunScratch MakeRunScratch(const Extents& e, Workspace& ws) {
  const std::size_t keys = static_cast<std::size_t>(kVecKeys) * kLanes;
  const std::size_t da = static_cast<std::size_t>(e.dim) * kLanes, db = static_cast<std::size_t>(e.dim_v) * kLanes;
  float* prob = ws.floats(kVecProb, kBlockRows * keys);
  float* grad = ws.floats(kVecGrad, kBlockRows * keys);
  float* acc_a = ws.floats(kVecAccA, kBlockRows * da);
  float* acc_b = ws.floats(kVecAccB, kBlockRows * db);
  RunScratch rs{};
  for (int r = 0; r < kBlockRows; ++r) {
    const std::size_t i = static_cast<std::size_t>(r);
    rs.prob[r] = prob + i * keys;
    rs.grad[r] = grad + i * keys;
    rs.acc_a[r] = acc_a + i * da;
    rs.acc_b[r] = acc_b + i * db;
  }
  return rs;
}

// Zeroes the first `dim` vectors of each block row's accumulator.
inline void ZeroBlockAcc(float* const* acc, int rows, int dim) {
  for (int r = 0; r < rows; ++r) ZeroRows(acc[r], static_cast<std::size_t>(dim) * kLanes);
}

// One chunk's backward softmax step for a block row, P and dS in place of scores and dP (n
// vectors): P = exp(S - lse), dS = P * (dP - delta), lse and delta per lane (the row's own).
HWY_INLINE void RowProbAndGrad(float* s, float* dp, int n, VF lse, VF delta) {
  const DF d;
  for (int i = 0; i < n; ++i) {
    float* si = s + static_cast<std::size_t>(i) * kLanes;
    float* gi = dp + static_cast<std::size_t>(i) * kLanes;
    const VF p = ExpNonPositive(hn::Sub(hn::Load(d, si), lse));
    hn::Store(p, d, si);
    hn::Store(hn::Mul(p, hn::Sub(hn::Load(d, gi), delta)), d, gi);
  }
}

// The key pass's step: there the lanes are keys, and each (key row, x) is a query of the halo whose
// lse and delta come from the halo's per-position scalars at the run's shifted (permuted) offset.
// Masked runs (LaneRun::masked) zero P and dS where step t = t0 + x is outside a lane's window
// [lo, hi) (lo, hi, t0: per-lane vectors and the chunk's first step).
struct StepMask {
  VFSlot lo, hi;
  int t0;
};
template <bool kPerm, bool kMask>
HWY_INLINE void ChunkProbAndGradT(const BlockChunk& ch, int key_rows, const float* lse, const float* delta,
                                  std::size_t halo_row, const LaneIndices& perm, const StepMask& mask, float* const* s,
                                  float* const* dp) {
  const DF d;
  for (int u = 0; u < key_rows; ++u) {
    const KeyRow& kr = ch.key_row[u];
    const std::ptrdiff_t at = static_cast<std::ptrdiff_t>(kr.row) * static_cast<std::ptrdiff_t>(halo_row) + ch.lane0;
    for (int x = 0; x < ch.keys; ++x) {
      const VF l = ShiftedLoad<kPerm>(lse + at + x, perm);
      const VF dl = ShiftedLoad<kPerm>(delta + at + x, perm);
      auto valid = hn::Eq(l, l);
      if constexpr (kMask) {
        const VF t = hn::Set(d, static_cast<float>(mask.t0 + x));
        valid = hn::And(hn::Ge(t, static_cast<VF>(mask.lo)), hn::Lt(t, static_cast<VF>(mask.hi)));
      }
      for (int r = kr.lo; r < kr.hi; ++r) {
        const std::size_t i = ChunkIndex(ch, kr, r, x) * kLanes;
        VF p = ExpNonPositive(hn::Sub(hn::Load(d, s[r] + i), l));
        if constexpr (kMask) p = hn::IfThenElseZero(valid, p);
        hn::Store(p, d, s[r] + i);
        hn::Store(hn::Mul(p, hn::Sub(hn::Load(d, dp[r] + i), dl)), d, dp[r] + i);
      }
    }
  }
}

// dQ of one vector run of a row block of queries (lanes = consecutive positions along the lane
// axis with shifted windows; windows over the other axes from the block's key rows).
template <typename T>
void QueryBlock(const BackwardArgs& A, const UnitGeom& u, std::int64_t b, int h, const RowBlock& rb,
                const KeyRow* kr, const LaneRun& run, const float* qc, const float* doc, std::size_t ldq,
                const float* kc, const float* vc, std::size_t ldk, const float* tlse, const float* tdelta,
                const RunScratch& rs) {
  const Extents& e = A.e;
  const DF d;
  const LaneIndices perm = lane_indices(run.lane_of);
  const LaneIndices* pp = run.shifted ? nullptr : &perm;
  const int la = lane_axis(u);
  const int row_length = u.tile_extent(la);
  const NattenRange wx = innermost_window(u, TileSide::queries, run.begin);
  const std::size_t halo_row = static_cast<std::size_t>(u.halo_extent(la));
  const BlockRowColumns rc = RowColumns(rb, row_length, run.begin, qc, doc);  // queries, dO
  const int* entry = rc.entry;
  ZeroBlockAcc(rs.acc_a, rb.rows, e.dim);
  ForChunks(rb, kr, wx.start - u.ax[la].halo_begin, wx.end - wx.start, kVecKeys,
            [&](const BlockChunk& ch, int key_rows, const int* rows_read) {
              ChunkDots(ch, key_rows, rc.a, ldq, kc, ldk, halo_row, e.dim, pp, rs.prob);
              ChunkDots(ch, key_rows, rc.b, ldq, vc, ldk, halo_row, e.dim_v, pp, rs.grad);
              for (int r = 0; r < rb.rows; ++r) {
                RowProbAndGrad(rs.prob[r], rs.grad[r], rows_read[r] * ch.keys, hn::LoadU(d, tlse + entry[r]),
                               hn::LoadU(d, tdelta + entry[r]));
              }
              ChunkAccumulate(ch, key_rows, rb.rows, rs.grad, kc, ldk, halo_row, e.dim, pp, rs.acc_a);
            });
  HWY_ALIGN float scale[kLanes];
  hn::Store(hn::Set(d, e.scale), d, scale);
  const std::int64_t row_step = lane_token_step(e, u) * e.heads_q * e.dim;
  for (int r = 0; r < rb.rows; ++r) {
    ColumnsToRows<false>(rs.acc_a[r], e.dim, scale, run.lanes,
                         static_cast<T*>(A.d_query) + TileRow(e, u, b, entry[r], h, e.heads_q) * e.dim, row_step);
  }
}

// dK and dV of one vector run of a row block of keys (lanes = consecutive positions along the lane
// axis with shifted inverse windows) for one query head, added into the tile's gradient rows.
inline void KeyBlock(const Extents& e, const UnitGeom& u, const RowBlock& rb, const KeyRow* kr, const LaneRun& run,
                     const float* kc, const float* vc, std::size_t ldt, const float* qc, const float* doc,
                     std::size_t ldh, const float* lseh, const float* delh, const RunScratch& rs, float* dkbuf,
                     std::size_t dp, float* dvbuf, std::size_t dvp) {
  const DF d;
  const LaneIndices perm = lane_indices(run.lane_of);
  const int la = lane_axis(u);
  const int row_length = u.tile_extent(la);
  // The lane-0 window along the lane axis (halo-relative start, steps); masked runs span the union.
  const NattenRange wx = innermost_window(u, TileSide::keys, run.begin);
  const int lane0 = run.masked ? u.ax[la].begin + run.begin + run.first - u.ax[la].halo_begin
                               : wx.start - u.ax[la].halo_begin;
  const int steps = run.masked ? run.steps : wx.end - wx.start;
  if (steps <= 0) return;
  StepMask mask{hn::Zero(d), hn::Zero(d), 0};
  if (run.masked) {
    HWY_ALIGN float lo[kLanes], hi[kLanes];
    for (std::size_t l = 0; l < kLanes; ++l) {
      lo[l] = static_cast<float>(run.lo[l]);
      hi[l] = static_cast<float>(run.hi[l]);
    }
    mask.lo = hn::Load(d, lo);
    mask.hi = hn::Load(d, hi);
  }
  const std::size_t halo_row = static_cast<std::size_t>(u.halo_extent(la));
  const BlockRowColumns rc = RowColumns(rb, row_length, run.begin, kc, vc);  // keys, values
  const int* entry = rc.entry;
  ZeroBlockAcc(rs.acc_a, rb.rows, e.dim);
  ZeroBlockAcc(rs.acc_b, rb.rows, e.dim_v);
  ForChunks(rb, kr, lane0, steps, kVecKeys,
            [&](const BlockChunk& ch, int key_rows, const int*) {
              const LaneIndices* pp = run.shifted ? nullptr : &perm;
              ChunkDots(ch, key_rows, rc.a, ldt, qc, ldh, halo_row, e.dim, pp, rs.prob);
              ChunkDots(ch, key_rows, rc.b, ldt, doc, ldh, halo_row, e.dim_v, pp, rs.grad);
              StepMask m = mask;
              m.t0 = ch.lane0 - lane0;
              if (run.masked) {
                ChunkProbAndGradT<false, true>(ch, key_rows, lseh, delh, halo_row, perm, m, rs.prob, rs.grad);
              } else if (run.shifted) {
                ChunkProbAndGradT<false, false>(ch, key_rows, lseh, delh, halo_row, perm, m, rs.prob, rs.grad);
              } else {
                ChunkProbAndGradT<true, false>(ch, key_rows, lseh, delh, halo_row, perm, m, rs.prob, rs.grad);
              }
              ChunkAccumulate(ch, key_rows, rb.rows, rs.prob, doc, ldh, halo_row, e.dim_v, pp, rs.acc_b);
              ChunkAccumulate(ch, key_rows, rb.rows, rs.grad, qc, ldh, halo_row, e.dim, pp, rs.acc_a);
            });
  HWY_ALIGN float one[kLanes];
  hn::Store(hn::Set(d, 1.0f), d, one);
  for (int r = 0; r < rb.rows; ++r) {
    ColumnsToRows<true>(rs.acc_a[r], e.dim, one, run.lanes, dkbuf + static_cast<std::size_t>(entry[r]) * dp,
                        static_cast<std::int64_t>(dp));
    ColumnsToRows<true>(rs.acc_b[r], e.dim_v, one, run.lanes, dvbuf + static_cast<std::size_t>(entry[r]) * dvp,
                        static_cast<std::int64_t>(dvp));
  }
}

// dQ of one query tile on the pass loop of unit_skeleton-inl.h: the halo's keys and values per
// kv head, the tile's queries, dO, lse and delta per head.
template <typename T>
struct QueryUnit : UnitBase<BackwardArgs> {
  HaloKeysValues kv;
  // General path: the general queries' Q, dO, dQ rows and (lse, delta), one pass of P, dS and the
  // pairs' lse and delta. Vector runs: the tile's dim-major Q / dO, its lse then delta.
  float *qbuf, *dobuf, *dqbuf, *qstats, *prob, *grad, *pair_lse, *pair_delta, *zero;
  std::size_t ldq;
  float *qc = nullptr, *doc = nullptr, *tlse = nullptr;
  RunScratch rs{};

  QueryUnit(const BackwardArgs& args, const UnitGeom& unit, std::int64_t batch, const UnitPlan& plan, Workspace& ws)
      : UnitBase(args, unit, batch, plan), kv(*this, kHaloA, kHaloB, kColA, kColB, ws) {
    const std::size_t general = static_cast<std::size_t>(p.split.general);
    qbuf = ws.floats(kTileA, general * dp);
    dobuf = ws.floats(kTileB, general * dvp);
    dqbuf = ws.floats(kGradA, general * dp);
    qstats = ws.floats(kGradB, 2 * general);  // lse, delta per query
    prob = ws.floats(kProb, kPairBudget);
    grad = ws.floats(kGrad, kPairBudget);
    pair_lse = ws.floats(kPairLse, kPairBudget);
    pair_delta = ws.floats(kPairDelta, kPairBudget);
    zero = ws.floats(kZero, std::max(dp, dvp));
    ZeroRows(zero, std::max(dp, dvp));
    ldq = column_stride(static_cast<std::size_t>(u.tile_size()));
    if (p.split.runs > 0) {
      qc = ws.floats(kTileColA, static_cast<std::size_t>(e.dim) * ldq);
      doc = ws.floats(kTileColB, static_cast<std::size_t>(e.dim_v) * ldq);
      tlse = ws.floats(kTileStats, 2 * ldq);  // lse, then delta, per tile entry
      rs = MakeRunScratch(e, ws);
    }
  }

  void kv_head(int kvh) { kv.load<T>(*this, kvh); }
  void head(int) {}
  void run_columns(int h) {
    const std::size_t tile = static_cast<std::size_t>(u.tile_size());
    LoadBoxColumns<T>(A.query, e, u, tile_box(u), b, h, e.heads_q, e.dim, e.scale, qc, ldq);
    LoadBoxColumns<T>(A.d_output, e, u, tile_box(u), b, h, e.heads_q, e.dim_v, 1.0f, doc, ldq);
    LoadScalarsPadded(A.lse, e, u, tile_box(u), b, h, tile, ldq, tlse);
    LoadScalarsPadded(A.delta, e, u, tile_box(u), b, h, tile, ldq, tlse + ldq);
  }
  void block(int h, const RowBlock& rb, const KeyRow* kr, const LaneRun& run) {
    QueryBlock<T>(A, u, b, h, rb, kr, run, qc, doc, ldq, kv.key_cols, kv.value_cols, kv.ld, tlse, tlse + ldq, rs);
  }
  void general(int h) {
    const int general = p.split.general;
    for (int s = 0; s < general; ++s) {
      const std::int64_t row = TileRow(e, u, b, p.split.entries[s], h, e.heads_q);
      LoadRow(static_cast<const T*>(A.query) + row * e.dim, e.dim, e.scale, qbuf + static_cast<std::size_t>(s) * dp);
      LoadRow(static_cast<const T*>(A.d_output) + row * e.dim_v, e.dim_v, 1.0f,
              dobuf + static_cast<std::size_t>(s) * dvp);
      qstats[2 * s] = A.lse[row];
      qstats[2 * s + 1] = A.delta[row];
    }
    ZeroRows(dqbuf, static_cast<std::size_t>(general) * dp);
    ForEachPass(p, [&](int p0, int p1) {
      DotPairs(qbuf, p.slot, kv.key_rows, p.other, dp, p0, p1, zero, prob);
      DotPairs(dobuf, p.slot, kv.value_rows, p.other, dvp, p0, p1, zero, grad);
      for (int i = p0; i < p1; ++i) {
        pair_lse[i - p0] = qstats[2 * p.slot[i]];
        pair_delta[i - p0] = qstats[2 * p.slot[i] + 1];
      }
      ProbAndGrad(prob, grad, pair_lse, pair_delta, static_cast<std::size_t>(p1 - p0));
      for (int s = p.slot[p0]; s <= p.slot[p1 - 1]; ++s) {
        const int lo = std::max(p.seg[s], p0);
        const int hi = std::min(p.seg[s + 1], p1);
        AccumulateRows(dqbuf + static_cast<std::size_t>(s) * dp, grad + (lo - p0), p.other + lo,
                       static_cast<std::size_t>(hi - lo), kv.key_rows, dp, dp);
      }
    });
    for (int s = 0; s < general; ++s) {
      const std::int64_t row = TileRow(e, u, b, p.split.entries[s], h, e.heads_q);
      StoreRow(dqbuf + static_cast<std::size_t>(s) * dp, e.dim, e.scale, static_cast<T*>(A.d_query) + row * e.dim);
    }
  }
  void kv_head_done(int) {}
};

template <typename T>
void QueryUnitT(const BackwardArgs& A, const UnitGeom& u, std::int64_t b, Workspace& ws) {
  // Interior queries run as vectors across positions; the others (borders, stride, additional KV)
  // take the general path over pair lists.
  const int extra = static_cast<int>(A.e.extra_kv);
  const UnitPlan plan = PlanUnit(u, {TileSide::queries, extra == 0, kMinVectorWindow, false, extra}, ws);
  QueryUnit<T> unit(A, u, b, plan, ws);
  RunUnit(A.e, plan, unit);
}

// Floats a key tile's masked runs read before the first and past the last halo row (their steps
// start before a lane's own window; values read there are masked out, but must be finite memory).
struct MaskedPads {
  std::size_t before = 0, after = 0;
};
inline MaskedPads MaskedRunPads(const UnitGeom& u, const TileSplit& split) {
  const int la = lane_axis(u);
  const int row = u.halo_extent(la);
  int lo = 0, hi = row;
  for (int i = 0; i < split.runs; ++i) {
    const LaneRun& run = split.run[i];
    if (!run.masked) continue;
    const int start = u.ax[la].begin + run.begin + run.first - u.ax[la].halo_begin;
    lo = std::min(lo, start);
    hi = std::max(hi, start + run.steps + static_cast<int>(kLanes));
  }
  return {static_cast<std::size_t>(-lo), static_cast<std::size_t>(hi - row)};
}

// dK and dV of one key tile on the pass loop of unit_skeleton-inl.h: the tile's keys and values
// and its gradients per kv head; per query head of the group, the queries attending the tile (the
// halo's Q, dO, lse and delta), gathered over each key's inverse window.
template <typename T>
struct KeyUnit : UnitBase<BackwardArgs> {
  std::size_t hrows;
  int tile;
  // The halo's columns (and lse, delta) get room before (`front`) and after for masked runs' loads.
  std::size_t ldh, front, ldt;
  // Halo Q / dO rows (general path), halo lse / delta; the general keys' K / V rows; dK / dV of
  // every tile entry; one pass of P, dS and the pairs' lse and delta.
  float *qh, *doh, *lseh, *delh, *kbuf, *vbuf, *dkbuf, *dvbuf, *prob, *grad, *pair_lse, *pair_delta, *zero;
  // Vector runs: dim-major tile K / V and halo Q / dO.
  float *kc = nullptr, *vc = nullptr, *qc = nullptr, *doc = nullptr;
  RunScratch rs{};

  KeyUnit(const BackwardArgs& args, const UnitGeom& unit, std::int64_t batch, const UnitPlan& plan, Workspace& ws)
      : UnitBase(args, unit, batch, plan), hrows(static_cast<std::size_t>(u.halo_size())),
        tile(static_cast<int>(u.tile_size())) {
    const MaskedPads pads = MaskedRunPads(u, p.split);
    ldh = column_stride(hrows + pads.after);
    front = (pads.before + kLanes - 1) / kLanes * kLanes;
    ldt = column_stride(static_cast<std::size_t>(tile));
    const std::size_t general = static_cast<std::size_t>(p.split.general);
    qh = ws.floats(kHaloA, hrows * dp);
    doh = ws.floats(kHaloB, hrows * dvp);
    lseh = ws.floats(kHaloLse, front + ldh) + front;
    delh = ws.floats(kHaloDelta, front + ldh) + front;
    ZeroRows(lseh - front, front);
    ZeroRows(delh - front, front);
    kbuf = ws.floats(kTileA, general * dp);
    vbuf = ws.floats(kTileB, general * dvp);
    dkbuf = ws.floats(kGradA, static_cast<std::size_t>(tile) * dp);  // every tile entry
    dvbuf = ws.floats(kGradB, static_cast<std::size_t>(tile) * dvp);
    prob = ws.floats(kProb, kPairBudget);
    grad = ws.floats(kGrad, kPairBudget);
    pair_lse = ws.floats(kPairLse, kPairBudget);
    pair_delta = ws.floats(kPairDelta, kPairBudget);
    zero = ws.floats(kZero, std::max(dp, dvp));
    ZeroRows(zero, std::max(dp, dvp));
    if (p.split.runs > 0) {
      kc = ws.floats(kTileColA, static_cast<std::size_t>(e.dim) * ldt);
      vc = ws.floats(kTileColB, static_cast<std::size_t>(e.dim_v) * ldt);
      qc = ws.floats(kColA, front + static_cast<std::size_t>(e.dim) * ldh) + front;
      doc = ws.floats(kColB, front + static_cast<std::size_t>(e.dim_v) * ldh) + front;
      ZeroRows(qc - front, front);
      ZeroRows(doc - front, front);
      rs = MakeRunScratch(e, ws);
    }
  }

  void kv_head(int kvh) {
    for (int s = 0; s < p.split.general; ++s) {
      const std::int64_t row = TileRow(e, u, b, p.split.entries[s], kvh, e.heads_kv);
      LoadRow(static_cast<const T*>(A.key) + row * e.dim, e.dim, 1.0f, kbuf + static_cast<std::size_t>(s) * dp);
      LoadRow(static_cast<const T*>(A.value) + row * e.dim_v, e.dim_v, 1.0f, vbuf + static_cast<std::size_t>(s) * dvp);
    }
    if (p.split.runs > 0) {
      LoadBoxColumns<T>(A.key, e, u, tile_box(u), b, kvh, e.heads_kv, e.dim, 1.0f, kc, ldt);
      LoadBoxColumns<T>(A.value, e, u, tile_box(u), b, kvh, e.heads_kv, e.dim_v, 1.0f, vc, ldt);
    }
    ZeroRows(dkbuf, static_cast<std::size_t>(tile) * dp);
    ZeroRows(dvbuf, static_cast<std::size_t>(tile) * dvp);
  }
  void head(int h) {
    LoadScalarsPadded(A.lse, e, u, halo_box(u), b, h, hrows, ldh, lseh);
    LoadScalarsPadded(A.delta, e, u, halo_box(u), b, h, hrows, ldh, delh);
  }
  void run_columns(int h) {
    LoadBoxColumns<T>(A.query, e, u, halo_box(u), b, h, e.heads_q, e.dim, e.scale, qc, ldh);
    LoadBoxColumns<T>(A.d_output, e, u, halo_box(u), b, h, e.heads_q, e.dim_v, 1.0f, doc, ldh);
  }
  void block(int, const RowBlock& rb, const KeyRow* kr, const LaneRun& run) {
    KeyBlock(e, u, rb, kr, run, kc, vc, ldt, qc, doc, ldh, lseh, delh, rs, dkbuf, dp, dvbuf, dvp);
  }
  void general(int h) {
    LoadBoxRows<T>(A.query, e, u, halo_box(u), b, h, e.heads_q, e.dim, e.scale, qh, p.needed);
    LoadBoxRows<T>(A.d_output, e, u, halo_box(u), b, h, e.heads_q, e.dim_v, 1.0f, doh, p.needed);
    ForEachPass(p, [&](int p0, int p1) {
      DotPairs(kbuf, p.slot, qh, p.other, dp, p0, p1, zero, prob);
      DotPairs(vbuf, p.slot, doh, p.other, dvp, p0, p1, zero, grad);
      for (int i = p0; i < p1; ++i) {
        pair_lse[i - p0] = lseh[p.other[i]];
        pair_delta[i - p0] = delh[p.other[i]];
      }
      ProbAndGrad(prob, grad, pair_lse, pair_delta, static_cast<std::size_t>(p1 - p0));
      for (int s = p.slot[p0]; s <= p.slot[p1 - 1]; ++s) {
        const int lo = std::max(p.seg[s], p0);
        const int hi = std::min(p.seg[s + 1], p1);
        const std::size_t n = static_cast<std::size_t>(hi - lo);
        const std::size_t entry = static_cast<std::size_t>(p.split.entries[s]);
        AccumulateRows(dvbuf + entry * dvp, prob + (lo - p0), p.other + lo, n, doh, dvp, dvp);
        AccumulateRows(dkbuf + entry * dp, grad + (lo - p0), p.other + lo, n, qh, dp, dp);
      }
    });
  }
  void kv_head_done(int kvh) {
    for (int s = 0; s < tile; ++s) {
      const std::int64_t row = TileRow(e, u, b, s, kvh, e.heads_kv);
      StoreRow(dkbuf + static_cast<std::size_t>(s) * dp, e.dim, 1.0f, static_cast<T*>(A.d_key) + row * e.dim);
      StoreRow(dvbuf + static_cast<std::size_t>(s) * dvp, e.dim_v, 1.0f, static_cast<T*>(A.d_value) + row * e.dim_v);
    }
  }
};

template <typename T>
void KeyUnitT(const BackwardArgs& A, const UnitGeom& u, std::int64_t b, Workspace& ws) {
  // Interior keys run as vectors across positions (their inverse windows are shifted copies; masked
  // runs near borders, where inverse windows change size: K=7, 64 columns: 14 columns); the others
  // take the general path over pair lists.
  const UnitPlan plan = PlanUnit(u, {TileSide::keys, true, kMinVectorWindow, true, 0}, ws);
  KeyUnit<T> unit(A, u, b, plan, ws);
  RunUnit(A.e, plan, unit);
}

template <typename T>
void ExtraKvUnitT(const BackwardArgs& A, std::int64_t b, int kvh, std::int64_t token, Workspace& ws) {
  const Extents& e = A.e;
  const std::size_t dp = padded(e.dim), dvp = padded(e.dim_v);
  const std::int64_t kv_row = (b * e.extra_kv + token) * e.heads_kv + kvh;
  float* kv = ws.floats(kTileA, dp + dvp);  // this token's key row, then its value row
  float* grads = ws.floats(kGradA, dp + dvp);
  LoadRow(static_cast<const T*>(A.additional_key) + kv_row * e.dim, e.dim, 1.0f, kv);
  LoadRow(static_cast<const T*>(A.additional_value) + kv_row * e.dim_v, e.dim_v, 1.0f, kv + dp);
  ZeroRows(grads, dp + dvp);

  // Queries in chunks of kChunk tokens; every pair shares the one key/value row.
  constexpr int kChunk = 256;
  float* qbuf = ws.floats(kHaloA, kChunk * dp);
  float* dobuf = ws.floats(kHaloB, kChunk * dvp);
  float* lse = ws.floats(kPairLse, kChunk);
  float* delta = ws.floats(kPairDelta, kChunk);
  float* prob = ws.floats(kProb, kChunk);
  float* grad = ws.floats(kGrad, kChunk);
  int* iota = ws.ints(PlanSlot::kPairSlot, kChunk);
  int* same = ws.ints(PlanSlot::kPairOther, kChunk);
  for (int i = 0; i < kChunk; ++i) {
    iota[i] = i;
    same[i] = 0;
  }
  float* zero = ws.floats(kZero, std::max(dp, dvp));
  ZeroRows(zero, std::max(dp, dvp));

  for (int gh = 0; gh < e.group(); ++gh) {
    const int h = kvh * e.group() + gh;
    for (std::int64_t t0 = 0; t0 < e.tokens; t0 += kChunk) {
      const int n = static_cast<int>(std::min<std::int64_t>(kChunk, e.tokens - t0));
      for (int i = 0; i < n; ++i) {
        const std::int64_t row = (b * e.tokens + t0 + i) * e.heads_q + h;
        LoadRow(static_cast<const T*>(A.query) + row * e.dim, e.dim, e.scale, qbuf + static_cast<std::size_t>(i) * dp);
        LoadRow(static_cast<const T*>(A.d_output) + row * e.dim_v, e.dim_v, 1.0f,
                dobuf + static_cast<std::size_t>(i) * dvp);
        lse[i] = A.lse[row];
        delta[i] = A.delta[row];
      }
      DotPairs(qbuf, iota, kv, same, dp, 0, n, zero, prob);
      DotPairs(dobuf, iota, kv + dp, same, dvp, 0, n, zero, grad);
      ProbAndGrad(prob, grad, lse, delta, static_cast<std::size_t>(n));
      AccumulateRows(grads + dp, prob, iota, static_cast<std::size_t>(n), dobuf, dvp, dvp);
      AccumulateRows(grads, grad, iota, static_cast<std::size_t>(n), qbuf, dp, dp);
    }
  }
  StoreRow(grads, e.dim, 1.0f, static_cast<T*>(A.d_additional_key) + kv_row * e.dim);
  StoreRow(grads + dp, e.dim_v, 1.0f, static_cast<T*>(A.d_additional_value) + kv_row * e.dim_v);
}

NATTEN_CPU_BACKWARD_KERNELS(NATTEN_CPU_DTYPE_ENTRIES)

}  // namespace
}  // namespace natten::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace natten::cpu {

NATTEN_CPU_BACKWARD_KERNELS(NATTEN_CPU_DTYPE_DISPATCH)

}  // namespace natten::cpu
#endif
