// The N-d neighborhood of a query token, assembled from the per-axis rule in natten/window.h.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "natten/core/problem.hpp"

namespace natten {

// Along one axis, the tokens first, first + step, ... (count of them).
struct AxisSpan {
  int first = 0;
  int step = 1;
  int count = 1;
};

using Coord = std::array<int, kMaxRank>;

inline Coord unflatten(const Problem& p, std::int64_t token) {
  Coord c{};
  for (int a = kMaxRank - 1; a >= 0; --a) {
    c[a] = static_cast<int>(token % p.spatial[a]);
    token /= p.spatial[a];
  }
  return c;
}

inline std::int64_t flatten(const Problem& p, const Coord& c) {
  return (static_cast<std::int64_t>(c[0]) * p.spatial[1] + c[1]) * p.spatial[2] + c[2];
}

// Keys attended by the query at `c` (forward window) along axis a.
inline AxisSpan window_span(const Problem& p, int a, int i) {
  const NattenAxis ax = p.axis(a);
  const int g = i % ax.dilation;
  const NattenRange r = natten_window(ax, natten_group_length(ax, g), i / ax.dilation);
  return {g + r.start * ax.dilation, ax.dilation, r.end - r.start};
}

// Queries whose window holds the key at index i along axis a (inverse window).
inline AxisSpan inverse_span(const Problem& p, int a, int i) {
  const NattenAxis ax = p.axis(a);
  const int g = i % ax.dilation;
  const NattenRange r = natten_inverse_window(ax, natten_group_length(ax, g), i / ax.dilation);
  return {g + r.start * ax.dilation, ax.dilation, r.end - r.start};
}

// Calls f(token) for every token in the product of three spans, first axis slowest (the neighbor
// order of upstream's split ops).
template <typename F>
void for_each_in_box(const Problem& p, const std::array<AxisSpan, kMaxRank>& s, F&& f) {
  for (int i0 = 0; i0 < s[0].count; ++i0) {
    for (int i1 = 0; i1 < s[1].count; ++i1) {
      for (int i2 = 0; i2 < s[2].count; ++i2) {
        f(flatten(p, {s[0].first + i0 * s[0].step, s[1].first + i1 * s[1].step, s[2].first + i2 * s[2].step}));
      }
    }
  }
}

// Calls f(key_token) for each key in the neighborhood of query token q.
template <typename F>
void for_each_neighbor(const Problem& p, std::int64_t query_token, F&& f) {
  const Coord c = unflatten(p, query_token);
  for_each_in_box(p, {window_span(p, 0, c[0]), window_span(p, 1, c[1]), window_span(p, 2, c[2])}, f);
}

// Calls f(query_token) for each query whose neighborhood holds key token k.
template <typename F>
void for_each_inverse_neighbor(const Problem& p, std::int64_t key_token, F&& f) {
  const Coord c = unflatten(p, key_token);
  for_each_in_box(p, {inverse_span(p, 0, c[0]), inverse_span(p, 1, c[1]), inverse_span(p, 2, c[2])}, f);
}

// One key of a query's window as the split ops (qk / av) address it.
struct WindowSlot {
  std::int64_t slot;  // column in the attention tensor: row-major over the kernel, first axis slowest
  std::int64_t key;   // key token
  std::int64_t bias;  // flat index into one head of rpb [2K0-1, 2K1-1, 2K2-1]
};

// Calls f(WindowSlot) for each key in the window of query token q, in slot order. On causal axes
// the window holds fewer than K keys; the slots past its end are skipped (they hold no key).
template <typename F>
void for_each_window_slot(const Problem& p, std::int64_t query_token, F&& f) {
  const Coord c = unflatten(p, query_token);
  std::array<AxisSpan, kMaxRank> s{};
  std::array<int, kMaxRank> k{};
  for (int a = 0; a < kMaxRank; ++a) {
    s[a] = window_span(p, a, c[a]);
    k[a] = p.axis(a).kernel_size;
  }
  // Bias offset along axis a of key index i: (key - query) / dilation + K - 1, exact because the
  // key and the query share a dilation group.
  auto bias = [&](int a, int i) { return (s[a].first + i * s[a].step - c[a]) / s[a].step + k[a] - 1; };
  for (int i0 = 0; i0 < s[0].count; ++i0) {
    for (int i1 = 0; i1 < s[1].count; ++i1) {
      for (int i2 = 0; i2 < s[2].count; ++i2) {
        const std::int64_t slot = (static_cast<std::int64_t>(i0) * k[1] + i1) * k[2] + i2;
        const std::int64_t b =
            (static_cast<std::int64_t>(bias(0, i0)) * (2 * k[1] - 1) + bias(1, i1)) * (2 * k[2] - 1) + bias(2, i2);
        const Coord key{s[0].first + i0 * s[0].step, s[1].first + i1 * s[1].step, s[2].first + i2 * s[2].step};
        f(WindowSlot{slot, flatten(p, key), b});
      }
    }
  }
}

// Empty when every query's window is the whole token grid (non-causal, kernel = length, hence no
// dilation; stride is then irrelevant): the problem is plain attention and may take the FMHA fast
// path. Otherwise the first axis that prevents it, e.g. "axis 1: kernel 7 < length 64".
std::string why_not_full_attention(const Problem& p);

// Number of (query, key) pairs attended per head and batch, additional KV tokens included.
std::int64_t attended_pairs(const Problem& p);

}  // namespace natten
