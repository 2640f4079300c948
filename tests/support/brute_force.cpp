#include "support/brute_force.hpp"

#include <algorithm>
#include <cmath>

namespace natten::testing {

bool brute_axis_attends(int length, int kernel, int stride, int dilation, bool causal, int query, int key) {
  if (query % dilation != key % dilation) return false;  // neighborhoods never leave a dilation group
  const int group = query % dilation;
  int group_length = 0;
  for (int x = group; x < length; x += dilation) ++group_length;
  const int j = query / dilation;
  const int t = key / dilation;
  const int block_first = j - j % stride;  // the query's stride block starts here
  if (causal) {
    const int leader = std::min(block_first + stride - 1, group_length - 1);
    return std::max(leader - kernel + 1, 0) <= t && t <= j;
  }
  const int leader = std::min(block_first + stride / 2, group_length - 1);
  int lo = leader - kernel / 2;  // kernel/2 to the left, the rest to the right
  int hi = lo + kernel - 1;
  if (lo < 0) {  // shift, never truncate
    hi -= lo;
    lo = 0;
  }
  if (hi > group_length - 1) {
    lo -= hi - (group_length - 1);
    hi = group_length - 1;
  }
  return lo <= t && t <= hi;
}

namespace {

std::array<int, kMaxRank> coords(const Problem& p, std::int64_t token) {
  std::array<int, kMaxRank> c{};
  for (int a = kMaxRank - 1; a >= 0; --a) {
    c[a] = static_cast<int>(token % p.spatial[a]);
    token /= p.spatial[a];
  }
  return c;
}

}  // namespace

std::vector<std::int64_t> brute_neighbors(const Problem& p, std::int64_t query_token) {
  const auto qc = coords(p, query_token);
  std::vector<std::int64_t> keys;
  for (std::int64_t key = 0; key < p.tokens(); ++key) {
    const auto kc = coords(p, key);
    bool in = true;
    for (int a = 0; a < p.rank(); ++a) {
      in = in && brute_axis_attends(static_cast<int>(p.spatial[a]), p.params.kernel[a], p.params.stride[a],
                                    p.params.dilation[a], p.params.causal[a], qc[a], kc[a]);
    }
    if (in) keys.push_back(key);
  }
  return keys;
}

DoubleTensors to_doubles(const NAInputs& in) {
  auto d = [](const Tensor& t) { return t.defined() ? t.to_doubles() : std::vector<double>(); };
  return {d(in.query), d(in.key), d(in.value), d(in.additional_key), d(in.additional_value)};
}

DoubleForward brute_forward(const Problem& p, const DoubleTensors& x) {
  const std::int64_t T = p.tokens();
  const int Hq = p.heads_q, Hkv = p.heads_kv, D = p.dim, Dv = p.dim_v;
  DoubleForward r;
  r.out.assign(static_cast<std::size_t>(p.batch * T * Hq * Dv), 0.0);
  r.lse.assign(static_cast<std::size_t>(p.batch * T * Hq), 0.0);
  for (std::int64_t b = 0; b < p.batch; ++b) {
    for (std::int64_t t = 0; t < T; ++t) {
      const std::vector<std::int64_t> keys = brute_neighbors(p, t);
      for (int h = 0; h < Hq; ++h) {
        const int kvh = h * Hkv / Hq;  // GQA: Hq/Hkv consecutive query heads share a KV head
        const double* q = &x.q[static_cast<std::size_t>(((b * T + t) * Hq + h) * D)];
        // Rows of (key vector, value vector) attended, neighborhood first, then additional tokens.
        std::vector<std::pair<const double*, const double*>> rows;
        for (std::int64_t k : keys) {
          rows.emplace_back(&x.k[static_cast<std::size_t>(((b * T + k) * Hkv + kvh) * D)],
                            &x.v[static_cast<std::size_t>(((b * T + k) * Hkv + kvh) * Dv)]);
        }
        for (std::int64_t e = 0; e < p.extra_kv; ++e) {
          rows.emplace_back(&x.ak[static_cast<std::size_t>(((b * p.extra_kv + e) * Hkv + kvh) * D)],
                            &x.av[static_cast<std::size_t>(((b * p.extra_kv + e) * Hkv + kvh) * Dv)]);
        }
        std::vector<double> s;
        for (const auto& row : rows) {
          double dot = 0.0;
          for (int d = 0; d < D; ++d) dot += q[d] * row.first[d];
          s.push_back(p.scale * dot);
        }
        const double m = *std::max_element(s.begin(), s.end());
        double z = 0.0;
        for (double v : s) z += std::exp(v - m);
        double* o = &r.out[static_cast<std::size_t>(((b * T + t) * Hq + h) * Dv)];
        for (std::size_t n = 0; n < rows.size(); ++n) {
          const double w = std::exp(s[n] - m) / z;
          for (int d = 0; d < Dv; ++d) o[d] += w * rows[n].second[d];
        }
        r.lse[static_cast<std::size_t>((b * T + t) * Hq + h)] = m + std::log(z);
      }
    }
  }
  return r;
}

}  // namespace natten::testing
