#include "natten/backend/cpu/split/split_args.hpp"

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
  mid = inner - 1;
  if (mid < 0) {
    mid_blocks.push_back({0, 1});
    return;
  }
  for (int grp = 0; grp < dilation[mid] && grp < length[mid]; ++grp) {
    const int positions = (length[mid] - grp + dilation[mid] - 1) / dilation[mid];
    for (int r = 0; r < positions; r += kLineRows) {
      mid_blocks.push_back({grp + r * dilation[mid], positions - r < kLineRows ? positions - r : kLineRows});
    }
  }
}

std::int64_t SplitGeometry::lines_per_batch() const {
  std::int64_t n = (length[inner] + kLineChunk - 1) / kLineChunk * static_cast<std::int64_t>(mid_blocks.size());
  for (int a = 0; a < kMaxRank; ++a) {
    if (a != inner && a != mid) n *= length[a];
  }
  return n;
}

SplitGeometry::Line SplitGeometry::line(std::int64_t unit) const {
  const std::int64_t per_batch = lines_per_batch();
  Line l{unit / per_batch, {0, 0, 0}, 1, 0};
  std::int64_t r = unit % per_batch;
  const std::int64_t chunks = (length[inner] + kLineChunk - 1) / kLineChunk;
  const int begin = static_cast<int>(r % chunks) * kLineChunk;
  r /= chunks;
  const std::int64_t blocks = static_cast<std::int64_t>(mid_blocks.size());
  const std::array<int, 2> block = mid_blocks[static_cast<std::size_t>(r % blocks)];
  r /= blocks;
  if (mid >= 0) {
    l.pos[mid] = block[0];
    l.rows = block[1];
  }
  for (int a = kMaxRank - 1; a >= 0; --a) {
    if (a == inner || a == mid) continue;
    l.pos[a] = static_cast<int>(r % length[a]);
    r /= length[a];
  }
  l.pos[inner] = begin;
  l.end = begin + kLineChunk < length[inner] ? begin + kLineChunk : length[inner];
  return l;
}

}  // namespace natten::cpu
