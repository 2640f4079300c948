// The keys of a query (or the queries of a key) as indices into a unit's halo buffer.
//
// A unit's halo holds one row per position of the box [halo_begin, halo_end) of every axis, in
// row-major order. The window of a tile position is a sub-box of it, produced here row by row.
#pragma once

#include <algorithm>
#include <array>

#include "natten/backend/cpu/fused/tiling.hpp"

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
// `entries` lists the tile entries (slot s is entries[s]); null means first, first + 1, ...
inline int build_pairs(const UnitGeom& u, TileSide side, int first, int count, int extra, int halo_rows, int* other,
                       int* slot, int* seg, const int* entries = nullptr) {
  int n = 0;
  for (int s = 0; s < count; ++s) {
    const std::array<int, kMaxRank> pos = tile_position(u, entries != nullptr ? entries[s] : first + s);
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

// needed[r] = 1 for the halo rows r < halo_rows that pairs [0, n) use, 0 for the others: the
// general path then loads only those (the vector runs read their own dim-major copy).
inline void mark_rows(const int* other, int n, int halo_rows, int* needed) {
  for (int r = 0; r < halo_rows; ++r) needed[r] = 0;
  for (int i = 0; i < n; ++i) {
    if (other[i] < halo_rows) needed[other[i]] = 1;
  }
}

// ---------------------------------------------------------------- vectors across positions
// Along the lane axis (the innermost one of the problem), the (inverse) windows of consecutive interior positions are the same
// box shifted by one position per step (stride 1: start = j - K/2, or j - K + 1 when causal). A run
// of up to `width` such positions can be computed as one SIMD vector per lane = position: the
// keys of lane l are the keys of lane 0 shifted by l, so every score is a plain multiply-add with
// a shifted load (no reductions, no pair lists). Axes 0 and 1 are shared by the whole run.
// The axis the lanes of a vector run follow: the last one whose dilation group holds more than one
// position (axes past a problem's rank, or of one position, have extent 1), so consecutive tile
// entries and consecutive halo rows are consecutive positions along it.
inline int lane_axis(const UnitGeom& u) {
  for (int a = kMaxRank - 1; a > 0; --a) {
    if (u.ax[a].group_length > 1) return a;
  }
  return 0;
}

constexpr int kMaxRunLanes = 16;  // widest vector of any compiled target (AVX-512 floats)

struct LaneRun {
  int begin;  // first tile-local position along the lane axis
  int lanes;  // positions in the run (1 <= lanes <= width)
  bool shifted;                 // lane l's window is lane 0's shifted by l (no permutation)
  int lane_of[kMaxRunLanes];    // else lane l reads lane lane_of[l] of the lane-0-shifted vector
  // Masked runs (windows of different sizes along the lanes, e.g. inverse windows at borders):
  // step t in [0, steps) reads position (lane's own) + first + t, a pure shift; it is in lane l's
  // window where lo[l] <= t < hi[l], and masked out elsewhere.
  bool masked;
  int first, steps;
  int lo[kMaxRunLanes], hi[kMaxRunLanes];
};

// (Inverse) window along the lane axis of tile-local position i2.
inline NattenRange innermost_window(const UnitGeom& u, TileSide side, int i2) {
  const AxisGeom& g = u.ax[lane_axis(u)];
  return side == TileSide::queries ? natten_window(g.axis, g.group_length, g.begin + i2)
                                   : natten_inverse_window(g.axis, g.group_length, g.begin + i2);
}

// A masked run of `lanes` positions from tile-local j (see LaneRun); false when the union of the
// lanes' shifted windows would be more than twice the largest window (then masking wastes more
// than it saves).
inline bool masked_run(const UnitGeom& u, TileSide side, int j, int lanes, LaneRun& run) {
  int first = 0, last = 0, largest = 0;
  for (int l = 0; l < lanes; ++l) {
    const NattenRange w = innermost_window(u, side, j + l);
    const int pos = u.ax[lane_axis(u)].begin + j + l;
    first = l == 0 ? w.start - pos : std::min(first, w.start - pos);
    last = l == 0 ? w.end - pos : std::max(last, w.end - pos);
    largest = std::max(largest, w.end - w.start);
  }
  if (largest == 0 || last - first > 2 * largest) return false;
  run = LaneRun{j, lanes, true, {}, true, first, last - first, {}, {}};
  for (int l = 0; l < kMaxRunLanes; ++l) {
    run.lane_of[l] = l;
    if (l < lanes) {
      const NattenRange w = innermost_window(u, side, j + l);
      const int pos = u.ax[lane_axis(u)].begin + j + l;
      run.lo[l] = w.start - pos - first;
      run.hi[l] = w.end - pos - first;
    }
  }
  return true;
}

// Splits the lane-axis tile positions into vector runs and the positions left to the general path.
// A run is up to `width` consecutive positions whose windows along the lane axis have one size and
// starts within `width` of lane 0's: lane l's keys are then lane 0's keys shifted by
// lane_of[l] = start(l) - start(0) <= l, one lane permutation of a shifted load (the identity in
// the interior; at borders and with stride, several lanes share a window). Depends on the unit
// only (never on threads). Returns the number of runs; `general` gets the other positions and
// *general_count their number.
inline int split_lane_runs(const UnitGeom& u, TileSide side, int width, int min_lanes, bool masked, LaneRun* runs,
                           int* general, int* general_count) {
  const int t2 = u.tile_extent(lane_axis(u));
  int nr = 0, ng = 0;
  for (int j = 0; j < t2;) {
    const NattenRange w0 = innermost_window(u, side, j);
    LaneRun run{j, 1, true, {}, false, 0, 0, {}, {}};
    run.lane_of[0] = 0;
    while (run.lanes < width && j + run.lanes < t2) {
      const NattenRange w = innermost_window(u, side, j + run.lanes);
      const int shift = w.start - w0.start;
      if (w.end - w.start != w0.end - w0.start || shift < 0 || shift >= width) break;
      run.lane_of[run.lanes] = shift;
      run.shifted = run.shifted && shift == run.lanes;
      ++run.lanes;
    }
    for (int l = run.lanes; l < kMaxRunLanes; ++l) run.lane_of[l] = l < width ? l : 0;
    if (masked && run.lanes < width && j + run.lanes < t2 && masked_run(u, side, j, std::min(width, t2 - j), run)) {
      runs[nr++] = run;
      j += run.lanes;
    } else if (run.lanes >= min_lanes && w0.end > w0.start) {
      runs[nr++] = run;
      j += run.lanes;
    } else {
      general[ng++] = j++;
    }
  }
  *general_count = ng;
  return nr;
}

// A tile split into vector runs (per tile row: the same runs of innermost positions) and general
// entries (the other positions of every tile row, as tile entry indices).
struct TileSplit {
  int rows = 1;        // tile rows along the innermost axis (tile size / innermost extent)
  int row_length = 1;  // innermost extent
  int runs = 0;        // vector runs per tile row, in runs[]
  int general = 0;     // general entries, in general[]
  LaneRun* run = nullptr;
  int* entries = nullptr;
};

// run_buf: room for the innermost extent; entry_buf: room for the tile size. Vector runs only when
// `vectors` (e.g. no additional KV); masked runs too when `masked`.
inline TileSplit split_tile(const UnitGeom& u, TileSide side, bool vectors, int width, int min_lanes, bool masked,
                            LaneRun* run_buf, int* entry_buf) {
  TileSplit t;
  t.row_length = u.tile_extent(lane_axis(u));
  t.rows = static_cast<int>(u.tile_size()) / t.row_length;
  t.run = run_buf;
  t.entries = entry_buf;
  int per_row = t.row_length;
  if (vectors) {
    t.runs = split_lane_runs(u, side, width, min_lanes, masked, run_buf, entry_buf, &per_row);
  } else {
    for (int j = 0; j < t.row_length; ++j) entry_buf[j] = j;
  }
  // Expand the row's general positions to every row, last row first (row 0 is the source).
  for (int r = t.rows - 1; r >= 0; --r) {
    for (int j = per_row - 1; j >= 0; --j) entry_buf[r * per_row + j] = r * t.row_length + entry_buf[j];
  }
  t.general = per_row * t.rows;
  return t;
}

}  // namespace natten::cpu
