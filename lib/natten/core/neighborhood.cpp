#include "natten/core/neighborhood.hpp"

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

}  // namespace natten
