// natten-check's command line (CLI11) and the mode it selects.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace natten::check {

struct Options {
  std::string file;                     // reference file (all modes but --write)
  std::vector<std::string> backends;    // empty: every available backend (--write: reference)
  std::vector<std::string> case_globs;  // --case
  bool list = false;
  bool list_backends = false;
  std::string json;       // --json FILE
  std::string candidate;  // --candidate FILE
  std::string write;      // --write FILE
  std::string config;     // --config FILE (with --write)
  std::optional<double> atol, rtol;
  std::int64_t max_elements = std::int64_t{1} << 28;
  unsigned read_timeout = 120;  // seconds per guarded read; 0 disables the guard
  bool strict = false;
  bool quiet = false;
  bool verbose = false;
  bool compress = false;
  std::vector<std::string> compare;  // --compare A.json B.json
  std::string command_line;          // recorded in the JSON report
};

struct ParsedCommandLine {
  std::optional<Options> options;  // empty when parsing already decided the exit (help, errors)
  int exit_code = 0;
};

// Prints help or a one-line usage error itself; usage errors give exit code 2.
ParsedCommandLine parse_command_line(int argc, const char* const* argv);

}  // namespace natten::check
