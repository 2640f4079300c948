// Everything the command line decides, parsed and checked (cli.cpp), before any work starts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "natten/bench/guard.hpp"
#include "natten/bench/timing.hpp"
#include "natten/bench/work_guard.hpp"
#include "natten/config/case_spec.hpp"

namespace natten::bench {

enum class Mode {
  run,            // time the cases (and guard them against a wall-time baseline)
  dry_run,        // describe them
  peak,           // measure the FMA peak
  list_backends,
  count_work,     // count their work under callgrind (and guard it against a work baseline)
  ab,             // time two builds in turns and compare them
  compare,        // compare two stored reports
};

// --count-work (work_mode.hpp).
struct WorkOptions {
  std::string valgrind = "valgrind";  // the valgrind executable (looked up on PATH)
  bool cache_sim = true;              // simulated cache misses beside instructions
  int calls = 1;                      // calls counted per row, after one uncounted warm-up call
  WorkGuardOptions guard;
};

// --ab (ab_mode.hpp).
struct AbOptions {
  std::string base_exe;  // the base build's natten-bench
  std::string new_exe;   // the new build's; "" = this binary
  int rounds = 15;       // runs of each build, alternating in a random order
  double max_slowdown = 0.05;  // --min-slowdown: a significant slowdown must also exceed this fraction to fail
  double alpha = 0.05;         // --alpha: family-wise false-alarm rate (Holm over every row); --compare too
  std::uint64_t seed = 1;      // the run order and the bootstrap
  // Each run's observation per row: its minimum time (default: least disturbed by other load on a
  // shared machine, and a slower kernel raises it as much as the median) or its median.
  GuardStat stat = GuardStat::min;
};

struct Options {
  Mode mode = Mode::run;
  // Problem flags (-i, -w, --dtype, --backend, --threads, ...): one case on their own, or
  // overrides applied to every case of --config / the standard suite.
  config::CaseSettings overrides;
  std::optional<int> rank;  // --rank: the standard suite's rank, or a filter on --config cases
  std::string config_path;
  std::vector<std::string> case_globs;  // --case: only cases whose name matches one (fnmatch); each must match

  TimingPolicy policy;
  int repetitions = 1;  // --repetitions: whole runs, their samples pooled per row
  bool verify = true;
  bool fast_path = true;  // let fused ops take the FMHA fast path when every window covers everything
  double verify_max_gflop = 4.0;  // skip verification when the reference needs more work than this

  std::string json_path, csv_path, markdown_path;  // "-" = stdout
  bool markdown_to_stdout = false;                 // --markdown without a file
  std::string plot_path;                           // --plot FILE.svg
  bool verbose = false;                            // -v: every statistic in the table
  std::vector<std::string> compare_paths;          // --compare A.json B.json
  std::string baseline_path, save_baseline_path;
  GuardOptions guard;
  WorkOptions work;
  AbOptions ab;
  std::string simd;  // --simd: the cpu backend's SIMD target ("" = the best this CPU has)
  bool quiet = false;

  int inject_slowdown = 1;  // hidden, tests only: each timed call runs the kernel N times
  std::string fake_cpu;     // hidden, tests only: VENDOR/FAMILY/MODEL reported instead of the CPU's
  std::string command_line;
  std::vector<std::string> args;  // argv[1..], as given (--ab forwards them to both builds)
};

}  // namespace natten::bench
