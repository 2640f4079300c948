#include "app.hpp"

#include <chrono>
#include <cstdio>
#include <exception>
#include <optional>

#include <fmt/format.h>

#include "case_list.hpp"
#include "check_runner.hpp"
#include "compare_reports.hpp"
#include "natten/app/diagnostics.hpp"
#include "natten/backend.hpp"
#include "natten/core/error.hpp"
#include "natten/io/files.hpp"
#include "report.hpp"
#include "write_refs.hpp"

namespace natten::check {
namespace {

int print_backends() {
  // natten-check checks every available backend by default.
  fmt::print("{}", app::backend_listing("every available one"));
  return 0;
}

int run_mode(const Options& o) {
  if (o.list_backends) return print_backends();
  if (!o.compare.empty()) return compare_reports({o.compare[0], o.compare[1], o.json, o.command_line}, stdout);
  if (!o.write.empty()) {
    WriteOptions w;
    w.output = o.write;
    w.config = o.config;
    if (!o.backends.empty()) w.backend = o.backends.front();
    w.case_globs = o.case_globs;
    w.compress = o.compress;
    w.progress = !o.quiet;
    write_refs(w, stdout);
    return 0;
  }
  if (o.list) return print_listing(list_cases(o.file, o.case_globs, o.max_elements, o.read_timeout), stdout);

  std::optional<OutputFile> json;  // checked before any work
  if (!o.json.empty()) json.emplace("--json", o.json);
  RunOptions r;
  r.backends = o.backends.empty() ? available_backends() : o.backends;
  r.case_globs = o.case_globs;
  r.tol = {o.atol, o.rtol};
  r.max_elements = o.max_elements;
  r.read_guard_seconds = o.read_timeout;
  r.progress = !o.quiet;
  const auto t0 = std::chrono::steady_clock::now();
  const RunReport report = o.candidate.empty() ? run_backend_checks(o.file, r) : run_candidate_check(o.file, o.candidate, r);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // With --json - the report owns stdout and the table goes to stderr.
  std::FILE* table = json && json->is_stdout() ? stderr : stdout;
  print_table(report, {o.strict, o.verbose, app::terminal_columns(table)}, table);
  std::fflush(table);
  if (!report.file_error.empty()) app::print_error("natten-check", report.file_error);
  if (json) json->write(report_json(report, o.strict, o.command_line, seconds));
  return exit_code(report, o.strict);
}

}  // namespace

int run_app(const Options& options) {
  try {
    return run_mode(options);
  } catch (const Error& e) {
    app::print_error("natten-check", e.what());
  } catch (const std::exception& e) {
    app::print_error("natten-check", std::string("internal error: ") + e.what());
  }
  return 2;
}

}  // namespace natten::check
