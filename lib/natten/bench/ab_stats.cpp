#include "natten/bench/ab_stats.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "natten/bench/stats.hpp"
#include "natten/core/error.hpp"

namespace natten::bench {
namespace {

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return quantile_sorted(v, 0.5);
}

// P(U = u) under H0 for every u in [0, n*m], U = #pairs (a_i < b_j). Conditioning on whether the
// largest of all n + m values is an a (it exceeds no b: U unchanged) or a b (it exceeds all n a's:
// U grows by n) gives p(n, m, u) = n/(n+m) p(n-1, m, u) + m/(n+m) p(n, m-1, u-n): every term is a
// positive probability, so the small tails the test needs are computed without cancellation.
std::vector<double> u_distribution(std::size_t n, std::size_t m) {
  const std::size_t len = n * m + 1;
  std::vector<std::vector<double>> prev(n + 1, std::vector<double>(len, 0.0)), cur = prev;
  for (std::size_t j = 0; j <= m; ++j) {
    for (std::size_t i = 0; i <= n; ++i) {
      std::vector<double>& c = cur[i];
      std::fill(c.begin(), c.end(), 0.0);
      if (i == 0 || j == 0) {
        c[0] = 1.0;
        continue;
      }
      const double wa = static_cast<double>(i) / static_cast<double>(i + j), wb = 1.0 - wa;
      for (std::size_t u = 0; u < len; ++u) {
        c[u] = wa * cur[i - 1][u] + (u >= i ? wb * prev[i][u - i] : 0.0);
      }
    }
    std::swap(prev, cur);
  }
  return prev[n];
}

}  // namespace

double mann_whitney_greater(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.empty() || b.empty()) fail("Mann-Whitney test: both samples need observations ({} and {})", a.size(), b.size());
  const std::size_t n = a.size(), m = b.size();
  double u = 0;
  bool ties = false;
  for (double x : a) {
    for (double y : b) {
      if (y > x) u += 1;
      else if (y == x) u += 0.5, ties = true;
    }
  }
  if (!ties && n * m <= 2500) {  // up to 50 observations a side: a fraction of a second
    const std::vector<double> c = u_distribution(n, m);
    double tail = 0;
    for (std::size_t k = c.size(); k-- > 0 && static_cast<double>(k) >= u;) tail += c[k];
    return std::min(1.0, tail);
  }
  // Normal approximation with the tie-corrected variance and a continuity correction.
  std::vector<double> all(a);
  all.insert(all.end(), b.begin(), b.end());
  std::sort(all.begin(), all.end());
  double tie_term = 0;
  for (std::size_t i = 0; i < all.size();) {
    std::size_t j = i;
    while (j < all.size() && all[j] == all[i]) ++j;
    const double t = static_cast<double>(j - i);
    tie_term += t * t * t - t;
    i = j;
  }
  const double N = static_cast<double>(n + m), nn = static_cast<double>(n), mm = static_cast<double>(m);
  const double mean = nn * mm / 2;
  const double var = nn * mm / 12 * ((N + 1) - tie_term / (N * (N - 1)));
  if (!(var > 0)) return 1.0;  // every observation equal: no evidence either way
  const double z = (u - mean - 0.5) / std::sqrt(var);
  return 0.5 * std::erfc(z / std::sqrt(2.0));
}

std::vector<double> holm_adjust(const std::vector<double>& p) {
  std::vector<std::size_t> order(p.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return p[x] < p[y]; });
  std::vector<double> adj(p.size());
  double running = 0;
  for (std::size_t r = 0; r < order.size(); ++r) {
    const double v = std::min(1.0, static_cast<double>(p.size() - r) * p[order[r]]);
    running = std::max(running, v);
    adj[order[r]] = running;
  }
  return adj;
}

RatioEstimate ratio_of_medians(const std::vector<double>& a, const std::vector<double>& b, double level, int resamples,
                               std::uint64_t seed) {
  if (a.empty() || b.empty()) fail("ratio of medians: both samples need observations ({} and {})", a.size(), b.size());
  RatioEstimate e;
  const double ma = median_of(a);
  e.ratio = ma > 0 ? median_of(b) / ma : INFINITY;
  std::mt19937_64 gen(seed);
  std::vector<double> ratios, ra(a.size()), rb(b.size());
  ratios.reserve(static_cast<std::size_t>(resamples));
  std::uniform_int_distribution<std::size_t> pick_a(0, a.size() - 1), pick_b(0, b.size() - 1);
  for (int r = 0; r < resamples; ++r) {
    for (double& x : ra) x = a[pick_a(gen)];
    for (double& x : rb) x = b[pick_b(gen)];
    const double m = median_of(ra);
    ratios.push_back(m > 0 ? median_of(rb) / m : INFINITY);
  }
  std::sort(ratios.begin(), ratios.end());
  e.low = quantile_sorted(ratios, (1 - level) / 2);
  e.high = quantile_sorted(ratios, 1 - (1 - level) / 2);
  return e;
}

}  // namespace natten::bench
