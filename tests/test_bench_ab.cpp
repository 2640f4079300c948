// natten-bench --ab: the statistics (Wilcoxon signed-rank, Mann-Whitney U, Holm, bootstrap ratio
// of medians) against
// values worked out by hand, and the mode end to end: the same build twice (A/A) is never
// flagged, and a 20% slowdown injected into one cpu kernel (natten-bench-fault) is flagged in
// that row only. These tests time real runs, so CTest runs them alone (RUN_SERIAL).
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include <fmt/format.h>

#include "natten/bench/ab_stats.hpp"
#include "natten/app/machine.hpp"
#include "natten/io/files.hpp"
#include "natten/io/json.hpp"
#include "support/run_command.hpp"
#include "support/temp_file.hpp"

namespace natten {
namespace {

using testing::CommandResult;
using testing::TempFile;

TEST(AbStats, MannWhitneyExactTails) {
  // Complete separation: one arrangement in C(n+m, n).
  EXPECT_NEAR(bench::mann_whitney_greater({1, 2, 3}, {4, 5, 6}), 1.0 / 20, 1e-12);
  EXPECT_NEAR(bench::mann_whitney_greater({1, 2, 3, 4, 5}, {6, 7, 8, 9, 10}), 1.0 / 252, 1e-12);
  EXPECT_NEAR(bench::mann_whitney_greater({4, 5, 6}, {1, 2, 3}), 1.0, 1e-12);
  // a = {1, 3}, b = {2, 4}: U = 3 of 4; arrangements with U >= 3: U = 3 and U = 4 of C(4,2) = 6.
  EXPECT_NEAR(bench::mann_whitney_greater({1, 3}, {2, 4}), 2.0 / 6, 1e-12);
  // Without ties the two one-sided tails overlap in exactly P(U = u).
  const std::vector<double> a = {1.0, 2.5, 3.1, 7.0, 8.2}, b = {2.0, 4.0, 5.5, 9.0};
  const double up = bench::mann_whitney_greater(a, b), down = bench::mann_whitney_greater(b, a);
  EXPECT_GT(up + down, 1.0);
  EXPECT_LT(up + down, 1.2);
  // 50 vs 50 fully separated, exact: 1 / C(100, 50) = 9.9e-30, computed without cancellation.
  std::vector<double> lo, hi;
  for (int i = 0; i < 50; ++i) lo.push_back(i), hi.push_back(1000 + i);
  EXPECT_NEAR(bench::mann_whitney_greater(lo, hi) / 9.911653e-30, 1.0, 1e-5);
  // Beyond the exact range the normal approximation takes over: 60 vs 60 is far in its tail.
  lo.clear(), hi.clear();
  for (int i = 0; i < 60; ++i) lo.push_back(i), hi.push_back(1000 + i);
  EXPECT_LT(bench::mann_whitney_greater(lo, hi), 1e-15);
}

TEST(AbStats, MannWhitneyWithTiesUsesTheNormalApproximation) {
  // Everything equal: no evidence either way.
  EXPECT_EQ(bench::mann_whitney_greater({1, 1, 1}, {1, 1, 1}), 1.0);
  // Ties, but a clear shift: small p; reversed: large.
  const std::vector<double> a = {1, 1, 2, 2, 3, 3, 3, 4}, b = {3, 4, 4, 5, 5, 6, 6, 6};
  EXPECT_LT(bench::mann_whitney_greater(a, b), 0.01);
  EXPECT_GT(bench::mann_whitney_greater(b, a), 0.99);
}

TEST(AbStats, WilcoxonSignedRankExactTails) {
  EXPECT_NEAR(bench::wilcoxon_signed_rank_greater({1, 2, 3}), 1.0 / 8, 1e-12);        // every sign positive
  EXPECT_NEAR(bench::wilcoxon_signed_rank_greater({0.1, 0.2, 0.3, 0.4, 0.5}), 1.0 / 32, 1e-12);
  // {-1, 2, 3}: W+ = 2 + 3 = 5; subsets of ranks {1, 2, 3} summing to 5 or more: {2,3}, {1,2,3}.
  EXPECT_NEAR(bench::wilcoxon_signed_rank_greater({-1, 2, 3}), 2.0 / 8, 1e-12);
  EXPECT_NEAR(bench::wilcoxon_signed_rank_greater({-1, -2, -3}), 1.0, 1e-12);
  // Zeros carry no sign and are dropped (Wilcoxon's rule): {0, 1, 2} is {1, 2}.
  EXPECT_NEAR(bench::wilcoxon_signed_rank_greater({0, 1, 2}), 1.0 / 4, 1e-12);
  EXPECT_EQ(bench::wilcoxon_signed_rank_greater({0, 0, 0}), 1.0);
  // 40 positive differences: 2^-40, exactly.
  std::vector<double> d;
  for (int i = 1; i <= 40; ++i) d.push_back(0.01 * i);
  EXPECT_NEAR(bench::wilcoxon_signed_rank_greater(d) / std::ldexp(1.0, -40), 1.0, 1e-9);
  // Tied magnitudes: the normal approximation, still decisive for a clear shift.
  // (12 positive differences: exact 2^-12 = 2.4e-4 without ties; the approximation says 1.1e-3.)
  EXPECT_LT(bench::wilcoxon_signed_rank_greater({1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3}), 0.002);
  EXPECT_GT(bench::wilcoxon_signed_rank_greater({-1, -1, -1, -1, -2, -2, -2, -2, -2, -2, -3, -3}), 0.99);
}

TEST(AbStats, HolmAdjustment) {
  const std::vector<double> adj = bench::holm_adjust({0.01, 0.04, 0.03});
  EXPECT_NEAR(adj[0], 0.03, 1e-12);  // 3 * 0.01
  EXPECT_NEAR(adj[2], 0.06, 1e-12);  // 2 * 0.03
  EXPECT_NEAR(adj[1], 0.06, 1e-12);  // 1 * 0.04, raised to keep the order
  EXPECT_EQ(bench::holm_adjust({0.9, 0.8})[0], 1.0);  // capped at 1
}

TEST(AbStats, RatioOfMediansAndItsInterval) {
  const bench::RatioEstimate e = bench::ratio_of_medians({1, 1, 1, 1}, {2, 2, 2, 2});
  EXPECT_EQ(e.ratio, 2.0);
  EXPECT_EQ(e.low, 2.0);
  EXPECT_EQ(e.high, 2.0);
  const bench::RatioEstimate n = bench::ratio_of_medians({1.0, 1.1, 0.9, 1.05, 0.95}, {1.2, 1.3, 1.1, 1.25, 1.15});
  EXPECT_NEAR(n.ratio, 1.2, 1e-12);
  EXPECT_LT(n.low, n.ratio);
  EXPECT_GT(n.high, n.ratio);
  // Paired resampling keeps each round's two values together: a constant ratio has no spread.
  const bench::RatioEstimate p = bench::ratio_of_medians({1, 3, 2, 5, 4}, {1.1, 3.3, 2.2, 5.5, 4.4}, 0.95, 2000, 1, true);
  EXPECT_NEAR(p.low, 1.1, 1e-12);
  EXPECT_NEAR(p.high, 1.1, 1e-12);
  // Seeded: the same data give the same interval.
  const bench::RatioEstimate again = bench::ratio_of_medians({1.0, 1.1, 0.9, 1.05, 0.95}, {1.2, 1.3, 1.1, 1.25, 1.15});
  EXPECT_EQ(n.low, again.low);
  EXPECT_EQ(n.high, again.high);
}

// Two cases, forward and backward, cpu on one thread: four rows, short timing budgets.
const char* kCases =
    "[defaults]\nbackend = cpu\nbackward = true\nheads = 2\ndim = 16\nthreads = 1\n"
    "[2d]\ninput_size = 24,24\nwindow_size = 5\n"
    "[3d]\ninput_size = 8,8,8\nwindow_size = 3\n";
const std::string kTiming = " --warmup-time 0.01 --min-time 0.03 --max-time 0.06 --ab-rounds 12 ";

CommandResult ab(const std::string& ini, const std::string& extra, const std::string& env = "") {
  return testing::run_command(env + " " + NATTEN_BENCH_EXE + " --ab " + NATTEN_BENCH_EXE + " -q --config " + ini +
                              kTiming + extra);
}

// Timing claims mean nothing in a sanitizer build (every access checked, about 3x slower).
#define REQUIRE_PLAIN_BUILD() \
  if (app::build_info().sanitizers) GTEST_SKIP() << "timings of a sanitizer build say nothing"

TEST(AbMode, SameBuildTwiceIsNeverFlagged) {
  REQUIRE_PLAIN_BUILD();
  const TempFile ini(".ini", kCases), out(".json");
  for (int seed : {1, 2, 3}) {
    const CommandResult r = ab(ini.path(), fmt::format("--ab-seed {} --json {}", seed, out.path()));
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("verdict: ok (4 rows compared)"), std::string::npos) << r.out;
    const Json j = Json::parse(read_file(out.path()), out.path());
    EXPECT_EQ(j.at("schema", "").as_string(""), "natten-bench-ab/1");
    ASSERT_EQ(j.at("results", "").elements().size(), 4u);
    for (const Json& row : j.at("results", "").elements()) {
      EXPECT_EQ(row.at("base_s", "").elements().size(), 12u);
      EXPECT_NE(row.at("verdict", "").as_string(""), "REGRESSION");
    }
  }
}

TEST(AbMode, InjectedSlowdownIsFlaggedInThatRowOnly) {
  REQUIRE_PLAIN_BUILD();
  const TempFile ini(".ini", kCases), out(".json");
  const CommandResult r = ab(ini.path(), std::string("--ab-new ") + NATTEN_BENCH_FAULT_EXE + " --json " + out.path(),
                             "NATTEN_FAULT=op=forward,rank=3,time=0.2");
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("verdict: REGRESSION"), std::string::npos) << r.out;
  const Json j = Json::parse(read_file(out.path()), out.path());
  for (const Json& row : j.at("results", "").elements()) {
    const bool slowed = row.at("case", "").as_string("") == "3d" && row.at("op", "").as_string("") == "forward";
    const std::string verdict = row.at("verdict", "").as_string("");
    if (slowed) {
      EXPECT_EQ(verdict, "REGRESSION") << r.out;
      EXPECT_GT(row.at("ratio", "").as_number(""), 1.1) << r.out;
      EXPECT_LT(row.at("ratio", "").as_number(""), 1.4) << r.out;
    } else {
      EXPECT_NE(verdict, "REGRESSION") << r.out;
    }
  }
}

TEST(AbMode, UsageErrors) {
  for (const char* args : {"--ab /nonexistent/natten-bench -i 16 -w 3", "--ab-rounds 5 -i 16 -w 3",
                           "--ab " NATTEN_BENCH_EXE " --ab-rounds 2 -i 16 -w 3",
                           "--ab " NATTEN_BENCH_EXE " --baseline x.json -i 16 -w 3",
                           "--ab " NATTEN_BENCH_EXE " --alpha 1.5 -i 16 -w 3"}) {
    const CommandResult r = testing::run_command(std::string(NATTEN_BENCH_EXE) + " " + args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    EXPECT_EQ(r.err.rfind("natten-bench: error: ", 0), 0u) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << "\n" << r.err;
  }
}

}  // namespace
}  // namespace natten
