// Everything the command line decides, parsed and checked (cli.cpp), before any work starts.
#pragma once

#include <optional>
#include <string>

#include "natten/bench/guard.hpp"
#include "natten/bench/timing.hpp"
#include "natten/config/case_spec.hpp"

namespace natten::bench {

enum class Mode { run, dry_run, peak, list_backends };

struct Options {
  Mode mode = Mode::run;
  // Problem flags (-i, -w, --dtype, --backend, --threads, ...): one case on their own, or
  // overrides applied to every case of --config / the standard suite.
  config::CaseSettings overrides;
  std::optional<int> rank;  // --rank: the standard suite's rank, or a filter on --config cases
  std::string config_path;
  std::string case_glob;  // --case: only cases whose name matches (fnmatch)

  TimingPolicy policy;
  bool verify = true;
  bool fast_path = true;  // let fused ops take the FMHA fast path when every window covers everything
  double verify_max_gflop = 4.0;  // skip verification when the reference needs more work than this

  std::string json_path, csv_path, markdown_path;  // "-" = stdout
  bool markdown_to_stdout = false;                 // --markdown without a file
  std::string baseline_path, save_baseline_path;
  GuardOptions guard;
  bool quiet = false;

  int inject_slowdown = 1;  // hidden, tests only: each timed call runs the kernel N times
  std::string command_line;
};

}  // namespace natten::bench
