#include "cli.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace natten::check {
namespace {

// Combinations CLI11 cannot express: returns the first problem, or "".
std::string mode_conflict(const Options& o) {
  if (o.list_backends) return {};
  if (!o.write.empty()) {
    if (o.config.empty()) return "--write needs --config FILE.ini (the cases to generate)";
    if (!o.file.empty()) return "--write takes no input FILE (it generates cases from --config)";
    if (!o.candidate.empty() || o.list || !o.json.empty()) return "--write cannot be combined with --candidate, --list or --json";
    if (o.backends.size() > 1) return "--write takes one --backend (the one whose results are written)";
    return {};
  }
  if (!o.config.empty()) return "--config only applies to --write";
  if (o.compress) return "--compress only applies to --write";
  if (o.file.empty()) return "a reference FILE is required (or --write / --list-backends)";
  if (!o.candidate.empty() && !o.backends.empty()) return "--candidate runs no kernels: drop --backend";
  if (o.list && (!o.candidate.empty() || !o.json.empty())) return "--list cannot be combined with --candidate or --json";
  if (o.atol && !(*o.atol >= 0.0)) return fmt::format("--atol {}: must be >= 0", *o.atol);
  if (o.rtol && !(*o.rtol >= 0.0)) return fmt::format("--rtol {}: must be >= 0", *o.rtol);
  if (o.max_elements < 1) return fmt::format("--max-elements {}: must be >= 1", o.max_elements);
  return {};
}

}  // namespace

ParsedCommandLine parse_command_line(int argc, const char* const* argv) {
  Options o;
  CLI::App app{
      "natten-check: parity of neighborhood-attention backends with reference files (natten-ref v1, HDF5).\n"
      "Exit codes: 0 all pass, 1 parity failure, 2 usage or input error.",
      "natten-check"};
  app.add_option("file", o.file, "natten-ref v1 HDF5 file (e.g. produced by upstream NATTEN)");
  app.add_option("-b,--backend", o.backends, "backends to check, comma-separated (default: every available one)")
      ->delimiter(',');
  app.add_option("-c,--case", o.case_globs, "only cases whose name matches this shell glob (repeatable, or a,b)")
      ->delimiter(',');
  app.add_flag("--list", o.list, "describe the cases without running anything");
  app.add_flag("--list-backends", o.list_backends, "show the registered backends and whether they are available");
  app.add_option("--json", o.json, "also write the report as JSON to this file (atomically)");
  app.add_option("--atol", o.atol, "absolute tolerance for every tensor (default: per dtype)");
  app.add_option("--rtol", o.rtol, "relative tolerance for every tensor (default: per dtype)");
  app.add_option("--candidate", o.candidate,
                 "compare this file's results (output, logsumexp, attention, grad_*) with FILE's, case by case, "
                 "running no kernels");
  app.add_option("--write", o.write, "generate a natten-ref v1 file from --backend for the cases of --config");
  app.add_option("--config", o.config, "INI case list for --write (see configs/parity.ini, configs/parity_split.ini)");
  app.add_flag("--compress", o.compress, "with --write: gzip the datasets");
  app.add_option("--max-elements", o.max_elements, "largest dataset accepted, in elements (guards corrupt shapes)")
      ->capture_default_str();
  app.add_option("--read-timeout", o.read_timeout,
                 "seconds allowed for reading one case in the crash guard (0: no guard; see README)")
      ->capture_default_str();
  app.add_flag("--strict", o.strict, "skipped cases or tensors not compared count as failures");
  app.add_flag("-q,--quiet", o.quiet, "no progress on stderr");
  app.set_version_flag("--version", std::string("natten-check ") + NATTEN_TOOLS_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return {std::nullopt, rc == 0 ? 0 : 2};
  }
  const std::string conflict = mode_conflict(o);
  if (!conflict.empty()) {
    fmt::print(stderr, "natten-check: usage error: {}\nRun with --help for more information.\n", conflict);
    return {std::nullopt, 2};
  }
  return {o, 0};
}

}  // namespace natten::check
