// Wall-time regression guard: compare a run with a stored baseline report (natten-bench --json),
// case by case, only where the two were measured on the same kind of machine.
//
// A wall time belongs to its machine: a baseline records the machine's fingerprint
// (fingerprint.hpp: CPU vendor/family/model, SIMD target, compiler, flags) and the guard compares
// times only when this run's fingerprint is the same; otherwise it reports "no baseline for this
// machine" and passes. A baseline may be a directory holding one report per machine (the store
// natten-bench --save-baseline DIR/ writes): the guard picks the one for this machine.
//
// On the same machine the guard compares t (the median, or the minimum with --guard-stat min) of
// the same (case, backend, op, problem, threads). ratio = t_now / t_baseline; the allowed ratio
// widens with the measured noise of both sides:
//   allowed = max_slowdown * (1 + min(noise_z * (noise_now + noise_base), noise_cap))
// ratio > allowed is a regression (exit 1); ratio < 1 / allowed is reported as faster. The time
// relative to the measured FMA peak and to the reference backend are shown beside it as
// diagnostics: both move with the CPU generation (a Zen 5 core has twice the FMA pipes of a Zen 4
// one), so they never gate. The deterministic guard CI gates on is work_guard.hpp.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "natten/bench/fingerprint.hpp"
#include "natten/bench/results.hpp"
#include "natten/io/json.hpp"

namespace natten::bench {

// Which time statistic the guard compares: the median (default), or the minimum, which is least
// disturbed by other load on a shared machine.
enum class GuardStat { median, min };
GuardStat parse_guard_stat(std::string_view name);

struct GuardOptions {
  GuardStat stat = GuardStat::median;
  double max_slowdown = 1.10;
  double noise_z = 2.0;
  double noise_cap = 0.5;
  bool allow_missing = false;  // baseline rows this run lacks are notes instead of failures
};

// The fields of one timed result that the guard reads, from a live run or a JSON file.
struct GuardEntry {
  std::string case_name, backend, op, problem;
  int threads = 1;
  double median = 0, min = 0, rel_noise = 0;
  double flops = 0, peak_gflops = 0;
  std::optional<double> reference_median, reference_min;
};

struct Baseline {
  std::string path;  // the file read (inside the directory, for a store)
  std::string cpu_model;
  std::string created;
  std::optional<Fingerprint> fingerprint;  // absent in reports written before fingerprints
  std::vector<GuardEntry> entries;         // timed results only
};

std::vector<GuardEntry> guard_entries(const RunReport& report);
// Reads a natten-bench JSON report. Throws Error naming the file and the bad member.
Baseline parse_baseline(const Json& json, const std::string& path);
Baseline read_baseline(const std::string& path);
// `path` is a report, or a directory of reports (one per machine); for a directory the one whose
// fingerprint is `machine`'s, or nullopt when it holds none (every file is still parsed, so a
// broken store fails loudly). Throws Error when `path` is neither.
std::optional<Baseline> select_baseline(const std::string& path, const Fingerprint& machine);

struct Comparison {
  std::string case_name, backend, op;
  double baseline = 0, now = 0;  // seconds
  double ratio = 0, allowed = 0;
  // Diagnostics, never gating: the same ratio with each side's time relative to its own FMA peak
  // and to its own reference-backend time.
  std::optional<double> ratio_vs_peak, ratio_vs_reference;
  std::string verdict;  // "ok", "faster", "REGRESSION"
};

struct GuardReport {
  // Set when nothing was compared because the baseline belongs to another machine (or records
  // none): the guard passes and says so.
  std::string no_baseline_for_machine;
  std::vector<Comparison> rows;
  std::vector<std::string> notes;   // new cases
  std::vector<std::string> errors;  // baseline rows not timed, changed problems, nothing compared
  bool regression = false;
  bool failed() const { return regression || !errors.empty(); }
};

GuardReport compare_runs(const std::vector<GuardEntry>& now, const Fingerprint& machine, const Baseline& baseline,
                         const GuardOptions& options);
// A store with no baseline for this machine: the report that says so.
GuardReport no_baseline_in_store(const std::string& store, const Fingerprint& machine);
std::string guard_table(const GuardReport& report, const std::string& baseline_label, const GuardOptions& options);
Json guard_json(const GuardReport& report, const std::string& baseline_label, const GuardOptions& options);

}  // namespace natten::bench
