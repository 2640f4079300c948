// The deterministic performance guard: the work each guarded call does, counted by callgrind
// (callgrind.hpp), compared with a committed baseline. It is what CI gates on, because the count
// does not depend on the machine: the same build counts the same instructions on a Zen 4, a Zen 5
// or a Xeon, loaded or idle. What it cannot see (README, "CI guard"): anything specific to the
// SIMD target it does not run (the count pins one that valgrind executes: AVX2 on x86-64), thread
// scaling (it counts one thread), and costs that are not instructions or simulated cache misses
// (port pressure, real cache and memory behaviour, frequency).
//
// A count is comparable only with one made by the same toolchain: the same compiler and flags,
// valgrind version, Highway and C library, SIMD target, thread count and simulated caches. A
// baseline recorded with another is refused as "not comparable", never compared.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "natten/bench/callgrind.hpp"
#include "natten/io/json.hpp"

namespace natten::bench {

constexpr const char* kWorkSchema = "natten-bench-work/1";

// Everything a count depends on besides the code and the inputs.
struct WorkToolchain {
  std::string tool = "callgrind";
  std::string tool_version;  // "valgrind-3.19.0"
  std::string arch;          // "x86_64"
  std::string compiler, flags, build_type;
  std::string highway;       // "1.0.3"
  std::string libc;          // "glibc 2.36"
  std::string simd_target;   // "AVX2"
  int threads = 1;
  std::string cache;         // describe(CacheGeometry)
};
// Fields that differ, one phrase each ("compiler GNU 12.2.0 vs Clang 16.0.6"); empty = comparable.
std::vector<std::string> toolchain_differences(const WorkToolchain& baseline, const WorkToolchain& now);
// The parts of the toolchain this binary knows by itself (all but tool_version, simd_target, threads).
WorkToolchain this_build_toolchain();

// One counted (case, backend, op).
struct WorkRow {
  std::string case_name, backend, op, problem;
  int calls = 1;       // calls counted (after one uncounted warm-up call)
  EventCounts events;  // callgrind's events over those calls
};

// The metrics derived from the events, per call, that the guard can compare.
//   instructions     Ir
//   d1_misses        I1mr + D1mr + D1mw          (first-level misses, simulated)
//   ll_misses        ILmr + DLmr + DLmw          (last-level misses, simulated)
//   cycles_estimate  Ir + 10 * d1_misses + 100 * ll_misses (cachegrind's rough cost model)
const std::vector<std::string>& work_metrics();
double metric_per_call(const WorkRow& row, const std::string& metric);

struct WorkReport {
  std::string created, command_line, cpu_model;  // cpu_model: informational only
  WorkToolchain toolchain;
  std::vector<WorkRow> rows;
};

Json work_json(const WorkReport& report);
// Throws Error naming `path` and the bad member.
WorkReport parse_work_report(const Json& json, const std::string& path);
WorkReport read_work_report(const std::string& path);

struct WorkGuardOptions {
  double max_increase = 0.03;                     // fail above +3% per call
  std::vector<std::string> gated{"instructions"};  // metrics that can fail the guard
  bool allow_missing = false;                     // baseline rows this run lacks are notes, not failures
};

struct WorkComparison {
  std::string case_name, backend, op;
  std::vector<std::pair<std::string, double>> ratios;  // metric -> now / baseline, every metric
  double baseline_instructions = 0, now_instructions = 0;
  std::string verdict;  // "ok", "REGRESSION (instructions +5.0%)", "improved (refresh the baseline)"
};

struct WorkGuardResult {
  std::vector<WorkComparison> rows;
  std::vector<std::string> notes;   // new rows, changed problems
  std::vector<std::string> errors;  // baseline rows not counted, nothing compared
  bool regression = false;
  bool failed() const { return regression || !errors.empty(); }
};

// Throws Error "not comparable: ..." when the toolchains differ.
WorkGuardResult compare_work(const WorkReport& now, const WorkReport& baseline, const WorkGuardOptions& options);
std::string work_table(const WorkReport& now);  // the counts alone
std::string work_guard_table(const WorkGuardResult& result, const WorkReport& baseline, const std::string& baseline_path,
                             const WorkGuardOptions& options);
Json work_guard_json(const WorkGuardResult& result, const std::string& baseline_path, const WorkGuardOptions& options);

}  // namespace natten::bench
