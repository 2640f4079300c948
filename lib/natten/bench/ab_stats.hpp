// Statistics for comparing two builds timed in the same job (natten-bench --ab): each side has a
// handful of independent observations per case (one per process run), and the question is whether
// the new build is slower than the base by more than a set fraction, with the false alarms of
// many cases held in check.
//
// - Location: the ratio of medians, new / base, with a percentile-bootstrap confidence interval
//   (deterministic: the resampling generator is seeded).
// - Significance: the one-sided Mann-Whitney U (Wilcoxon rank-sum) test, exact when there are no
//   ties and the samples are small, else the normal approximation with tie and continuity
//   corrections. It assumes nothing about the shape of timing noise, which is one-sided and
//   heavy-tailed on a shared machine.
// - Many cases: Holm's step-down correction keeps the family-wise false-alarm rate at alpha.
#pragma once

#include <cstdint>
#include <vector>

namespace natten::bench {

// P(U >= observed) under H0, where U counts the pairs with b[j] > a[i] (ties count one half):
// small when `b` is stochastically greater than `a`. Needs both samples non-empty.
double mann_whitney_greater(const std::vector<double>& a, const std::vector<double>& b);

// Holm-adjusted p-values, in the order given (each in [0, 1], monotone in the raw ones).
std::vector<double> holm_adjust(const std::vector<double>& p);

struct RatioEstimate {
  double ratio = 1;        // median(b) / median(a)
  double low = 1, high = 1;  // bootstrap interval at `level`
};
// median(b) / median(a) and its percentile-bootstrap interval (`resamples` draws, seeded).
RatioEstimate ratio_of_medians(const std::vector<double>& a, const std::vector<double>& b, double level = 0.95,
                               int resamples = 2000, std::uint64_t seed = 1);

}  // namespace natten::bench
