// Two sets of timings of the same rows, base and new, turned into verdicts: natten-bench --ab
// (paired observations, one pair per round) and --compare (two reports' raw samples, unpaired).
// Per row: the ratio of medians new / base with a 95% bootstrap interval, one-sided rank tests
// both ways (ab_stats.hpp), Holm over the rows. A row is a REGRESSION only when its slowdown is
// significant at alpha AND its ratio exceeds 1 + min_slowdown.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "natten/bench/ab_stats.hpp"
#include "natten/io/json.hpp"

namespace natten::bench {

struct ComparedRow {
  std::string case_name, backend, op;
  std::vector<double> base, now;  // seconds; paired: base[k] and now[k] belong together
  RatioEstimate ratio;
  double p_slower = 1, p_faster = 1, p_slower_holm = 1, p_faster_holm = 1;
  std::string verdict = "ok";  // "REGRESSION", "faster", "slower (within ...)", "faster (within ...)", "ok"
  std::string label() const { return case_name + " / " + backend + " / " + op; }
};

struct ComparisonOptions {
  bool paired = false;
  double alpha = 0.05, min_slowdown = 0.05;
  std::uint64_t seed = 1;
};

// Fills every row's ratio, tests and verdict; true when any row is a REGRESSION.
bool decide(std::vector<ComparedRow>& rows, const ComparisonOptions& options);

// The table (title lines given by the caller), one line per row, then notes and the verdict line.
std::string comparison_table(const std::vector<ComparedRow>& rows, const std::vector<std::string>& notes, bool regression);
// Adds the comparison to a report: min_slowdown, alpha, results (every row's observations,
// ratio, interval, p-values and verdict), notes and the verdict.
void add_comparison(Json& report, const std::vector<ComparedRow>& rows, const std::vector<std::string>& notes,
                    bool regression, const ComparisonOptions& options);

}  // namespace natten::bench
