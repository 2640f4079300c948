#include "natten/core/neighborhood.hpp"

#include <fmt/format.h>

namespace natten {

std::int64_t attended_pairs(const Problem& p) {
  // The neighborhood is a product of per-axis spans, so the sum over queries of its size is the
  // product over axes of the per-axis sums.
  std::int64_t pairs = 1;
  for (int a = 0; a < p.rank(); ++a) {
    std::int64_t sum = 0;
    for (int i = 0; i < p.spatial[a]; ++i) sum += window_span(p, a, i).count;
    pairs *= sum;
  }
  return pairs + p.tokens() * p.extra_kv;
}

std::string why_not_full_attention(const Problem& p) {
  for (int a = 0; a < p.rank(); ++a) {
    const NattenAxis ax = p.axis(a);
    if (ax.causal) return fmt::format("axis {}: causal", a);
    if (ax.dilation != 1) return fmt::format("axis {}: dilation {}", a, ax.dilation);
    // Ask the window rule itself rather than restating it: every window must be [0, length).
    for (int j = 0; j < ax.length; ++j) {
      const NattenRange r = natten_window(ax, ax.length, j);
      if (r.start != 0 || r.end != ax.length)
        return fmt::format("axis {}: kernel {} < length {}", a, ax.kernel_size, ax.length);
    }
  }
  return {};
}

}  // namespace natten
