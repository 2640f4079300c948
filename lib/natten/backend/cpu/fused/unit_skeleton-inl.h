// What every fused unit (forward, dQ, dK/dV) does the same way: its set-up (the tile split into
// vector runs and general entries, the general entries' pair lists, the runs' row blocks) and
// its pass loop (per kv head, per query head of the group: the vector runs block by block, then
// the general entries pass by pass). A unit supplies only what differs: which tensors it loads
// where, and its per-block and per-pass arithmetic. The loop order is the one each unit had on
// its own, so results are unchanged and stay bit-identical for any thread count.

// Per-target include guard (Highway's pattern).
#if defined(NATTEN_CPU_UNIT_SKELETON_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NATTEN_CPU_UNIT_SKELETON_INL_H_
#undef NATTEN_CPU_UNIT_SKELETON_INL_H_
#else
#define NATTEN_CPU_UNIT_SKELETON_INL_H_
#endif

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

#include "natten/backend/cpu/common/simd-inl.h"
#include "natten/backend/cpu/common/workspace.hpp"
#include "natten/backend/cpu/fused/kernel_args.hpp"
#include "natten/backend/cpu/fused/row_blocks.hpp"
#include "natten/backend/cpu/fused/row_kernels-inl.h"
#include "natten/backend/cpu/fused/tile_io-inl.h"
#include "natten/backend/cpu/fused/windows.hpp"

HWY_BEFORE_NAMESPACE();
namespace natten::cpu::HWY_NAMESPACE {

// Workspace slots of the plan below; a unit's own slots start at kFirstUnitSlot.
enum class PlanSlot { kLaneRuns, kGeneral, kPairOther, kPairSlot, kSegments, kRuns, kNeeded, kBlocks, kSlotCount };
constexpr int kFirstUnitSlot = static_cast<int>(PlanSlot::kSlotCount);

// Row of (batch b, tile entry `index`, head) in a heads-last tensor with `heads` heads.
inline std::int64_t TileRow(const Extents& e, const UnitGeom& u, std::int64_t b, int index, int head, int heads) {
  const std::array<int, kMaxRank> pos = tile_position(u, index);
  const std::int64_t token = token_of(e, u, u.ax[0].begin + pos[0], u.ax[1].begin + pos[1], u.ax[2].begin + pos[2]);
  return (b * e.tokens + token) * heads + head;
}

// How a unit's tile runs, built once per unit and reused by every head.
struct UnitPlan {
  TileSplit split;    // vector runs (per tile row) and general entries
  UnitBlocks blocks;  // the vector runs' row blocks (none without runs)
  // The general entries' pairs: halo row (`other`) and entry (`slot`) of each pair, the first pair
  // of each entry then the total (`seg`), and `runs` runs of entries whose pairs fit kPairBudget
  // (`run_first`). `needed`: the halo rows those pairs use (null: all of them, see mark_rows).
  int* other = nullptr;
  int* slot = nullptr;
  int* seg = nullptr;
  int* run_first = nullptr;
  int runs = 0;
  int* needed = nullptr;
};

// What decides a unit's plan: which side of the window rule its tile is (queries or keys),
// whether vector runs are allowed and from which window size, masked runs, additional KV rows.
struct UnitShape {
  TileSide side = TileSide::queries;
  bool vectors = true;
  int min_vector_window = 0;
  bool masked = false;
  int extra = 0;
};

inline UnitPlan PlanUnit(const UnitGeom& u, const UnitShape& shape, Workspace& ws) {
  UnitPlan p;
  const int window = max_window_size(u, shape.side);
  const int row_length = u.tile_extent(lane_axis(u));
  p.split = split_tile(u, shape.side, shape.vectors && window >= shape.min_vector_window, static_cast<int>(kLanes),
                       std::max(1, static_cast<int>(kLanes) / 4), shape.masked,
                       reinterpret_cast<LaneRun*>(ws.ints(PlanSlot::kLaneRuns, sizeof(LaneRun) / sizeof(int) *
                                                                                   static_cast<std::size_t>(row_length))),
                       ws.ints(PlanSlot::kGeneral, static_cast<std::size_t>(u.tile_size())));
  const int n = p.split.general;
  const int halo = static_cast<int>(u.halo_size());
  const std::size_t cap = static_cast<std::size_t>(n) * static_cast<std::size_t>(window + shape.extra);
  p.other = ws.ints(PlanSlot::kPairOther, cap);
  p.slot = ws.ints(PlanSlot::kPairSlot, cap);
  p.seg = ws.ints(PlanSlot::kSegments, static_cast<std::size_t>(n) + 1);
  p.run_first = ws.ints(PlanSlot::kRuns, static_cast<std::size_t>(n) + 1);
  if (n > 0) {
    const int np = build_pairs(u, shape.side, 0, n, shape.extra, halo, p.other, p.slot, p.seg, p.split.entries);
    p.runs = split_runs(p.seg, n, kPairBudget, p.run_first);
    if (p.split.runs > 0) {  // the general entries are the few at the borders: load only their rows
      p.needed = ws.ints(PlanSlot::kNeeded, static_cast<std::size_t>(halo));
      mark_rows(p.other, np, halo, p.needed);
    }
  }
  if (p.split.runs > 0) {
    p.blocks = build_unit_blocks(u, shape.side, p.split.rows, kBlockRows,
                                 ws.ints(PlanSlot::kBlocks, unit_blocks_ints(u, shape.side, p.split.rows, kBlockRows)));
  }
  return p;
}

// Calls f(p0, p1) for consecutive passes of at most kPairBudget pairs that never split an entry
// (except an entry that alone has more pairs than the budget).
template <class F>
HWY_INLINE void ForEachPass(const UnitPlan& p, F&& f) {
  for (int r = 0; r < p.runs; ++r) {
    const int end = p.seg[p.run_first[r + 1]];
    for (int p0 = p.seg[p.run_first[r]]; p0 < end; p0 += kPairBudget) f(p0, std::min(end, p0 + kPairBudget));
  }
}

// What every unit's hooks read: its arguments, geometry, batch element, plan and padded head dims.
template <class Args>
struct UnitBase {
  const Args& A;
  const Extents& e;
  const UnitGeom& u;
  std::int64_t b;
  const UnitPlan& p;
  std::size_t dp, dvp;
  UnitBase(const Args& args, const UnitGeom& unit, std::int64_t batch, const UnitPlan& plan)
      : A(args), e(args.e), u(unit), b(batch), p(plan), dp(padded(e.dim)), dvp(padded(e.dim_v)) {}
};

// The halo's keys and values of one kv head, for the units over query tiles (forward, dQ):
// float32 rows (row-major over the halo box, then the additional KV rows) for the general
// queries, dim-major columns for the vector runs; loaded once for every query head of the group.
struct HaloKeysValues {
  float* key_rows = nullptr;
  float* value_rows = nullptr;
  float* key_cols = nullptr;
  float* value_cols = nullptr;
  std::size_t ld = 0;  // column stride

