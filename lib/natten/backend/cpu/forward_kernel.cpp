// Fused forward kernel: one tile of queries against its key/value halo, online softmax.
//
// Per unit (a spatial tile of one batch element, all heads): the tile's (query, key) pairs are
// listed once; per kv head the halo's key and value rows (plus any additional KV rows) are
// converted to float32 once, then reused by every query of the tile and every query head of the
// kv group. Queries are processed in runs whose pairs fill at most kPairBudget scores: the pairs' dot
// products are computed in full SIMD batches across query boundaries (simd-inl.h), then each
// query folds its scores into a running max, sum and output (online softmax). A window larger
// than the budget is split into several passes, so memory stays bounded by the tile and its halo,
// never by the attention matrix.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "natten/backend/cpu/forward_kernel.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "natten/backend/cpu/kernels.hpp"
#include "natten/backend/cpu/simd_targets.hpp"
#include "natten/core/error.hpp"
#include "natten/backend/cpu/simd-inl.h"
#include "natten/backend/cpu/tile_io-inl.h"
#include "natten/backend/cpu/windows.hpp"

HWY_BEFORE_NAMESPACE();
namespace natten::cpu::HWY_NAMESPACE {
namespace {

enum Slot { kKeys, kValues, kQueries, kOutputs, kStats, kScores, kPairKey, kPairQuery, kZero, kSegments, kRuns };

template <typename T>
void ForwardUnitT(const ForwardArgs& A, const UnitGeom& u, std::int64_t b, Workspace& ws) {
  const Extents& e = A.e;
  const std::size_t dp = padded(e.dim), dvp = padded(e.dim_v);
  const int halo = static_cast<int>(u.halo_size());
  const int extra = static_cast<int>(e.extra_kv);
  const std::size_t rows = static_cast<std::size_t>(halo + extra);
  const int tile = static_cast<int>(u.tile_size());

  // The tile's (query, key) pairs, built once and reused by every head; then runs of queries
  // whose pairs fit the score budget.
  const std::size_t pair_cap = static_cast<std::size_t>(tile) *
                               static_cast<std::size_t>(max_window_size(u, TileSide::queries) + extra);
  int* pair_key = ws.ints(kPairKey, pair_cap);
  int* pair_query = ws.ints(kPairQuery, pair_cap);
  int* seg = ws.ints(kSegments, static_cast<std::size_t>(tile) + 1);
  const int np = build_pairs(u, TileSide::queries, 0, tile, extra, halo, pair_key, pair_query, seg);
  (void)np;
  int* run_first = ws.ints(kRuns, static_cast<std::size_t>(tile) + 1);
  const int runs = split_runs(seg, tile, kPairBudget, run_first);

  float* kh = ws.floats(kKeys, rows * dp);
  float* vh = ws.floats(kValues, rows * dvp);
  float* qbuf = ws.floats(kQueries, static_cast<std::size_t>(tile) * dp);
  float* obuf = ws.floats(kOutputs, static_cast<std::size_t>(tile) * dvp);
  float* run_max = ws.floats(kStats, 2 * static_cast<std::size_t>(tile));
  float* run_sum = run_max + tile;
  float* scores = ws.floats(kScores, kPairBudget);
  float* zero = ws.floats(kZero, dp);
  ZeroRows(zero, dp);

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
    LoadBoxRows<T>(A.key, e, u, halo_box(u), b, kvh, e.heads_kv, e.dim, 1.0f, kh);
    LoadBoxRows<T>(A.value, e, u, halo_box(u), b, kvh, e.heads_kv, e.dim_v, 1.0f, vh);
    if (extra > 0) {
      LoadExtraRows<T>(A.additional_key, e, b, kvh, e.dim, kh + static_cast<std::size_t>(halo) * dp);
      LoadExtraRows<T>(A.additional_value, e, b, kvh, e.dim_v, vh + static_cast<std::size_t>(halo) * dvp);
    }
    for (int gh = 0; gh < e.group(); ++gh) {
      const int h = kvh * e.group() + gh;
      for (int s = 0; s < tile; ++s) {
        LoadRow(query + row_of(s, h) * e.dim, e.dim, e.scale, qbuf + static_cast<std::size_t>(s) * dp);
        run_max[s] = ninf;
        run_sum[s] = 0.0f;
      }
      ZeroRows(obuf, static_cast<std::size_t>(tile) * dvp);

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

      for (int s = 0; s < tile; ++s) {
        const std::int64_t row = row_of(s, h);
        StoreRow(obuf + static_cast<std::size_t>(s) * dvp, e.dim_v, 1.0f / run_sum[s], output + row * e.dim_v);
        A.lse[row] = run_max[s] + std::log(run_sum[s]);
      }
    }
  }
}

void ForwardF32(const ForwardArgs& a, const UnitGeom& u, std::int64_t b, Workspace& ws) {
  ForwardUnitT<float>(a, u, b, ws);
}
void ForwardF16(const ForwardArgs& a, const UnitGeom& u, std::int64_t b, Workspace& ws) {
  ForwardUnitT<hwy::float16_t>(a, u, b, ws);
}
void ForwardBF16(const ForwardArgs& a, const UnitGeom& u, std::int64_t b, Workspace& ws) {
  ForwardUnitT<hwy::bfloat16_t>(a, u, b, ws);
}

}  // namespace
}  // namespace natten::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace natten::cpu {

HWY_EXPORT(ForwardF32);
HWY_EXPORT(ForwardF16);
HWY_EXPORT(ForwardBF16);

void forward_unit(DType t, const ForwardArgs& a, const UnitGeom& u, std::int64_t batch, Workspace& ws) {
  switch (t) {
    case DType::f32: return HWY_DYNAMIC_DISPATCH(ForwardF32)(a, u, batch, ws);
    case DType::f16: return HWY_DYNAMIC_DISPATCH(ForwardF16)(a, u, batch, ws);
    case DType::bf16: return HWY_DYNAMIC_DISPATCH(ForwardBF16)(a, u, batch, ws);
  }
}

std::vector<std::string> usable_simd_targets() {
  std::vector<std::string> out;
  for (std::int64_t t = hwy::SupportedTargets() & HWY_TARGETS; t != 0; t &= t - 1) {
    out.push_back(hwy::TargetName(t & -t));
  }
  return out;
}

void force_simd_target(const std::string& name) {
  if (name.empty()) {
    hwy::SetSupportedTargetsForTest(0);
    return;
  }
  hwy::SetSupportedTargetsForTest(0);
  for (std::int64_t t = hwy::SupportedTargets() & HWY_TARGETS; t != 0; t &= t - 1) {
    if (name == hwy::TargetName(t & -t)) {
      hwy::SetSupportedTargetsForTest(t & -t);
      return;
    }
  }
  fail("cpu backend: SIMD target '{}' is not usable here", name);
}

std::string simd_target() {
  const std::int64_t usable = hwy::SupportedTargets() & HWY_TARGETS;
  return hwy::TargetName(usable & -usable);  // the lowest bit is the best target
}

}  // namespace natten::cpu
#endif
