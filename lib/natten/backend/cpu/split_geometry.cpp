#include "natten/backend/cpu/split_args.hpp"

#include "natten/core/neighborhood.hpp"

namespace natten::cpu {

SplitGeometry::SplitGeometry(const Problem& p)
    : batch(p.batch), tokens(p.tokens()), extra(p.extra_kv), inner(p.rank() - 1), heads_q(p.heads_q),
      heads_kv(p.heads_kv) {
  for (int a = 0; a < kMaxRank; ++a) {
    const NattenAxis ax = p.axis(a);
    length[a] = ax.length;
    kernel[a] = ax.kernel_size;
    dilation[a] = ax.dilation;
    slots *= kernel[a];
    bias_size *= 2 * kernel[a] - 1;
    for (int i = 0; i < length[a]; ++i) {
      const AxisSpan w = window_span(p, a, i), v = inverse_span(p, a, i);
      window[a].push_back({w.first, w.count});
      inverse[a].push_back({v.first, v.count});
    }
  }
}

std::int64_t SplitGeometry::lines_per_batch() const {
  std::int64_t n = (length[inner] + kLineChunk - 1) / kLineChunk;
  for (int a = 0; a < kMaxRank; ++a) {
    if (a != inner) n *= length[a];
  }
  return n;
}

SplitGeometry::Line SplitGeometry::line(std::int64_t unit) const {
  const std::int64_t per_batch = lines_per_batch();
  Line l{unit / per_batch, {0, 0, 0}, 0};
  std::int64_t r = unit % per_batch;
  const std::int64_t chunks = (length[inner] + kLineChunk - 1) / kLineChunk;
  const int begin = static_cast<int>(r % chunks) * kLineChunk;
  r /= chunks;
  for (int a = kMaxRank - 1; a >= 0; --a) {
    if (a == inner) continue;
    l.pos[a] = static_cast<int>(r % length[a]);
    r /= length[a];
  }
  l.pos[inner] = begin;
  l.end = begin + kLineChunk < length[inner] ? begin + kLineChunk : length[inner];
  return l;
}

}  // namespace natten::cpu
