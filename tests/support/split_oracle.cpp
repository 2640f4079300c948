#include "support/split_oracle.hpp"

#include <cmath>

#include "support/random_problem.hpp"

namespace natten::testing {
namespace {

struct BruteSlot {
  bool in_window = false;
  std::int64_t slot = 0, bias = 0;
};

// Is key token `key` in the window of query token `query`? If so, its slot and bias index.
BruteSlot locate(const Problem& p, std::int64_t query, std::int64_t key) {
  std::int64_t qrest = query, krest = key;
  std::array<std::int64_t, kMaxRank> qc{}, kc{};
  for (int a = kMaxRank - 1; a >= 0; --a) {
    qc[a] = qrest % p.spatial[a];
    qrest /= p.spatial[a];
    kc[a] = krest % p.spatial[a];
    krest /= p.spatial[a];
  }
  BruteSlot r{true, 0, 0};
  for (int a = 0; a < kMaxRank; ++a) {
    const NattenAxis ax = p.axis(a);
    const int d = ax.dilation;
    if (qc[a] % d != kc[a] % d) return {};
    const int g = static_cast<int>(qc[a] % d);
    const NattenRange w = natten_window(ax, natten_group_length(ax, g), static_cast<int>(qc[a] / d));
    const std::int64_t kpos = kc[a] / d;
    if (kpos < w.start || kpos >= w.end) return {};
    r.slot = r.slot * ax.kernel_size + (kpos - w.start);
    r.bias = r.bias * (2 * ax.kernel_size - 1) + (kc[a] - qc[a]) / d + ax.kernel_size - 1;
  }
  return r;
}

double dot_rows(const std::vector<double>& a, std::int64_t ia, const std::vector<double>& b, std::int64_t ib, int n) {
  double s = 0.0;
  for (int i = 0; i < n; ++i) s += a[static_cast<std::size_t>(ia + i)] * b[static_cast<std::size_t>(ib + i)];
  return s;
}

}  // namespace

std::vector<double> brute_qk(const Problem& p, const SplitQKInputs& in) {
  const std::vector<double> q = in.query.to_doubles(), k = in.key.to_doubles();
  const std::vector<double> ek = in.additional_key.defined() ? in.additional_key.to_doubles() : std::vector<double>();
  const std::vector<double> rpb = in.rpb.defined() ? in.rpb.to_doubles() : std::vector<double>();
  const std::int64_t w = window_slots(p), width = w + p.extra_kv, T = p.tokens();
  const std::int64_t rpb_head = rpb.empty() ? 0 : static_cast<std::int64_t>(rpb.size()) / p.heads_q;
  std::vector<double> out(static_cast<std::size_t>(p.batch * T * p.heads_q * width), -INFINITY);
  const int group = p.heads_q / p.heads_kv;
  for (std::int64_t b = 0; b < p.batch; ++b) {
    for (std::int64_t t = 0; t < T; ++t) {
      for (int h = 0; h < p.heads_q; ++h) {
        const std::int64_t row = ((b * T + t) * p.heads_q + h) * width;
        const std::int64_t qi = ((b * T + t) * p.heads_q + h) * p.dim;
        for (std::int64_t key = 0; key < T; ++key) {
          const BruteSlot s = locate(p, t, key);
          if (!s.in_window) continue;
          double v = dot_rows(q, qi, k, ((b * T + key) * p.heads_kv + h / group) * p.dim, p.dim);
          if (!rpb.empty()) v += rpb[static_cast<std::size_t>(h * rpb_head + s.bias)];
          out[static_cast<std::size_t>(row + s.slot)] = v;
        }
        for (std::int64_t e = 0; e < p.extra_kv; ++e)
          out[static_cast<std::size_t>(row + w + e)] =
              dot_rows(q, qi, ek, ((b * p.extra_kv + e) * p.heads_kv + h / group) * p.dim, p.dim);
      }
    }
  }
  return out;
}

std::vector<double> brute_av(const Problem& p, const SplitAVInputs& in) {
  const std::vector<double> a = in.attention.to_doubles(), v = in.value.to_doubles();
  const std::vector<double> ev =
      in.additional_value.defined() ? in.additional_value.to_doubles() : std::vector<double>();
  const std::int64_t w = window_slots(p), width = w + p.extra_kv, T = p.tokens();
  std::vector<double> out(static_cast<std::size_t>(p.batch * T * p.heads_q * p.dim_v), 0.0);
  const int group = p.heads_q / p.heads_kv;
  for (std::int64_t b = 0; b < p.batch; ++b) {
    for (std::int64_t t = 0; t < T; ++t) {
      for (int h = 0; h < p.heads_q; ++h) {
        const std::int64_t row = ((b * T + t) * p.heads_q + h) * width;
        const std::int64_t o = ((b * T + t) * p.heads_q + h) * p.dim_v;
        auto add = [&](double weight, const std::vector<double>& src, std::int64_t at) {
          for (int d = 0; d < p.dim_v; ++d)
            out[static_cast<std::size_t>(o + d)] += weight * src[static_cast<std::size_t>(at + d)];
        };
        for (std::int64_t key = 0; key < T; ++key) {
          const BruteSlot s = locate(p, t, key);
          if (s.in_window)
            add(a[static_cast<std::size_t>(row + s.slot)], v, ((b * T + key) * p.heads_kv + h / group) * p.dim_v);
        }
        for (std::int64_t e = 0; e < p.extra_kv; ++e)
          add(a[static_cast<std::size_t>(row + w + e)], ev, ((b * p.extra_kv + e) * p.heads_kv + h / group) * p.dim_v);
      }
    }
  }
  return out;
}

std::vector<double> softmax_rows(const std::vector<double>& x, std::int64_t width) {
  std::vector<double> y(x.size());
  for (std::size_t r = 0; r < x.size(); r += static_cast<std::size_t>(width)) {
    double m = -INFINITY, sum = 0.0;
    for (std::int64_t i = 0; i < width; ++i) m = std::max(m, x[r + static_cast<std::size_t>(i)]);
    for (std::int64_t i = 0; i < width; ++i) sum += std::exp(x[r + static_cast<std::size_t>(i)] - m);
    for (std::int64_t i = 0; i < width; ++i) y[r + static_cast<std::size_t>(i)] = std::exp(x[r + static_cast<std::size_t>(i)] - m) / sum;
  }
  return y;
}

std::vector<double> numeric_gradient(Tensor& x, const std::function<double()>& loss, float step) {
  std::vector<double> g(static_cast<std::size_t>(x.numel()));
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    const float orig = x.get(i);
    x.set(i, orig + step);
    const double up_x = x.get(i);
    const double up = loss();
    x.set(i, orig - step);
    const double down_x = x.get(i);
    const double down = loss();
    x.set(i, orig);
    g[static_cast<std::size_t>(i)] = (up - down) / (up_x - down_x);
  }
  return g;
}

