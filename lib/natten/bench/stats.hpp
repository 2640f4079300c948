// Summary statistics of timing samples (seconds per call).
//
// Robust statistics first: a benchmark on a shared machine sees one-sided outliers (preemption,
// page faults), so location is the median and spread the median absolute deviation (MAD). The
// relative noise is 1.4826 * MAD / median: for Gaussian noise it equals the coefficient of
// variation, but a few outliers cannot inflate it.
#pragma once

#include <cstdint>
#include <vector>

namespace natten::bench {

struct Summary {
  std::int64_t count = 0;
  double min = 0, max = 0, mean = 0;
  double median = 0;
  double p10 = 0, p90 = 0;  // 10th / 90th percentiles
  double q1 = 0, q3 = 0;    // quartiles; iqr = q3 - q1
  double iqr = 0;
  double mad = 0;        // median absolute deviation from the median
  double rel_noise = 0;  // 1.4826 * mad / median (0 when median is 0)
};

// Quantile q in [0, 1] of sorted samples, linear interpolation between order statistics
// (Hyndman-Fan type 7, as numpy's default). Requires a non-empty sorted vector.
double quantile_sorted(const std::vector<double>& sorted, double q);

// Summary of `samples` (any order). An empty vector gives an all-zero summary.
Summary summarize(std::vector<double> samples);

}  // namespace natten::bench
