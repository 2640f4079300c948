#include "natten/bench/stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace natten::bench {

double quantile_sorted(const std::vector<double>& s, double q) {
  const double pos = q * static_cast<double>(s.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, s.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return s[lo] + (s[hi] - s[lo]) * frac;
}

Summary summarize(std::vector<double> samples) {
  Summary r;
  if (samples.empty()) return r;
  std::sort(samples.begin(), samples.end());
  r.count = static_cast<std::int64_t>(samples.size());
  r.min = samples.front();
  r.max = samples.back();
  r.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(samples.size());
  r.median = quantile_sorted(samples, 0.5);
  r.p10 = quantile_sorted(samples, 0.1);
  r.p90 = quantile_sorted(samples, 0.9);
  r.q1 = quantile_sorted(samples, 0.25);
  r.q3 = quantile_sorted(samples, 0.75);
  r.iqr = r.q3 - r.q1;
  std::vector<double> dev(samples.size());
  std::transform(samples.begin(), samples.end(), dev.begin(), [&](double x) { return std::fabs(x - r.median); });
  std::sort(dev.begin(), dev.end());
  r.mad = quantile_sorted(dev, 0.5);
  r.rel_noise = r.median > 0 ? 1.4826 * r.mad / r.median : 0.0;
  return r;
}

}  // namespace natten::bench
