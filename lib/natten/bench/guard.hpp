// Regression guard: compare a run with a baseline report (any natten-bench JSON), case by case.
//
// Each guard compares a cost (lower is better) of the same (case, backend, op, problem):
//   time       seconds per call (t: the median, or the minimum with --guard-stat min)
//   peak       t * measured FMA peak of this run / FLOPs       = 1 / (fraction of peak): a slower or
//              faster machine scales the time and the peak alike
//   reference  t / the reference backend's t                   = 1 / speedup over the oracle
//              in the same run (cases of the reference backend itself are not guarded by it)
// `peak` and `reference` are yardsticks measured in the same run, so a baseline recorded on one
// machine still guards on another (see README.md for what they cannot cancel).
//
// ratio = cost_now / cost_baseline. The allowed ratio widens with the measured noise:
//   allowed = max_slowdown * (1 + min(noise_z * (noise_now + noise_base), noise_cap))
// where noise is the relative noise of each side (plus the reference's, for `reference`). The cap
// keeps a very noisy run from excusing any slowdown: a case more than max_slowdown * (1 + cap)
// slower always fails. ratio > allowed is a regression (exit 1); ratio < 1 / allowed is reported
// as faster.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "natten/io/json.hpp"
#include "natten/bench/results.hpp"

namespace natten::bench {

enum class GuardKind { time, peak, reference };
std::string_view guard_name(GuardKind k);
// "time", "peak,reference", ...; throws Error on unknown names.
std::vector<GuardKind> parse_guards(std::string_view list);

// Which time statistic the guard compares: the median (default), or the minimum, which is least
// disturbed by other load on a shared machine (pair it with the peak guard: the peak is a best
// case too).
enum class GuardStat { median, min };
GuardStat parse_guard_stat(std::string_view name);

struct GuardOptions {
  std::vector<GuardKind> kinds{GuardKind::time};
  GuardStat stat = GuardStat::median;
  double max_slowdown = 1.10;
  double noise_z = 2.0;
  double noise_cap = 0.5;
};

// The fields of one timed result that the guard reads, from a live run or a JSON file.
struct GuardEntry {
  std::string case_name, backend, op, problem;
  double median = 0, min = 0, rel_noise = 0;
  double flops = 0, peak_gflops = 0;
  std::optional<double> reference_median, reference_min, reference_rel_noise;
};

struct Baseline {
  std::string path;
  std::string cpu_model;
  std::string created;
  std::vector<GuardEntry> entries;  // timed results only
};

std::vector<GuardEntry> guard_entries(const RunReport& report);
// Reads a natten-bench JSON report. Throws Error naming the file and the bad member.
Baseline parse_baseline(const Json& json, const std::string& path);
Baseline read_baseline(const std::string& path);

struct Comparison {
  std::string case_name, backend, op;
  GuardKind kind = GuardKind::time;
  double baseline = 0, now = 0;  // costs (units depend on kind)
  double ratio = 0, allowed = 0;
  std::string verdict;  // "ok", "faster", "REGRESSION"
};

struct GuardReport {
  std::vector<Comparison> rows;
  std::vector<std::string> notes;  // cases not compared, and why
  bool regression = false;
};

GuardReport compare_runs(const std::vector<GuardEntry>& now, const Baseline& baseline, const GuardOptions& options);
std::string guard_table(const GuardReport& report, const Baseline& baseline, const GuardOptions& options);

}  // namespace natten::bench
