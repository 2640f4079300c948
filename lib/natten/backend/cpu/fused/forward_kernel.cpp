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
#include "natten/backend/cpu/fused/windows.hpp"

// The kernel's entry (common/dispatch.hpp): name, template, public function, parameters, arguments.
#define NATTEN_CPU_FORWARD_KERNELS(X)                                                                       \
  X(Forward, ForwardUnitT, forward_unit,                                                                   \
    (const ForwardArgs& a, const UnitGeom& u, std::int64_t batch, Workspace& ws), (a, u, batch, ws))

HWY_BEFORE_NAMESPACE();
namespace natten::cpu::HWY_NAMESPACE {
namespace {

// Workspace slots; kSlotCount is their number (workspace.hpp checks it fits).
enum Slot {
  kKeys, kValues, kQueries, kOutputs, kStats, kScores, kPairKey, kPairQuery, kZero, kSegments, kRuns,
  kKeyCols, kValueCols, kQueryCols, kLaneRuns, kGeneral, kBlocks, kVecScores, kVecOut, kNeeded, kSlotCount
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
    const std::array<int, kMaxRank> pos = tile_position(u, rc.entry[r]);
    const std::int64_t token = token_of(e, u, u.ax[0].begin + pos[0], u.ax[1].begin + pos[1], u.ax[2].begin + pos[2]);
    const std::int64_t row0 = (b * e.tokens + token) * e.heads_q + h;
    ColumnsToRows<false>(o[r], e.dim_v, inv, run.lanes, static_cast<T*>(A.output) + row0 * e.dim_v,
                         row_step * e.dim_v);
    for (int i = 0; i < run.lanes; ++i) A.lse[row0 + i * row_step] = lse[i];
  }
}

template <typename T>
void ForwardUnitT(const ForwardArgs& A, const UnitGeom& u, std::int64_t b, Workspace& ws) {
  const Extents& e = A.e;
  const std::size_t dp = padded(e.dim), dvp = padded(e.dim_v);
  const int halo = static_cast<int>(u.halo_size());
  const int extra = static_cast<int>(e.extra_kv);
  const std::size_t rows = static_cast<std::size_t>(halo + extra);
  const int tile = static_cast<int>(u.tile_size());

  // Which queries run as vectors across positions (shifted windows along the innermost axis) and
  // which take the general path (borders, stride, additional KV: every query attends those).
  const TileSplit split =
      split_tile(u, TileSide::queries, extra == 0, static_cast<int>(kLanes), std::max(1, static_cast<int>(kLanes) / 4), false,
                 reinterpret_cast<LaneRun*>(ws.ints(kLaneRuns, sizeof(LaneRun) / sizeof(int) * static_cast<std::size_t>(u.tile_extent(lane_axis(u))))),
                 ws.ints(kGeneral, static_cast<std::size_t>(tile)));
  const int general = split.general;
  const int nruns = split.runs;
  const int* general_entries = split.entries;

  // The general queries' (query, key) pairs, built once and reused by every head; then runs of
  // queries whose pairs fit the score budget.
  int* pair_key = nullptr;
  int* pair_query = nullptr;
  int* seg = ws.ints(kSegments, static_cast<std::size_t>(general) + 1);
  int* run_first = ws.ints(kRuns, static_cast<std::size_t>(general) + 1);
  int runs = 0;
  int* needed = nullptr;
  if (general > 0) {
    const std::size_t pair_cap = static_cast<std::size_t>(general) *
                                 static_cast<std::size_t>(max_window_size(u, TileSide::queries) + extra);
    pair_key = ws.ints(kPairKey, pair_cap);
    pair_query = ws.ints(kPairQuery, pair_cap);
    const int np = build_pairs(u, TileSide::queries, 0, general, extra, halo, pair_key, pair_query, seg, general_entries);
    runs = split_runs(seg, general, kPairBudget, run_first);
    if (nruns > 0) {  // the general queries are the few at the borders: load only their keys
      needed = ws.ints(kNeeded, static_cast<std::size_t>(halo));
      mark_rows(pair_key, np, halo, needed);
    }
  }

  float* kh = ws.floats(kKeys, rows * dp);
  float* vh = ws.floats(kValues, rows * dvp);
  float* qbuf = ws.floats(kQueries, static_cast<std::size_t>(general) * dp);
  float* obuf = ws.floats(kOutputs, static_cast<std::size_t>(general) * dvp);
  float* run_max = ws.floats(kStats, 2 * static_cast<std::size_t>(general));
  float* run_sum = run_max + general;
  float* scores = ws.floats(kScores, kPairBudget);
  float* zero = ws.floats(kZero, dp);
  ZeroRows(zero, dp);

  // Column (dim-major) copies for the vector runs.
  const std::size_t ldk = column_stride(static_cast<std::size_t>(halo));
  const std::size_t ldq = column_stride(static_cast<std::size_t>(tile));
  float* kc = nullptr;
  float* vc = nullptr;
  float* qc = nullptr;
  UnitBlocks blocks;
  float* vec_scores = nullptr;
  float* vec_out = nullptr;
  if (nruns > 0) {
    kc = ws.floats(kKeyCols, static_cast<std::size_t>(e.dim) * ldk);
    vc = ws.floats(kValueCols, static_cast<std::size_t>(e.dim_v) * ldk);
    qc = ws.floats(kQueryCols, static_cast<std::size_t>(e.dim) * ldq);
    blocks = build_unit_blocks(u, TileSide::queries, split.rows, kBlockRows,
                               ws.ints(kBlocks, unit_blocks_ints(u, TileSide::queries, split.rows, kBlockRows)));
    vec_scores = ws.floats(kVecScores, static_cast<std::size_t>(kBlockRows) * kVecKeys * kLanes);
    vec_out = ws.floats(kVecOut, static_cast<std::size_t>(kBlockRows) * static_cast<std::size_t>(e.dim_v) * kLanes);
  }

  const float ninf = -std::numeric_limits<float>::infinity();
  const auto* query = static_cast<const T*>(A.query);
  auto* output = static_cast<T*>(A.output);
  const auto row_of = [&](int index, int h) {
    const std::array<int, kMaxRank> pos = tile_position(u, index);
    const std::int64_t token = token_of(e, u, u.ax[0].begin + pos[0], u.ax[1].begin + pos[1], u.ax[2].begin + pos[2]);
    return (b * e.tokens + token) * e.heads_q + h;
  };

  for (int kvh = 0; kvh < e.heads_kv; ++kvh) {
    // Halo rows in float32, row-major over the halo box, then the additional KV rows: loaded once
    // for every query of the tile and every query head of the kv group.
    if (general > 0) {
      LoadBoxRows<T>(A.key, e, u, halo_box(u), b, kvh, e.heads_kv, e.dim, 1.0f, kh, needed);
      LoadBoxRows<T>(A.value, e, u, halo_box(u), b, kvh, e.heads_kv, e.dim_v, 1.0f, vh, needed);
      if (extra > 0) {
        LoadExtraRows<T>(A.additional_key, e, b, kvh, e.dim, kh + static_cast<std::size_t>(halo) * dp);
        LoadExtraRows<T>(A.additional_value, e, b, kvh, e.dim_v, vh + static_cast<std::size_t>(halo) * dvp);
      }
    }
    if (nruns > 0) {
      LoadBoxColumns<T>(A.key, e, u, halo_box(u), b, kvh, e.heads_kv, e.dim, 1.0f, kc, ldk);
      LoadBoxColumns<T>(A.value, e, u, halo_box(u), b, kvh, e.heads_kv, e.dim_v, 1.0f, vc, ldk);
    }
    for (int gh = 0; gh < e.group(); ++gh) {
      const int h = kvh * e.group() + gh;
      if (nruns > 0) {
        LoadBoxColumns<T>(A.query, e, u, tile_box(u), b, h, e.heads_q, e.dim, e.scale, qc, ldq);
        for (int bi = 0; bi < blocks.count; ++bi) {
          for (int i = 0; i < nruns; ++i) {
            ForwardBlock<T>(A, u, b, h, blocks.block[bi], blocks.key_rows_of(bi), split.run[i], qc, ldq, kc, vc, ldk,
                            vec_scores, vec_out);
          }
        }
      }
      if (general == 0) continue;
      for (int s = 0; s < general; ++s) {
        LoadRow(query + row_of(general_entries[s], h) * e.dim, e.dim, e.scale, qbuf + static_cast<std::size_t>(s) * dp);
        run_max[s] = ninf;
        run_sum[s] = 0.0f;
      }
      ZeroRows(obuf, static_cast<std::size_t>(general) * dvp);

      for (int r = 0; r < runs; ++r) {
        const int end = seg[run_first[r + 1]];
        for (int p0 = seg[run_first[r]]; p0 < end; p0 += kPairBudget) {
          const int p1 = std::min(end, p0 + kPairBudget);
          DotPairs(qbuf, pair_query, kh, pair_key, dp, p0, p1, zero, scores);
          // Fold each query's share of this pass into its running softmax.
          for (int s = pair_query[p0]; s <= pair_query[p1 - 1]; ++s) {
            const int lo = std::max(seg[s], p0);
            const int hi = std::min(seg[s + 1], p1);
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
            AccumulateRows(o, sc, pair_key + lo, n, vh, dvp, dvp);
          }
        }
      }

      for (int s = 0; s < general; ++s) {
        const std::int64_t row = row_of(general_entries[s], h);
        StoreRow(obuf + static_cast<std::size_t>(s) * dvp, e.dim_v, 1.0f / run_sum[s], output + row * e.dim_v);
        A.lse[row] = run_max[s] + std::log(run_sum[s]);
      }
    }
  }
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
