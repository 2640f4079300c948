#include "natten/backend/cpu/fused/tiling.hpp"

#include <algorithm>

namespace natten::cpu {

std::int64_t UnitGeom::tile_size() const {
  return static_cast<std::int64_t>(tile_extent(0)) * tile_extent(1) * tile_extent(2);
}
std::int64_t UnitGeom::halo_size() const {
  return static_cast<std::int64_t>(halo_extent(0)) * halo_extent(1) * halo_extent(2);
}

namespace {

// Tile extent per axis: about 64 to 512 queries per tile. Larger tiles amortize the halo (a tile
// of t positions with window k reads t + k - 1); smaller ones give more units to spread over
// threads. The innermost axis gets the longest run: the kernels vectorize across its positions
// (several SIMD vectors per tile row) and its halo rows are contiguous.
int tile_extent(const Problem& p, int a) {
  static constexpr int kByRank[3][3] = {{64, 1, 1}, {8, 64, 1}, {4, 8, 16}};
  return a < p.rank() ? kByRank[p.rank() - 1][a] : 1;
}

}  // namespace

TilePlan::TilePlan(const Problem& p, TileSide side) : side_(side) {
  for (int a = 0; a < kMaxRank; ++a) {
    const NattenAxis ax = p.axis(a);
    axes_[a] = ax;
    const int extent = tile_extent(p, a);
    for (int g = 0; g < ax.dilation; ++g) {
      const int lg = natten_group_length(ax, g);
      for (int b = 0; b < lg; b += extent) tiles_[a].push_back({g, b, std::min(b + extent, lg)});
    }
    count_[a] = static_cast<std::int64_t>(tiles_[a].size());
  }
}

UnitGeom TilePlan::unit(std::int64_t spatial_tile) const {
  UnitGeom u;
  for (int a = kMaxRank - 1; a >= 0; --a) {
    const AxisTile& t = tiles_[a][static_cast<std::size_t>(spatial_tile % count_[a])];
    spatial_tile /= count_[a];
    AxisGeom& g = u.ax[a];
    g.axis = axes_[a];
    g.group = t.group;
    g.group_length = natten_group_length(g.axis, t.group);
    g.begin = t.begin;
    g.end = t.end;
    // Windows (and inverse windows) start and end non-decreasingly, so the union over the tile is
    // spanned by its first and last positions.
    const auto range = [&](int pos) {
      return side_ == TileSide::queries ? natten_window(g.axis, g.group_length, pos)
                                        : natten_inverse_window(g.axis, g.group_length, pos);
    };
    g.halo_begin = range(t.begin).start;
    g.halo_end = std::max(range(t.end - 1).end, g.halo_begin);  // never negative, even if empty
  }
  return u;
}

}  // namespace natten::cpu