double weighted_sum(const Tensor& a, const Tensor& g) {
  double s = 0.0;
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    const double v = a.get(i);
    if (std::isfinite(v)) s += v * static_cast<double>(g.get(i));
  }
  return s;
}

Tensor slice_sample(const Tensor& padded, int rank, std::int64_t b, const Extent& extent) {
  Shape shape{1};
  for (int a = 0; a < rank; ++a) shape.push_back(extent[static_cast<std::size_t>(a)]);
  std::int64_t inner = 1;  // elements per token (heads * dim, or heads)
  for (int a = rank + 1; a < padded.dim(); ++a) {
    shape.push_back(padded.size(a));
    inner *= padded.size(a);
  }
  Tensor out = Tensor::empty(shape, padded.dtype());
  const Tensor src = padded.contiguous();
  std::int64_t tokens = 1;
  for (int a = 0; a < rank; ++a) tokens *= extent[static_cast<std::size_t>(a)];
  for (std::int64_t t = 0; t < tokens; ++t) {
    std::int64_t rest = t, flat = 0, scale = 1;
    for (int a = rank - 1; a >= 0; --a) {
      const std::int64_t c = rest % extent[static_cast<std::size_t>(a)];
      rest /= extent[static_cast<std::size_t>(a)];
      flat += c * scale;
      scale *= padded.size(a + 1);
    }
    const std::int64_t base = (b * scale + flat) * inner;
    for (std::int64_t i = 0; i < inner; ++i) out.set(t * inner + i, src.get(base + i));
  }
  return out;
}

Problem random_split_problem(std::mt19937_64& rng, std::int64_t max_tokens) {
  SweepLimits lim;
  lim.max_tokens = max_tokens;
  lim.max_dim = 6;
  lim.allow_dim_v = false;
  Problem p = random_problem(rng, DType::f32, lim);
  p.params.scale.reset();
  p.scale = 1.0;
  return p;
}

}  // namespace natten::testing
