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

// P(W+ = w) under H0 for n nonzero, untied differences: each rank k joins W+ with probability 1/2.
std::vector<double> w_distribution(std::size_t n) {
  std::vector<double> p(n * (n + 1) / 2 + 1, 0.0);
  p[0] = 1.0;
  for (std::size_t k = 1; k <= n; ++k) {
    for (std::size_t w = p.size(); w-- > 0;) p[w] = 0.5 * p[w] + (w >= k ? 0.5 * p[w - k] : 0.0);
  }
  return p;
}

}  // namespace

double wilcoxon_signed_rank_greater(const std::vector<double>& d) {
  std::vector<double> mag;
  std::vector<bool> positive;
  for (double x : d) {
    if (x == 0) continue;
    mag.push_back(std::fabs(x));
    positive.push_back(x > 0);
  }
  const std::size_t n = mag.size();
  if (n == 0) return 1.0;
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return mag[x] < mag[y]; });
  std::vector<double> rank(n);
  bool ties = false;
  double tie_term = 0;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j < n && mag[order[j]] == mag[order[i]]) ++j;
    const double mean_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    for (std::size_t k = i; k < j; ++k) rank[order[k]] = mean_rank;
    const double t = static_cast<double>(j - i);
    ties = ties || j - i > 1;
    tie_term += t * t * t - t;
    i = j;
  }
  double w = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (positive[i]) w += rank[i];
  if (!ties && n <= 60) {
    const std::vector<double> p = w_distribution(n);
    double tail = 0;
    for (std::size_t k = p.size(); k-- > 0 && static_cast<double>(k) >= w;) tail += p[k];
    return std::min(1.0, tail);
  }
  const double nn = static_cast<double>(n);
  const double mean = nn * (nn + 1) / 4;
  const double var = nn * (nn + 1) * (2 * nn + 1) / 24 - tie_term / 48;
  if (!(var > 0)) return 1.0;
  const double z = (w - mean - 0.5) / std::sqrt(var);
  return 0.5 * std::erfc(z / std::sqrt(2.0));
}

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
                               std::uint64_t seed, bool paired) {
  if (a.empty() || b.empty()) fail("ratio of medians: both samples need observations ({} and {})", a.size(), b.size());
  if (paired && a.size() != b.size()) fail("ratio of medians: paired samples of {} and {}", a.size(), b.size());
  RatioEstimate e;
  const double ma = median_of(a);
  e.ratio = ma > 0 ? median_of(b) / ma : INFINITY;
  std::mt19937_64 gen(seed);
  std::vector<double> ratios, ra(a.size()), rb(b.size());
  ratios.reserve(static_cast<std::size_t>(resamples));
  std::uniform_int_distribution<std::size_t> pick_a(0, a.size() - 1), pick_b(0, b.size() - 1);
  for (int r = 0; r < resamples; ++r) {
    if (paired) {
      for (std::size_t i = 0; i < ra.size(); ++i) {
        const std::size_t k = pick_a(gen);
        ra[i] = a[k];
        rb[i] = b[k];
      }
    } else {
      for (double& x : ra) x = a[pick_a(gen)];
      for (double& x : rb) x = b[pick_b(gen)];
    }
    const double m = median_of(ra);
    ratios.push_back(m > 0 ? median_of(rb) / m : INFINITY);
  }
  std::sort(ratios.begin(), ratios.end());
  e.low = quantile_sorted(ratios, (1 - level) / 2);
  e.high = quantile_sorted(ratios, 1 - (1 - level) / 2);
  return e;
}

}  // namespace natten::bench
