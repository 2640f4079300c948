// The keys of a query (or the queries of a key) as indices into a unit's halo buffer.
//
// A unit's halo holds one row per position of the box [halo_begin, halo_end) of every axis, in
// row-major order. The window of a tile position is a sub-box of it, produced here row by row.
#pragma once

#include <array>

#include "natten/backend/cpu/tiling.hpp"

namespace natten::cpu {

// Per-axis window (TileSide::queries) or inverse window (TileSide::keys) of tile position
// (i0, i1, i2), in group positions.
inline std::array<NattenRange, kMaxRank> tile_windows(const UnitGeom& u, TileSide side, int i0, int i1, int i2) {
  const int local[kMaxRank] = {i0, i1, i2};
  std::array<NattenRange, kMaxRank> r;
  for (int a = 0; a < kMaxRank; ++a) {
    const AxisGeom& g = u.ax[a];
    const int pos = g.begin + local[a];
    r[a] = side == TileSide::queries ? natten_window(g.axis, g.group_length, pos)
                                     : natten_inverse_window(g.axis, g.group_length, pos);
  }
  return r;
}

inline int window_size(const std::array<NattenRange, kMaxRank>& r) {
  return (r[0].end - r[0].start) * (r[1].end - r[1].start) * (r[2].end - r[2].start);
}

// Writes the halo indices of the box `r` to out (first axis slowest) and returns how many.
inline int halo_indices(const UnitGeom& u, const std::array<NattenRange, kMaxRank>& r, int* out) {
  const int h1 = u.halo_extent(1), h2 = u.halo_extent(2);
  int n = 0;
  for (int k0 = r[0].start; k0 < r[0].end; ++k0) {
    for (int k1 = r[1].start; k1 < r[1].end; ++k1) {
      const int base = ((k0 - u.ax[0].halo_begin) * h1 + (k1 - u.ax[1].halo_begin)) * h2 - u.ax[2].halo_begin;
      for (int k2 = r[2].start; k2 < r[2].end; ++k2) out[n++] = base + k2;
    }
  }
  return n;
}

// Largest window over the tile: each axis independently (the box sizes multiply).
inline int max_window_size(const UnitGeom& u, TileSide side) {
  int n = 1;
  for (int a = 0; a < kMaxRank; ++a) {
    const AxisGeom& g = u.ax[a];
    int m = 0;
    for (int pos = g.begin; pos < g.end; ++pos) {
      const NattenRange r = side == TileSide::queries ? natten_window(g.axis, g.group_length, pos)
                                                      : natten_inverse_window(g.axis, g.group_length, pos);
      m = r.end - r.start > m ? r.end - r.start : m;
    }
    n *= m;
  }
  return n;
}

// Tile position (i0, i1, i2) of the index-th entry of a tile, row-major.
inline std::array<int, kMaxRank> tile_position(const UnitGeom& u, int index) {
  const int t1 = u.tile_extent(1), t2 = u.tile_extent(2);
  return {index / (t1 * t2), (index / t2) % t1, index % t2};
}

// The (entry, halo row) pairs of tile entries [first, first + count): for each entry, the halo
// rows of its window (or inverse window), then `extra` rows halo_rows, halo_rows + 1, ... (the
// additional KV tokens every query attends). Writes other[] (halo row), slot[] (entry - first) and
// seg[0..count] (each entry's first pair, then the total), and returns the number of pairs.
inline int build_pairs(const UnitGeom& u, TileSide side, int first, int count, int extra, int halo_rows, int* other,
                       int* slot, int* seg) {
  int n = 0;
  for (int s = 0; s < count; ++s) {
    const std::array<int, kMaxRank> pos = tile_position(u, first + s);
    seg[s] = n;
    int k = halo_indices(u, tile_windows(u, side, pos[0], pos[1], pos[2]), other + n);
    for (int x = 0; x < extra; ++x) other[n + k++] = halo_rows + x;
    for (int i = 0; i < k; ++i) slot[n + i] = s;
    n += k;
  }
  seg[count] = n;
  return n;
}

// Splits tile entries [0, count) into runs whose pairs (per seg[], as built above) number at most
// `budget`, or a single entry when that entry alone has more. Writes the run starts to first[]
// (then `count`) and returns the number of runs.
inline int split_runs(const int* seg, int count, int budget, int* first) {
  int runs = 0;
  for (int b = 0; b < count;) {
    int e = b + 1;
    while (e < count && seg[e + 1] - seg[b] <= budget) ++e;
    first[runs++] = b;
    b = e;
  }
  first[runs] = count;
  return runs;
}

}  // namespace natten::cpu
