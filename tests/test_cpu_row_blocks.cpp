// The geometry behind the cpu backend's vector runs, checked against brute force on random
// problems (every rank, odd/even kernels, stride, dilation, causal), for every unit of both sides:
//   - row blocks (row_blocks.hpp): every tile row in exactly one block; a block's key rows are
//     exactly the union of its rows' windows over the non-lane axes, each read by exactly the rows
//     whose window holds it, with the slot it has in that row's window;
//   - masked lane runs (windows.hpp): step t of lane l is valid exactly when it lands in the lane's
//     (inverse) window, and runs plus general positions cover each lane position once.
// The kernels' numbers are checked end to end against the reference backend elsewhere
// (test_cpu_forward, test_cpu_backward); this pins the index bookkeeping they rely on.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "natten/backend/cpu/fused/row_blocks.hpp"
#include "natten/backend/cpu/fused/tiling.hpp"
#include "natten/backend/cpu/fused/windows.hpp"
#include "support/random_problem.hpp"

namespace natten::testing {
namespace {

using cpu::KeyRow;
using cpu::RowBlock;
using cpu::TilePlan;
using cpu::TileSide;
using cpu::UnitGeom;

// Row-major index of position k inside box w over the axes other than `la`, or -1 outside.
int slot_in(const std::array<NattenRange, kMaxRank>& w, const int* k, int la) {
  int slot = 0;
  for (int a = 0; a < kMaxRank; ++a) {
    if (a == la) continue;
    if (k[a] < w[a].start || k[a] >= w[a].end) return -1;
    slot = slot * (w[a].end - w[a].start) + (k[a] - w[a].start);
  }
  return slot;
}

void check_blocks(const UnitGeom& u, TileSide side, int max_rows, const std::string& what) {
  const int la = cpu::lane_axis(u);
  const int row_length = u.tile_extent(la);
  const int tile_rows = static_cast<int>(u.tile_size()) / row_length;
  std::vector<int> ints(cpu::unit_blocks_ints(u, side, tile_rows, max_rows));
  const cpu::UnitBlocks ub = cpu::build_unit_blocks(u, side, tile_rows, max_rows, ints.data());
  int next_row = 0;
  for (int bi = 0; bi < ub.count; ++bi) {
    const RowBlock& rb = ub.block[bi];
    ASSERT_EQ(rb.first_row, next_row) << what;
    ASSERT_GE(rb.rows, 1) << what;
    ASSERT_LE(rb.rows, max_rows) << what;
    ASSERT_LE(rb.key_rows, ub.stride) << what;
    next_row += rb.rows;
    const KeyRow* kr = ub.key_rows_of(bi);
    // Brute force over the whole halo's rows: which block rows read each, at which slot.
    std::vector<std::array<NattenRange, kMaxRank>> win;
    for (int r = 0; r < rb.rows; ++r) {
      const auto pos = cpu::tile_position(u, (rb.first_row + r) * row_length);
      win.push_back(cpu::tile_windows(u, side, pos[0], pos[1], pos[2]));
      if (r > 0) {  // rows of a block differ only along the axis before the lane axis
        for (int a = 0; a < la - 1; ++a) EXPECT_EQ(pos[a], cpu::tile_position(u, rb.first_row * row_length)[a]) << what;
      }
    }
    int expected_rows = 0;
    const int h1 = u.halo_extent(1), h2 = u.halo_extent(2);
    for (int k0 = u.ax[0].halo_begin; k0 < u.ax[0].halo_end; ++k0) {
      for (int k1 = u.ax[1].halo_begin; k1 < u.ax[1].halo_end; ++k1) {
        for (int k2 = u.ax[2].halo_begin; k2 < u.ax[2].halo_end; ++k2) {
          int k[kMaxRank] = {k0, k1, k2};
          if (k[la] != u.ax[la].halo_begin) continue;  // one per halo row
          const int row = (((k0 - u.ax[0].halo_begin) * h1 + (k1 - u.ax[1].halo_begin)) * h2 +
                           (k2 - u.ax[2].halo_begin)) / u.halo_extent(la);
          std::vector<int> slots;
          for (int r = 0; r < rb.rows; ++r) slots.push_back(slot_in(win[static_cast<std::size_t>(r)], k, la));
          const KeyRow* found = nullptr;
          for (int i = 0; i < rb.key_rows; ++i) {
            if (kr[i].row == row) found = kr + i;
          }
          bool read = false;
          for (int r = 0; r < rb.rows; ++r) read = read || slots[static_cast<std::size_t>(r)] >= 0;
          ASSERT_EQ(found != nullptr, read) << what << " halo row " << row;
          if (!read) continue;
          ++expected_rows;
          for (int r = 0; r < rb.rows; ++r) {
            const bool inside = slots[static_cast<std::size_t>(r)] >= 0;
            EXPECT_EQ(inside, r >= found->lo && r < found->hi) << what << " halo row " << row << " block row " << r;
            if (inside) {
              EXPECT_EQ(found->slot[r], slots[static_cast<std::size_t>(r)]) << what;
            }
          }
        }
      }
    }
    EXPECT_EQ(rb.key_rows, expected_rows) << what;
    for (int i = 1; i < rb.key_rows; ++i) EXPECT_LT(kr[i - 1].row, kr[i].row) << what;  // row-major order
  }
  EXPECT_EQ(next_row, tile_rows) << what;
}

void check_lane_runs(const UnitGeom& u, TileSide side, const std::string& what) {
  const int la = cpu::lane_axis(u);
  const int t2 = u.tile_extent(la);
  std::vector<cpu::LaneRun> runs(static_cast<std::size_t>(t2));
  std::vector<int> general(static_cast<std::size_t>(t2));
  int general_count = 0;
  const int n = cpu::split_lane_runs(u, side, 16, 4, true, runs.data(), general.data(), &general_count);
  std::vector<int> covered(static_cast<std::size_t>(t2), 0);
  for (int i = 0; i < general_count; ++i) ++covered[static_cast<std::size_t>(general[static_cast<std::size_t>(i)])];
  for (int i = 0; i < n; ++i) {
    const cpu::LaneRun& run = runs[static_cast<std::size_t>(i)];
    for (int l = 0; l < run.lanes; ++l) {
      ++covered[static_cast<std::size_t>(run.begin + l)];
      const NattenRange w = cpu::innermost_window(u, side, run.begin + l);
      const int pos = u.ax[la].begin + run.begin + l;
      if (run.masked) {
        for (int t = 0; t < run.steps; ++t) {
          const int q = pos + run.first + t;
          EXPECT_EQ(q >= w.start && q < w.end, t >= run.lo[l] && t < run.hi[l]) << what << " lane " << l << " step " << t;
        }
        // Every position of the window is some step.
        EXPECT_LE(pos + run.first, w.start) << what;
        EXPECT_GE(pos + run.first + run.steps, w.end) << what;
      } else {
        const NattenRange w0 = cpu::innermost_window(u, side, run.begin);
        EXPECT_EQ(w.end - w.start, w0.end - w0.start) << what;
        EXPECT_EQ(w.start, w0.start + run.lane_of[l]) << what;
      }
    }
  }
  for (int j = 0; j < t2; ++j) EXPECT_EQ(covered[static_cast<std::size_t>(j)], 1) << what << " position " << j;
}

TEST(CpuRowBlocks, MatchBruteForceOnRandomProblems) {
  std::mt19937_64 rng(20261123);
  SweepLimits lim;
  lim.max_tokens = 400;
  for (int trial = 0; trial < 120; ++trial) {
    const Problem p = random_problem(rng, DType::f32, lim);
    for (TileSide side : {TileSide::queries, TileSide::keys}) {
      const TilePlan plan(p, side);
      for (std::int64_t t = 0; t < plan.spatial_tiles(); ++t) {
        const UnitGeom u = plan.unit(t);
        const std::string what = p.str() + (side == TileSide::queries ? " queries" : " keys") + " tile " +
                                 std::to_string(t);
        for (int rows = 1; rows <= cpu::kMaxBlockRows; ++rows) check_blocks(u, side, rows, what);
        check_lane_runs(u, side, what);
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
  }
}

}  // namespace
}  // namespace natten::testing
