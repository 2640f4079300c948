// The token boxes and (query, key) pair lists of one split-op unit (a line, split_args.hpp).
//
// Box of a line of queries: on every outer axis the window of the line's position there, on the
// inner axis the range of tokens from the first window start to the last window end of the line
// (windows move monotonically, so this is their union; with dilation it also holds tokens of other
// groups, which are loaded but never paired). The inverse box of a line of keys is the same with
// inverse windows. A box's rows are stored row-major, first axis slowest.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "natten/backend/cpu/split_args.hpp"

namespace natten::cpu {

struct TokenBox {
  std::array<int, kMaxRank> first{0, 0, 0}, step{1, 1, 1}, count{1, 1, 1};

  std::int64_t size() const { return static_cast<std::int64_t>(count[0]) * count[1] * count[2]; }
  // Row of the token at coordinate c (which the box must hold).
  int index(const std::array<int, kMaxRank>& c) const {
    int r = 0;
    for (int a = 0; a < kMaxRank; ++a) r = r * count[a] + (c[a] - first[a]) / step[a];
    return r;
  }
  // Calls f(row, coordinate) for every position of the box, row-major.
  template <class F>
  void for_each(F&& f) const {
    int r = 0;
    std::array<int, kMaxRank> c{};
    for (int i0 = 0; i0 < count[0]; ++i0) {
      c[0] = first[0] + i0 * step[0];
      for (int i1 = 0; i1 < count[1]; ++i1) {
        c[1] = first[1] + i1 * step[1];
        for (int i2 = 0; i2 < count[2]; ++i2, ++r) {
          c[2] = first[2] + i2 * step[2];
          f(r, c);
        }
      }
    }
  }
};

// The box of the spans `spans` (window or inverse) over the line's positions.
inline TokenBox line_box(const SplitGeometry& g, const std::array<std::vector<Span>, kMaxRank>& spans,
                         const SplitGeometry::Line& l) {
  TokenBox box;
  for (int a = 0; a < kMaxRank; ++a) {
    if (a == g.inner) continue;
    const Span s = spans[a][static_cast<std::size_t>(l.pos[a])];
    box.first[a] = s.first;
    box.step[a] = g.dilation[a];
    box.count[a] = s.count;
  }
  const int in = g.inner;
  int lo = g.length[in], hi = 0;
  for (int i = l.pos[in]; i < l.end; ++i) {
    const Span s = spans[in][static_cast<std::size_t>(i)];
    if (s.count == 0) continue;
    lo = std::min(lo, s.first);
    hi = std::max(hi, s.first + (s.count - 1) * g.dilation[in] + 1);
  }
  box.first[in] = lo;
  box.count[in] = std::max(hi - lo, 0);
  return box;
}

// The window slots of query coordinate q: calls f(slot, key coordinate, bias index) in slot order
// (slots a causal window lacks are skipped).
template <class F>
void for_each_slot(const SplitGeometry& g, const std::array<int, kMaxRank>& q, F&& f) {
  std::array<Span, kMaxRank> w;
  for (int a = 0; a < kMaxRank; ++a) w[a] = g.window[a][static_cast<std::size_t>(q[a])];
  std::array<int, kMaxRank> k{};
  for (int i0 = 0; i0 < w[0].count; ++i0) {
    k[0] = w[0].first + i0 * g.dilation[0];
    for (int i1 = 0; i1 < w[1].count; ++i1) {
      k[1] = w[1].first + i1 * g.dilation[1];
      for (int i2 = 0; i2 < w[2].count; ++i2) {
        k[2] = w[2].first + i2 * g.dilation[2];
        const int slot = (i0 * g.kernel[1] + i1) * g.kernel[2] + i2;
        int bias = 0;  // per axis (key - query) / dilation + K - 1
        for (int a = 0; a < kMaxRank; ++a) bias = bias * (2 * g.kernel[a] - 1) + (k[a] - q[a]) / g.dilation[a] + g.kernel[a] - 1;
        f(slot, k, bias);
      }
    }
  }
}

// The queries whose window holds key coordinate k: calls f(query coordinate, slot of k there).
template <class F>
void for_each_inverse(const SplitGeometry& g, const std::array<int, kMaxRank>& k, F&& f) {
  std::array<Span, kMaxRank> v;
  for (int a = 0; a < kMaxRank; ++a) v[a] = g.inverse[a][static_cast<std::size_t>(k[a])];
  std::array<int, kMaxRank> q{}, s{};
  const auto slot_on = [&](int a) {
    return (k[a] - g.window[a][static_cast<std::size_t>(q[a])].first) / g.dilation[a];
  };
  for (int i0 = 0; i0 < v[0].count; ++i0) {
    q[0] = v[0].first + i0 * g.dilation[0];
    s[0] = slot_on(0);
    for (int i1 = 0; i1 < v[1].count; ++i1) {
      q[1] = v[1].first + i1 * g.dilation[1];
      s[1] = slot_on(1);
      for (int i2 = 0; i2 < v[2].count; ++i2) {
        q[2] = v[2].first + i2 * g.dilation[2];
        s[2] = slot_on(2);
        f(q, (s[0] * g.kernel[1] + s[1]) * g.kernel[2] + s[2]);
      }
    }
  }
}

}  // namespace natten::cpu
