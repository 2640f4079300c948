// Fused forward kernel: one tile of queries against its key/value halo, online softmax.
//
// Per unit (a spatial tile of one batch element, all heads), the tile's positions are split once
// (windows.hpp) into vector runs and general queries. Vector runs (almost every query without
// additional KV) vectorize ACROSS queries along the lane axis: dim-major copies of the tile's
// queries (per head) and of the halo's keys and values (per kv head, shared by the GQA group),
// scores as FMAs with shifted loads, softmax per lane, P.V as FMAs with shifted loads, three tile
// rows at a time so each shifted load feeds three rows (ForwardBlock, row_kernels-inl.h).
// General queries use pair lists along the head dim: the pairs' dot products are computed in full
// SIMD batches across query boundaries (simd-inl.h), then each query folds its scores into a
// running max, sum and output. Both bound memory by the tile and its halo (windows larger than a
// chunk or pass are split, online softmax), never by the attention matrix.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "natten/backend/cpu/fused/forward_kernel.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "natten/backend/cpu/common/dispatch.hpp"
#include "natten/backend/cpu/fused/kernels.hpp"
#include "natten/backend/cpu/common/simd-inl.h"
#include "natten/backend/cpu/fused/row_kernels-inl.h"
#include "natten/backend/cpu/fused/tile_io-inl.h"
#include "natten/backend/cpu/fused/unit_skeleton-inl.h"
#include "natten/backend/cpu/fused/windows.hpp"

// The kernel's entry (common/dispatch.hpp): name, template, public function, parameters, arguments.
#define NATTEN_CPU_FORWARD_KERNELS(X)                                                                       \
  X(Forward, ForwardUnitT, forward_unit,                                                                   \
    (const ForwardArgs& a, const UnitGeom& u, std::int64_t batch, Workspace& ws), (a, u, batch, ws))

