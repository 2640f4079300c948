#include "cli.hpp"

#include <algorithm>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "natten/app/diagnostics.hpp"
#include "natten/app/help_format.hpp"
#include "natten/app/machine.hpp"
#include "natten/core/error.hpp"

namespace natten::check {
namespace {

// Combinations CLI11 cannot express: returns the first problem, or "". Every option either takes
// effect in the chosen mode or is named here.
std::string mode_conflict(const Options& o, const std::vector<std::pair<std::string, bool>>& given) {
  const auto used = [&](const char* name) {
    for (const auto& [n, g] : given)
      if (n == name) return g;
    return false;
  };
  const auto only = [&](const std::vector<const char*>& names, const char* mode) -> std::string {
    for (const char* n : names)
      if (used(n)) return fmt::format("{} does not apply to {}", n, mode);
    return {};
  };
  const std::vector<const char*> check_opts = {"--candidate", "--atol", "--rtol", "--strict", "--json", "--max-elements",
                                               "--read-timeout", "--verbose", "--case", "--backend", "--list"};
  if (o.list_backends) {
    if (!o.file.empty()) return "--list-backends takes no FILE";
    std::vector<const char*> all = check_opts;
    all.insert(all.end(), {"--write", "--config", "--compress", "--compare", "--quiet"});
    return only(all, "--list-backends");
  }
  if (!o.compare.empty()) {
    if (!o.file.empty()) return "--compare takes its two reports, no FILE";
    return only({"--candidate", "--atol", "--rtol", "--max-elements", "--read-timeout", "--case", "--backend", "--list",
                 "--write", "--config", "--compress", "--quiet"},
                "--compare");
  }
  if (!o.write.empty()) {
    if (o.config.empty()) return "--write needs --config FILE.ini (the cases to generate)";
    if (!o.file.empty()) return "--write takes no input FILE (it generates cases from --config)";
    if (o.backends.size() > 1) return "--write takes one --backend (the one whose results are written)";
    return only({"--candidate", "--atol", "--rtol", "--strict", "--json", "--max-elements", "--read-timeout", "--verbose",
                 "--list"},
                "--write");
  }
  if (used("--config")) return "--config only applies to --write";
  if (o.compress) return "--compress only applies to --write";
  if (o.file.empty()) return "a reference FILE is required (or --write, --compare, --list-backends)";
  if (!o.candidate.empty() && !o.backends.empty()) return "--candidate runs no kernels: drop --backend";
  if (o.list) {
    std::string c = only({"--candidate", "--atol", "--rtol", "--strict", "--json", "--backend", "--verbose"}, "--list");
    if (!c.empty()) return c;
  }
  if (o.atol && !(*o.atol >= 0.0)) return fmt::format("--atol {}: must be >= 0", *o.atol);
  if (o.rtol && !(*o.rtol >= 0.0)) return fmt::format("--rtol {}: must be >= 0", *o.rtol);
  if (o.max_elements < 1) return fmt::format("--max-elements {}: must be >= 1", o.max_elements);
  for (std::size_t i = 0; i < o.backends.size(); ++i) {
    if (o.backends[i].empty()) return "--backend: an empty backend name";
    for (std::size_t j = i + 1; j < o.backends.size(); ++j)
      if (o.backends[i] == o.backends[j]) return fmt::format("--backend: '{}' listed twice", o.backends[i]);
  }
  return {};
}

}  // namespace

ParsedCommandLine parse_command_line(int argc, const char* const* argv) {
  Options o;
  for (int i = 0; i < argc; ++i) o.command_line += (i ? " " : "") + std::string(argv[i]);
  CLI::App app{
      "natten-check: parity of neighborhood-attention backends, or of another implementation's results, with "
      "reference files (natten-ref v1, HDF5). Exit codes: 0 all pass, 1 parity failure, 2 usage or input error.\n"
      "Examples:\n"
      "  natten-check tests/data/upstream/natten-0.21.6-parity.h5\n"
      "  natten-check ref.h5 --candidate theirs.h5 --json report.json\n"
      "  natten-check --write mine.h5 --config configs/parity.ini\n"
      "  natten-check --compare before.json after.json",
      "natten-check"};
  app::use_wrapping_help(app, 30);
  std::vector<CLI::Option*> all;
  const auto add = [&](CLI::Option* opt) {
    all.push_back(opt);
    return opt;
  };
  add(app.add_option("file", o.file, "natten-ref v1 HDF5 file (e.g. produced by upstream NATTEN)"));
  // No short flags: natten-bench's -b is the batch size and -c causal; the same letter must not mean
  // two things in the two tools.
  add(app.add_option("--backend", o.backends, "backends to check, comma-separated (default: every available one)")
          ->delimiter(','));
  add(app.add_option("--case", o.case_globs, "only cases whose name matches this shell glob (repeatable, or a,b); each must match")
          ->delimiter(','));
  add(app.add_flag("--list", o.list, "describe the cases without running anything"));
  add(app.add_flag("--list-backends", o.list_backends, "show the registered backends and whether they are available"));
  add(app.add_option("--json", o.json, "also write the report as JSON to this file ('-' = stdout; atomically)"));
  add(app.add_option("--atol", o.atol, "absolute tolerance for every tensor (default: per dtype)"));
  add(app.add_option("--rtol", o.rtol, "relative tolerance for every tensor (default: per dtype)"));
  add(app.add_option("--candidate", o.candidate,
                     "compare this file's results (output, logsumexp, attention, grad_*) with FILE's, case by case, "
                     "running no kernels"));
  add(app.add_option("--write", o.write, "generate a natten-ref v1 file from --backend for the cases of --config"));
  add(app.add_option("--config", o.config, "INI case list for --write (see configs/parity.ini, configs/parity_split.ini)"));
  add(app.add_flag("--compress", o.compress, "with --write: gzip the datasets"));
  add(app.add_option("--compare", o.compare,
                     "compare two natten-check --json reports, A then B: which results changed verdict; exit 1 when one "
                     "that passed in A fails in B")
          ->expected(2));
  add(app.add_option("--max-elements", o.max_elements, "largest dataset accepted, in elements (guards corrupt shapes)")
          ->capture_default_str());
  add(app.add_option("--read-timeout", o.read_timeout,
                     "seconds allowed for reading one case in the crash guard (0: no guard; see README)")
          ->capture_default_str());
  add(app.add_flag("--strict", o.strict, "skipped cases or tensors not compared count as failures"));
  add(app.add_flag("-v,--verbose", o.verbose, "one row per tensor with every statistic (default: one per case and backend)"));
  add(app.add_flag("-q,--quiet", o.quiet, "no progress on stderr"));
  bool version = false;
  app.add_flag("--version", version, "print the version and build, then exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    fmt::print("{}", app.help());
    return {std::nullopt, 0};
  } catch (const CLI::ParseError& e) {
    app::print_error("natten-check", app::describe_parse_error(e) + " (--help lists the options)");
    return {std::nullopt, 2};
  }
  if (version) {
    fmt::print("{}\n", app::version_line("natten-check"));
    return {std::nullopt, 0};
  }
  std::vector<std::pair<std::string, bool>> given;
  for (CLI::Option* opt : all) given.emplace_back(opt->get_name(), opt->count() > 0);
  for (CLI::Option* opt : all) {
    if (opt->count() == 0) continue;
    const std::string& n = opt->get_name();
    const bool path = n == "--json" || n == "--candidate" || n == "--write" || n == "--config" || n == "--compare" || n == "file";
    for (const std::string& v : opt->results())
      if (path && v.empty()) {
        app::print_error("natten-check", fmt::format("{}: the path is empty", n == "file" ? "FILE" : n));
        return {std::nullopt, 2};
      }
  }
  const std::string conflict = mode_conflict(o, given);
  if (!conflict.empty()) {
    app::print_error("natten-check", conflict + " (--help lists the options)");
    return {std::nullopt, 2};
  }
  return {o, 0};
}

}  // namespace natten::check
