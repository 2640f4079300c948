// Row blocks: several tile rows computed together by the vector-run kernels.
//
// A tile row is the set of tile positions that differ only along the lane axis (windows.hpp,
// lane_axis). Vector runs vectorize across a row; a row block stacks up to kMaxBlockRows rows that
// are consecutive along the axis before the lane axis (the "block axis"). Their windows over the
// other axes are boxes that differ only along the block axis, so their union is a list of key rows
// (halo positions over every axis but the lane axis), and each key row is read by an interval of
// the block's rows [lo, hi). One shifted load of a key row then feeds hi - lo rows' multiply-adds:
// in the 2D interior with K = 7 and 3 rows, 9 key rows feed 21 (row, key row) pairs, which is what
// takes the kernels off the load ports (one load per FMA before).
//
// This file is geometry only (no SIMD): which rows form a block, its key rows, their reader rows and
// where each (row, key row) pair's scores live in that row's window order.
#pragma once

#include <algorithm>
#include <array>

#include "natten/backend/cpu/fused/windows.hpp"

namespace natten::cpu {

constexpr int kMaxBlockRows = 4;

// One key row of a row block.
struct KeyRow {
  int row;                   // row of the unit's halo (halo index / halo extent along the lane axis)
  int lo, hi;                // block rows [lo, hi) whose windows hold it
  int slot[kMaxBlockRows];   // for those rows: index of this key row in the row's window (row-major)
};

struct RowBlock {
  int first_row = 0;  // tile row of block row 0
  int rows = 0;       // block rows (1 .. kMaxBlockRows)
  int key_rows = 0;   // KeyRow entries
  int window_rows[kMaxBlockRows] = {};  // key rows in each block row's window
};

// Tile rows: along the lane axis every row holds tile_extent(lane axis) entries; rows are counted
// row-major over the other axes.
inline int block_axis(const UnitGeom& u) { return lane_axis(u) - 1; }  // -1: a single tile row

// How many of tile rows [row, rows) can join row `row` in one block: consecutive along the block
// axis, the same position on the axes before it.
inline int block_rows_from(const UnitGeom& u, int row, int total_rows, int max_rows) {
  const int ba = block_axis(u);
  if (ba < 0) return 1;
  const int along = u.tile_extent(ba);  // rows per position of the axes before the block axis
  const int left = along - row % along;
  return std::min({max_rows, left, total_rows - row});
}

// Upper bound on the key rows of any block of `rows` rows of this unit (workspace size).
inline int max_block_key_rows(const UnitGeom& u, TileSide side, int rows) {
  const int la = lane_axis(u);
  int n = 1;
  for (int a = 0; a < kMaxRank; ++a) {
    if (a == la) continue;
    const AxisGeom& g = u.ax[a];
    const auto range = [&](int pos) {
      return side == TileSide::queries ? natten_window(g.axis, g.group_length, pos)
                                       : natten_inverse_window(g.axis, g.group_length, pos);
    };
    // Along the block axis, the union of `rows` consecutive windows (with stride they need not
    // overlap); elsewhere one window.
    const int span = a == la - 1 ? rows : 1;
    int m = 0;
    for (int pos = g.begin; pos < g.end; ++pos) {
      m = std::max(m, range(std::min(pos + span - 1, g.end - 1)).end - range(pos).start);
    }
    n *= m;
  }
  return n;
}

// Builds block `rb` (rows rb.first_row .. + rb.rows, which must satisfy block_rows_from) into kr[]:
// key rows in row-major order over the non-lane axes, only those some row reads.
inline void build_row_block(const UnitGeom& u, TileSide side, RowBlock& rb, KeyRow* kr) {
  const int la = lane_axis(u);
  const int ba = la - 1;
  const int row_length = u.tile_extent(la);
  std::array<std::array<NattenRange, kMaxRank>, kMaxBlockRows> win{};
  for (int r = 0; r < rb.rows; ++r) {
    const std::array<int, kMaxRank> pos = tile_position(u, (rb.first_row + r) * row_length);
    win[static_cast<std::size_t>(r)] = tile_windows(u, side, pos[0], pos[1], pos[2]);
    int n = 1;
    for (int a = 0; a < kMaxRank; ++a) {
      if (a != la) n *= win[static_cast<std::size_t>(r)][static_cast<std::size_t>(a)].end -
                        win[static_cast<std::size_t>(r)][static_cast<std::size_t>(a)].start;
    }
    rb.window_rows[r] = n;
  }
  // The union box over the non-lane axes (rows differ only along the block axis; windows start and
  // end non-decreasingly, so the union along it is [first start, last end)).
  std::array<NattenRange, kMaxRank> box = win[0];
  if (ba >= 0) box[static_cast<std::size_t>(ba)].end = win[static_cast<std::size_t>(rb.rows - 1)][static_cast<std::size_t>(ba)].end;
  box[static_cast<std::size_t>(la)] = {u.ax[la].halo_begin, u.ax[la].halo_begin + 1};
  const int h1 = u.halo_extent(1), h2 = u.halo_extent(2);
  int n = 0;
  for (int k0 = box[0].start; k0 < box[0].end; ++k0) {
    for (int k1 = box[1].start; k1 < box[1].end; ++k1) {
      for (int k2 = box[2].start; k2 < box[2].end; ++k2) {
        const int k[kMaxRank] = {k0, k1, k2};
        KeyRow row{};
        // Halo index of (k0, k1, k2) at the lane axis' halo_begin; the axes past the lane axis
        // hold one position, so it is a whole number of halo rows.
        row.row = (((k0 - u.ax[0].halo_begin) * h1 + (k1 - u.ax[1].halo_begin)) * h2 + (k2 - u.ax[2].halo_begin)) /
                  u.halo_extent(la);
        row.lo = rb.rows;
        row.hi = 0;
        for (int r = 0; r < rb.rows; ++r) {
          const auto& w = win[static_cast<std::size_t>(r)];
          bool inside = true;
          int slot = 0;
          for (int a = 0; a < kMaxRank; ++a) {
            if (a == la) continue;
            const NattenRange& wa = w[static_cast<std::size_t>(a)];
            inside = inside && k[a] >= wa.start && k[a] < wa.end;
            slot = slot * (wa.end - wa.start) + (k[a] - wa.start);
          }
          if (!inside) continue;
          row.lo = std::min(row.lo, r);
          row.hi = r + 1;
          row.slot[r] = slot;
        }
        if (row.lo < row.hi) kr[n++] = row;
      }
    }
  }
  rb.key_rows = n;
}

// Every row block of a unit's tile rows, built once per unit and reused by every head and run.
struct UnitBlocks {
  int count = 0;
  int stride = 0;  // KeyRow entries reserved per block
  RowBlock* block = nullptr;
  KeyRow* key_row = nullptr;
  const KeyRow* key_rows_of(int i) const { return key_row + static_cast<std::size_t>(i) * static_cast<std::size_t>(stride); }
};

// Room (in ints) for the blocks and key rows of a unit with `tile_rows` rows.
inline std::size_t unit_blocks_ints(const UnitGeom& u, TileSide side, int tile_rows, int max_rows) {
  const std::size_t per_block = sizeof(RowBlock) / sizeof(int) +
                                static_cast<std::size_t>(max_block_key_rows(u, side, max_rows)) * (sizeof(KeyRow) / sizeof(int));
  return per_block * static_cast<std::size_t>(tile_rows);
}

// Splits tile rows [0, tile_rows) into blocks of up to max_rows and builds them into `ints` (room
// from unit_blocks_ints).
inline UnitBlocks build_unit_blocks(const UnitGeom& u, TileSide side, int tile_rows, int max_rows, int* ints) {
  static_assert(sizeof(RowBlock) % sizeof(int) == 0 && sizeof(KeyRow) % sizeof(int) == 0, "int-packed structs");
  UnitBlocks ub;
  ub.stride = max_block_key_rows(u, side, max_rows);
  ub.block = reinterpret_cast<RowBlock*>(ints);
  ub.key_row = reinterpret_cast<KeyRow*>(ints + static_cast<std::size_t>(tile_rows) * (sizeof(RowBlock) / sizeof(int)));
  for (int row = 0; row < tile_rows;) {
    RowBlock& rb = ub.block[ub.count];
    rb = RowBlock{};
    rb.first_row = row;
    rb.rows = block_rows_from(u, row, tile_rows, max_rows);
    build_row_block(u, side, rb, ub.key_row + static_cast<std::size_t>(ub.count) * static_cast<std::size_t>(ub.stride));
    row += rb.rows;
    ++ub.count;
  }
  return ub;
}

}  // namespace natten::cpu
