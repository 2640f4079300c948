// Statistics for comparing timings of two builds (natten-bench --ab) or two reports
// (--compare): is the new one slower than the base by more than a set fraction, with the false
// alarms of many cases held in check? None assumes a shape for timing noise, which is one-sided
// and heavy-tailed on a shared machine.
//
// - Location: the ratio of medians, new / base, with a percentile-bootstrap confidence interval
//   (deterministic: the resampling generator is seeded). With paired observations (one pair per
//   round of --ab) the bootstrap resamples whole rounds.
// - Significance, paired (--ab: both builds run back to back in each round, so they share the
//   machine's load of that moment): the one-sided Wilcoxon signed-rank test on the per-round log
//   ratios. Unpaired (two reports' raw samples): the one-sided Mann-Whitney U test. Both exact
//   when there are no ties and the samples are small (recursions over probabilities: no
//   cancellation), else the normal approximation with tie and continuity corrections.
// - Many cases: Holm's step-down correction keeps the family-wise false-alarm rate at alpha.
#pragma once

#include <cstdint>
#include <vector>

namespace natten::bench {

// P(U >= observed) under H0, where U counts the pairs with b[j] > a[i] (ties count one half):
// small when `b` is stochastically greater than `a`. Needs both samples non-empty.
double mann_whitney_greater(const std::vector<double>& a, const std::vector<double>& b);

// P(W+ >= observed) under H0 for the differences `d` (zeros dropped, ties given mean ranks): small
// when the differences are mostly positive. 1 when every difference is zero.
double wilcoxon_signed_rank_greater(const std::vector<double>& d);

// Holm-adjusted p-values, in the order given (each in [0, 1], monotone in the raw ones).
std::vector<double> holm_adjust(const std::vector<double>& p);

struct RatioEstimate {
  double ratio = 1;        // median(b) / median(a)
  double low = 1, high = 1;  // bootstrap interval at `level`
};
// median(b) / median(a) and its percentile-bootstrap interval (`resamples` draws, seeded). Paired:
// a[i] and b[i] belong together (same size) and are resampled together.
RatioEstimate ratio_of_medians(const std::vector<double>& a, const std::vector<double>& b, double level = 0.95,
                               int resamples = 2000, std::uint64_t seed = 1, bool paired = false);

}  // namespace natten::bench