HWY_BEFORE_NAMESPACE();
namespace natten::cpu::HWY_NAMESPACE {
namespace {

// Workspace slots after the plan's (unit_skeleton-inl.h); kSlotCount is their number
// (workspace.hpp checks it fits).
enum Slot {
  kKeys = kFirstUnitSlot, kValues, kQueries, kOutputs, kStats, kScores, kZero, kKeyCols, kValueCols, kQueryCols,
  kVecScores, kVecOut, kSlotCount
};

// Keys per row and chunk of a row block's vector runs (scores: this many vectors per block row;
// larger windows run in chunks with the usual online-softmax rescaling).
constexpr int kVecKeys = 192;

// One vector run of a row block: lanes = queries run.begin .. + run.lanes - 1 of each block row,
// whose windows along the lane axis are one interval shifted by a position per lane (permuted
// at borders). Online softmax per lane over the block's chunks; writes output and lse.
template <typename T>
void ForwardBlock(const ForwardArgs& A, const UnitGeom& u, std::int64_t b, int h, const RowBlock& rb, const KeyRow* kr,
                  const LaneRun& run, const float* qc, std::size_t ldq, const float* kc, const float* vc,
                  std::size_t ldk, float* sc, float* oc) {
  const Extents& e = A.e;
  const DF d;
  const LaneIndices perm = lane_indices(run.lane_of);
  const LaneIndices* pp = run.shifted ? nullptr : &perm;
  const NattenRange wx = innermost_window(u, TileSide::queries, run.begin);
  const int la = lane_axis(u);
  const int row_length = u.tile_extent(la);
  const BlockRowColumns rc = RowColumns(rb, row_length, run.begin, qc, nullptr);  // queries
  float* s[kMaxBlockRows] = {};
  float* o[kMaxBlockRows] = {};
  VFSlot m[kMaxBlockRows], l[kMaxBlockRows];
  bool started[kMaxBlockRows] = {};  // a chunk of the row's keys has been folded in
  for (int r = 0; r < rb.rows; ++r) {
    s[r] = sc + static_cast<std::size_t>(r) * kVecKeys * kLanes;
    o[r] = oc + static_cast<std::size_t>(r) * static_cast<std::size_t>(e.dim_v) * kLanes;
    m[r] = hn::Set(d, -std::numeric_limits<float>::infinity());
    l[r] = hn::Zero(d);
  }
  // Key rows are halo rows of halo_extent(la) positions (lane positions relative to halo_begin).
  const std::size_t halo_row = static_cast<std::size_t>(u.halo_extent(la));
  ForChunks(rb, kr, wx.start - u.ax[la].halo_begin, wx.end - wx.start, kVecKeys,
            [&](const BlockChunk& ch, int key_rows, const int* rows_read) {
              HWY_ALIGN float chunk_max[kMaxBlockRows * kLanes];
              for (int r = 0; r < rb.rows; ++r) hn::Store(m[r], d, chunk_max + static_cast<std::size_t>(r) * kLanes);
              ChunkDots(ch, key_rows, rc.a, ldq, kc, ldk, halo_row, e.dim, pp, s, chunk_max);
              for (int r = 0; r < rb.rows; ++r) {
                const int n = rows_read[r] * ch.keys;
                if (n == 0) continue;
                float* sr = s[r];
                const VF mn = hn::Load(d, chunk_max + static_cast<std::size_t>(r) * kLanes);
                VF sum = hn::Zero(d);
                for (int i = 0; i < n; ++i) {
                  float* si = sr + static_cast<std::size_t>(i) * kLanes;
                  const VF p = ExpNonPositive(hn::Sub(hn::Load(d, si), mn));
                  hn::Store(p, d, si);
                  sum = hn::Add(sum, p);
                }
                const bool fresh = !started[r];
                started[r] = true;
                const VF alpha = fresh ? hn::Zero(d) : ExpNonPositive(hn::Sub(m[r], mn));
                if (fresh) {
                  ZeroRows(o[r], static_cast<std::size_t>(e.dim_v) * kLanes);
                } else {
                  for (int c = 0; c < e.dim_v; ++c) {
                    float* oc_c = o[r] + static_cast<std::size_t>(c) * kLanes;
                    hn::Store(hn::Mul(hn::Load(d, oc_c), alpha), d, oc_c);
                  }
                }
                l[r] = hn::MulAdd(l[r], alpha, sum);
                m[r] = mn;
              }
              ChunkAccumulate(ch, key_rows, rb.rows, s, vc, ldk, halo_row, e.dim_v, pp, o);
            });
  const std::int64_t row_step = lane_token_step(e, u) * e.heads_q;
  for (int r = 0; r < rb.rows; ++r) {
    HWY_ALIGN float lse[kLanes];
    HWY_ALIGN float inv[kLanes];
    hn::Store(hn::Add(m[r], hn::Log(d, static_cast<VF>(l[r]))), d, lse);
    hn::Store(hn::Div(hn::Set(d, 1.0f), l[r]), d, inv);
    // Lane i's row is lane 0's plus i lane steps (consecutive positions along the lane axis).
    const std::int64_t row0 = TileRow(e, u, b, rc.entry[r], h, e.heads_q);
    ColumnsToRows<false>(o[r], e.dim_v, inv, run.lanes, static_cast<T*>(A.output) + row0 * e.dim_v,
                         row_step * e.dim_v);
    for (int i = 0; i < run.lanes; ++i) A.lse[row0 + i * row_step] = lse[i];
  }
}

// One forward unit on the pass loop of unit_skeleton-inl.h: the halo's keys and values per kv
// head (rows for the general queries, columns for the vector runs), the tile's queries per head.
template <typename T>
struct ForwardUnit : UnitBase<ForwardArgs> {
  HaloKeysValues kv;
  // General path: the general queries' rows, their outputs and running max / sum, one pass of
  // scores. Vector runs: the tile's dim-major queries, one block's scores and outputs.
  float *qbuf, *obuf, *run_max, *run_sum, *scores, *zero;
  std::size_t ldq;
  float *qc = nullptr, *vec_scores = nullptr, *vec_out = nullptr;

  ForwardUnit(const ForwardArgs& args, const UnitGeom& unit, std::int64_t batch, const UnitPlan& plan, Workspace& ws)
      : UnitBase(args, unit, batch, plan), kv(*this, kKeys, kValues, kKeyCols, kValueCols, ws) {
    const std::size_t general = static_cast<std::size_t>(p.split.general);
    qbuf = ws.floats(kQueries, general * dp);
    obuf = ws.floats(kOutputs, general * dvp);
    run_max = ws.floats(kStats, 2 * general);
    run_sum = run_max + general;
    scores = ws.floats(kScores, kPairBudget);
    zero = ws.floats(kZero, dp);
    ZeroRows(zero, dp);
    ldq = column_stride(static_cast<std::size_t>(u.tile_size()));
    if (p.split.runs > 0) {
      qc = ws.floats(kQueryCols, static_cast<std::size_t>(e.dim) * ldq);
      vec_scores = ws.floats(kVecScores, static_cast<std::size_t>(kBlockRows) * kVecKeys * kLanes);
      vec_out = ws.floats(kVecOut, static_cast<std::size_t>(kBlockRows) * static_cast<std::size_t>(e.dim_v) * kLanes);
    }
  }