  template <class Args, class Slot>
  HaloKeysValues(const UnitBase<Args>& c, Slot rows_k, Slot rows_v, Slot cols_k, Slot cols_v, Workspace& ws) {
    const std::size_t halo = static_cast<std::size_t>(c.u.halo_size());
    const std::size_t rows = halo + static_cast<std::size_t>(c.e.extra_kv);
    key_rows = ws.floats(rows_k, rows * c.dp);
    value_rows = ws.floats(rows_v, rows * c.dvp);
    ld = column_stride(halo);
    if (c.p.split.runs > 0) {
      key_cols = ws.floats(cols_k, static_cast<std::size_t>(c.e.dim) * ld);
      value_cols = ws.floats(cols_v, static_cast<std::size_t>(c.e.dim_v) * ld);
    }
  }

  template <typename T, class Args>
  HWY_INLINE void load(const UnitBase<Args>& c, int kvh) const {
    const Extents& e = c.e;
    const UnitGeom& u = c.u;
    if (c.p.split.general > 0) {
      const std::size_t halo = static_cast<std::size_t>(u.halo_size());
      LoadBoxRows<T>(c.A.key, e, u, halo_box(u), c.b, kvh, e.heads_kv, e.dim, 1.0f, key_rows, c.p.needed);
      LoadBoxRows<T>(c.A.value, e, u, halo_box(u), c.b, kvh, e.heads_kv, e.dim_v, 1.0f, value_rows, c.p.needed);
      if (e.extra_kv > 0) {
        LoadExtraRows<T>(c.A.additional_key, e, c.b, kvh, e.dim, key_rows + halo * c.dp);
        LoadExtraRows<T>(c.A.additional_value, e, c.b, kvh, e.dim_v, value_rows + halo * c.dvp);
      }
    }
    if (c.p.split.runs > 0) {
      LoadBoxColumns<T>(c.A.key, e, u, halo_box(u), c.b, kvh, e.heads_kv, e.dim, 1.0f, key_cols, ld);
      LoadBoxColumns<T>(c.A.value, e, u, halo_box(u), c.b, kvh, e.heads_kv, e.dim_v, 1.0f, value_cols, ld);
    }
  }
};

// The pass loop. `unit` provides:
//   kv_head(kvh)            loads what every query head of kv head kvh's group shares
//   head(h)                 loads what query head h's runs and general entries share
//   run_columns(h)          the dim-major copies the vector runs of head h read
//   block(h, rb, rows, run) one vector run of one row block (rows: the block's key rows)
//   general(h)              the general entries of head h, pass by pass
//   kv_head_done(kvh)       writes what the group accumulated
template <class Unit>
HWY_INLINE void RunUnit(const Extents& e, const UnitPlan& p, Unit& unit) {
  for (int kvh = 0; kvh < e.heads_kv; ++kvh) {
    unit.kv_head(kvh);
    for (int gh = 0; gh < e.group(); ++gh) {
      const int h = kvh * e.group() + gh;
      unit.head(h);
      if (p.split.runs > 0) {
        unit.run_columns(h);
        for (int bi = 0; bi < p.blocks.count; ++bi) {
          for (int i = 0; i < p.split.runs; ++i) unit.block(h, p.blocks.block[bi], p.blocks.key_rows_of(bi), p.split.run[i]);
        }
      }
      if (p.split.general > 0) unit.general(h);
    }
    unit.kv_head_done(kvh);
  }
}

}  // namespace natten::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
