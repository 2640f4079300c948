#include "compare_mode.hpp"

#include <cstdio>
#include <optional>

#include <fmt/format.h>

#include "natten/app/diagnostics.hpp"
#include "natten/app/diagnostics.hpp"
#include "natten/app/help_format.hpp"
#include "natten/app/machine.hpp"
#include "natten/bench/comparison.hpp"
#include "natten/bench/fingerprint.hpp"
#include "natten/bench/plot.hpp"
#include "natten/bench/report.hpp"
#include "natten/core/error.hpp"
#include "natten/io/files.hpp"
#include "outputs.hpp"

namespace natten::bench {
namespace {

constexpr const char* kCompareSchema = "natten-bench-compare/1";

struct ReportRow {
  std::string case_name, backend, op, problem;
  int threads = 1;
  std::vector<double> samples;
};

struct Report {
  std::string path;
  std::optional<Fingerprint> fingerprint;
  std::vector<ReportRow> rows;  // timed rows only
};

Report read_report(const std::string& path) {
  const Json j = read_json_file(path, "--compare");
  try {
    const std::string& schema = j.at("schema", "report").as_string("schema");
    if (schema != kSchema && schema != "natten-bench/1")
      fail("schema '{}' is not a natten-bench report ('{}')", schema, kSchema);
    Report r;
    r.path = path;
    if (const Json* f = j.at("machine", "report").find("fingerprint")) r.fingerprint = parse_fingerprint(*f, "machine.fingerprint");
    std::size_t i = 0;
    for (const Json& e : j.at("results", "report").elements()) {
      const std::string what = fmt::format("results[{}]", i++);
      if (e.at("status", what).as_string(what + ".status") != "timed") continue;
      ReportRow row;
      row.case_name = e.at("case", what).as_string(what + ".case");
      row.backend = e.at("backend", what).as_string(what + ".backend");
      row.op = e.at("op", what).as_string(what + ".op");
      row.problem = e.at("problem_str", what).as_string(what + ".problem_str");
      row.threads = static_cast<int>(e.at("threads", what).as_number(what + ".threads"));
      if (const Json* s = e.find("samples_s")) {
        for (const Json& x : s->elements()) row.samples.push_back(x.as_number(what + ".samples_s[]"));
      }
      r.rows.push_back(row);
    }
    return r;
  } catch (const Error& e) {
    throw Error(fmt::format("--compare {}: {}", path, e.what()));
  }
}

}  // namespace

int compare_mode(const Options& o) {
  const Outputs out(o, "");
  const Report a = read_report(o.compare_paths[0]), b = read_report(o.compare_paths[1]);
  std::vector<std::string> notes;
  if (a.fingerprint && b.fingerprint && *a.fingerprint != *b.fingerprint) {
    std::string d;
    for (const std::string& x : differences(*a.fingerprint, *b.fingerprint)) d += (d.empty() ? "" : "; ") + x;
    app::print_warning("natten-bench", "the two reports come from different machines (" + d +
                                           "): their ratio mixes the code's change with the machine's");
  }
  std::vector<ComparedRow> rows;
  for (const ReportRow& rb : b.rows) {
    const ReportRow* ra = nullptr;
    for (const ReportRow& x : a.rows)
      if (x.case_name == rb.case_name && x.backend == rb.backend && x.op == rb.op && x.threads == rb.threads) ra = &x;
    const std::string label = rb.case_name + " / " + rb.backend + " / " + rb.op;
    if (ra == nullptr) {
      notes.push_back(label + ": only in B, not compared");
      continue;
    }
    if (ra->problem != rb.problem) {
      notes.push_back(fmt::format("{}: problem changed ({} -> {}), not compared", label, ra->problem, rb.problem));
      continue;
    }
    if (ra->samples.size() < 3 || rb.samples.size() < 3) {
      notes.push_back(fmt::format("{}: {} and {} raw samples (reports before natten-bench 0.1 keep none): not compared",
                                  label, ra->samples.size(), rb.samples.size()));
      continue;
    }
    ComparedRow row;
    row.case_name = rb.case_name;
    row.backend = rb.backend;
    row.op = rb.op;
    row.base = ra->samples;
    row.now = rb.samples;
    rows.push_back(row);
  }
  for (const ReportRow& ra : a.rows) {
    bool in_b = false;
    for (const ReportRow& x : b.rows)
      in_b = in_b || (x.case_name == ra.case_name && x.backend == ra.backend && x.op == ra.op && x.threads == ra.threads);
    if (!in_b) notes.push_back(ra.case_name + " / " + ra.backend + " / " + ra.op + ": only in A, not compared");
  }
  if (rows.empty()) fail("--compare: no row of {} and {} could be compared", a.path, b.path);
  const ComparisonOptions copt{/*paired=*/false, o.ab.alpha, o.ab.max_slowdown, o.ab.seed};
  const bool regression = decide(rows, copt);
  std::FILE* stream = out.any_stdout() ? stderr : stdout;
  const std::string title =
      fmt::format("compare: A {} vs B {}\neach row's raw samples; a row fails when B is slower by more than {:.0f}% at "
                  "significance {} (Mann-Whitney, Holm over {} rows)",
                  a.path, b.path, 100 * o.ab.max_slowdown, o.ab.alpha, rows.size());
  std::fprintf(stream, "%s\n%s", app::wrap(title, static_cast<std::size_t>(app::terminal_columns(stream)), 2).c_str(),
               comparison_table(rows, notes, regression).c_str());
  if (out.json) {
    Json j = app::report_header(kCompareSchema, "natten-bench", o.command_line, app::machine_info(), app::utc_now());
    j.set("a", a.path);
    j.set("b", b.path);
    add_comparison(j, rows, notes, regression, copt);
    out.json->write(j.dump() + "\n");
  }
  if (out.plot) out.plot->write(comparison_svg(rows, "compare: B / A"));
  return regression ? 1 : 0;
}

}  // namespace natten::bench
