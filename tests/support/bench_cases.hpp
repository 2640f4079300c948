// Helpers of the natten-bench tests (header-only: only they link the app library): cases from
// INI text or a command line, the message of a thrown Error, and a timing policy short enough
// that a run costs a fraction of a second.
#pragma once

#include <string>
#include <vector>

#include "cli.hpp"
#include "natten/config/case_spec.hpp"
#include "natten/core/error.hpp"
#include "natten/io/ini.hpp"

namespace natten::testing {

// The message of the Error that `f` throws ("" when it does not throw).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Every case of the INI text, resolved as natten-bench resolves them.
inline std::vector<config::ResolvedCase> resolve_text(const std::string& text, const std::string& path = "t.ini") {
  return config::resolve_cases(parse_ini(text, path), config::CaseKeys::bench);
}

// natten-bench's command line (argv[0] added).
inline bench::Options parse_bench_args(std::vector<const char*> args) {
  args.insert(args.begin(), "natten-bench");
  return bench::parse_command_line(static_cast<int>(args.size()), args.data());
}

// At least `min_reps` samples, at most `max_time` seconds of sampling, no warmup time.
inline bench::Options quick_options(int min_reps = 3, double max_time = 0.02) {
  bench::Options o;
  o.quiet = true;
  o.policy.warmup_time = 0;
  o.policy.min_reps = min_reps;
  o.policy.min_time = 0;
  o.policy.max_time = max_time;
  return o;
}

}  // namespace natten::testing