  std::int64_t row_of(int index, int h) const { return TileRow(e, u, b, index, h, e.heads_q); }

  void kv_head(int kvh) { kv.load<T>(*this, kvh); }
  void head(int) {}
  void run_columns(int h) { LoadBoxColumns<T>(A.query, e, u, tile_box(u), b, h, e.heads_q, e.dim, e.scale, qc, ldq); }
  void block(int h, const RowBlock& rb, const KeyRow* kr, const LaneRun& run) {
    ForwardBlock<T>(A, u, b, h, rb, kr, run, qc, ldq, kv.key_cols, kv.value_cols, kv.ld, vec_scores, vec_out);
  }

  // Pair lists along the head dim: each pass's dot products in full SIMD batches, then each
  // query folds its share into a running max, sum and output.
  void general(int h) {
    const float ninf = -std::numeric_limits<float>::infinity();
    const int general = p.split.general;
    for (int s = 0; s < general; ++s) {
      LoadRow(static_cast<const T*>(A.query) + row_of(p.split.entries[s], h) * e.dim, e.dim, e.scale,
              qbuf + static_cast<std::size_t>(s) * dp);
      run_max[s] = ninf;
      run_sum[s] = 0.0f;
    }
    ZeroRows(obuf, static_cast<std::size_t>(general) * dvp);
    ForEachPass(p, [&](int p0, int p1) {
      DotPairs(qbuf, p.slot, kv.key_rows, p.other, dp, p0, p1, zero, scores);
      for (int s = p.slot[p0]; s <= p.slot[p1 - 1]; ++s) {
        const int lo = std::max(p.seg[s], p0);
        const int hi = std::min(p.seg[s + 1], p1);
        float* sc = scores + (lo - p0);
        const std::size_t n = static_cast<std::size_t>(hi - lo);
        const float m_new = std::max(run_max[s], SegmentMax(sc, n));
        float* o = obuf + static_cast<std::size_t>(s) * dvp;
        if (run_max[s] != ninf && m_new != run_max[s]) {
          const float alpha = std::exp(run_max[s] - m_new);
          run_sum[s] *= alpha;
          ScaleRow(o, alpha, dvp);
        }
        run_max[s] = m_new;
        run_sum[s] += ExpSegment(sc, n, m_new);
        AccumulateRows(o, sc, p.other + lo, n, kv.value_rows, dvp, dvp);
      }
    });
    for (int s = 0; s < general; ++s) {
      const std::int64_t row = row_of(p.split.entries[s], h);
      StoreRow(obuf + static_cast<std::size_t>(s) * dvp, e.dim_v, 1.0f / run_sum[s],
               static_cast<T*>(A.output) + row * e.dim_v);
      A.lse[row] = run_max[s] + std::log(run_sum[s]);
    }
  }
  void kv_head_done(int) {}
};

template <typename T>
void ForwardUnitT(const ForwardArgs& A, const UnitGeom& u, std::int64_t b, Workspace& ws) {
  // Which queries run as vectors across positions (shifted windows along the innermost axis) and
  // which take the general path (borders, stride, additional KV: every query attends those).
  const UnitPlan plan = PlanUnit(u, {TileSide::queries, A.e.extra_kv == 0, 0, false, static_cast<int>(A.e.extra_kv)}, ws);
  ForwardUnit<T> unit(A, u, b, plan, ws);
  RunUnit(A.e, plan, unit);
}

NATTEN_CPU_FORWARD_KERNELS(NATTEN_CPU_DTYPE_ENTRIES)

}  // namespace
}  // namespace natten::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace natten::cpu {

NATTEN_CPU_FORWARD_KERNELS(NATTEN_CPU_DTYPE_DISPATCH)

}  // namespace natten::cpu
#endif
