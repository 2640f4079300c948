// How the cpu backend cuts a problem into independent work units.
//
// A unit is (batch, kv head, spatial tile). A spatial tile is, along every axis, a run of positions
// of ONE dilation group (neighborhoods never cross groups), so every query of a tile reads keys
// from the same small box: the tile's halo, the union of the windows of its queries. Windows
// start and end non-decreasingly along an axis (natten/window.h), so the halo of positions
// [begin, end) is simply [window(begin).start, window(end - 1).end). The backward key pass tiles
// keys instead and uses the inverse windows, which are monotone too.
//
// Units depend only on the problem, never on the thread count, and every output element is
// written by exactly one unit in a fixed order: results are identical for any number of threads.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "natten/core/problem.hpp"

namespace natten::cpu {

// One axis of a unit, in dilation-group positions (token index = group + dilation * position).
struct AxisGeom {
  NattenAxis axis{1, 1, 1, 1, 0};
  int group = 0;
  int group_length = 1;
  int begin = 0, end = 1;            // the tile: positions this unit owns
  int halo_begin = 0, halo_end = 1;  // positions it reads on the other side (keys or queries)
};

struct UnitGeom {
  std::array<AxisGeom, kMaxRank> ax;

  int tile_extent(int a) const { return ax[a].end - ax[a].begin; }
  int halo_extent(int a) const { return ax[a].halo_end - ax[a].halo_begin; }
  std::int64_t tile_size() const;
  std::int64_t halo_size() const;
};

// Which side a tile is on: queries whose halo is keys (forward, backward dQ), or keys whose halo
// is the queries attending them (backward dK/dV).
enum class TileSide { queries, keys };

class TilePlan {
 public:
  TilePlan(const Problem& p, TileSide side);
  std::int64_t spatial_tiles() const { return count_[0] * count_[1] * count_[2]; }
  UnitGeom unit(std::int64_t spatial_tile) const;

 private:
  struct AxisTile {
    int group, begin, end;
  };
  std::array<std::vector<AxisTile>, kMaxRank> tiles_;
  std::array<std::int64_t, kMaxRank> count_{1, 1, 1};
  std::array<NattenAxis, kMaxRank> axes_;
  TileSide side_;
};

}  // namespace natten::cpu
