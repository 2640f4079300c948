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

#include "natten/backend/cpu/split/split_args.hpp"

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

// The box of the spans `spans` (windows or inverse windows) over the line's positions: per axis,
// from the first span start to the last span end (spans move monotonically along an axis, and
// along mid the line's positions share a dilation group, so this is their union there).
inline TokenBox line_box(const SplitGeometry& g, const std::array<std::vector<Span>, kMaxRank>& spans,
                         const SplitGeometry::Line& l) {
  TokenBox box;
  for (int a = 0; a < kMaxRank; ++a) {
    const int d = g.dilation[a];
    int n = 1, step = 0;  // the line's positions on this axis: pos[a] + i * step, i < n
    if (a == g.inner) {
      n = l.end - l.pos[a];
      step = 1;
    } else if (a == g.mid) {
      n = l.rows;
      step = d;
    }
    int lo = g.length[a], hi = 0;
    for (int i = 0; i < n; ++i) {
      const Span s = spans[a][static_cast<std::size_t>(l.pos[a] + i * step)];
      if (s.count == 0) continue;
      lo = std::min(lo, s.first);
      hi = std::max(hi, s.first + (s.count - 1) * d + 1);
    }
    box.step[a] = a == g.inner ? 1 : d;  // outer axes: one dilation group
    box.first[a] = hi > lo ? lo : 0;
    box.count[a] = hi > lo ? (hi - lo + box.step[a] - 1) / box.step[a] : 0;
  }
  return box;
}

// The window slots of query coordinate q: calls f(slot, box row of the key, bias index) in slot
// order (slots a causal window lacks are skipped). The row is the key's row in `box` (which must
// hold the window), or 0 without a box. Everything is stepped incrementally: per axis, the bias
// index is (key - query) / dilation + K - 1 and the box row (key - box start) / box step, both
// affine in the key's index inside the window, so the loops hold no divisions.
template <class F>
void for_each_slot(const SplitGeometry& g, const std::array<int, kMaxRank>& q, const TokenBox* box, F&& f) {
  std::array<Span, kMaxRank> w;
  std::array<int, kMaxRank> bias0{}, row0{}, row_step{}, row_stride{};
  int stride = 1;
  for (int a = kMaxRank - 1; a >= 0; --a) {
    w[a] = g.window[a][static_cast<std::size_t>(q[a])];
    bias0[a] = (w[a].first - q[a]) / g.dilation[a] + g.kernel[a] - 1;
    if (box != nullptr) {
      row0[a] = (w[a].first - box->first[a]) / box->step[a];
      row_step[a] = g.dilation[a] / box->step[a];
      row_stride[a] = stride;
      stride *= box->count[a];
    }
  }
  const int nb1 = 2 * g.kernel[1] - 1, nb2 = 2 * g.kernel[2] - 1;
  for (int i0 = 0; i0 < w[0].count; ++i0) {
    const int r0 = (row0[0] + i0 * row_step[0]) * row_stride[0];
    for (int i1 = 0; i1 < w[1].count; ++i1) {
      const int r1 = r0 + (row0[1] + i1 * row_step[1]) * row_stride[1];
      const int b1 = ((bias0[0] + i0) * nb1 + bias0[1] + i1) * nb2 + bias0[2];
      const int s1 = (i0 * g.kernel[1] + i1) * g.kernel[2];
      for (int i2 = 0; i2 < w[2].count; ++i2) f(s1 + i2, r1 + (row0[2] + i2 * row_step[2]) * row_stride[2], b1 + i2);
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
