#include <algorithm>

#include <fmt/format.h>

#include "report.hpp"

namespace natten::check {
namespace {

std::string_view status_label(Status s) {
  switch (s) {
    case Status::pass: return "ok";
    case Status::fail: return "FAIL";
    case Status::error: return "ERROR";
    case Status::skip: return "SKIP";
  }
  return "?";
}

std::string sci(double x) { return fmt::format("{:.2e}", x); }

std::string worst_str(const TensorResult& t) {
  if (!t.shape_mismatch.empty()) return t.shape_mismatch;
  if (t.cmp.worst_index < 0) return "-";
  return fmt::format("{} {:.7g} vs {:.7g}", index_str(t.cmp.worst_index, t.shape), t.cmp.worst_ours,
                     t.cmp.worst_reference);
}

}  // namespace

std::string index_str(std::int64_t flat, const Shape& shape) {
  std::string s = "[";
  const Shape idx = unravel_index(flat, shape);
  for (std::size_t i = 0; i < idx.size(); ++i) s += (i ? ", " : "") + std::to_string(idx[i]);
  return s + "]";
}

void print_table(const RunReport& report, bool strict, std::FILE* out) {
  if (report.mode == "candidate") {
    fmt::print(out, "natten-check: candidate {} against reference {}\n", report.candidate, report.file);
  } else {
    std::string b;
    for (const std::string& s : report.backends) b += (b.empty() ? "" : ", ") + s;
    fmt::print(out, "natten-check: {} (backends: {})\n", report.file, b);
  }
  if (!report.file_error.empty()) {
    fmt::print(out, "ERROR {}\n", report.file_error);
    fmt::print(out, "result: INPUT ERROR (exit 2)\n");
    return;
  }
  std::size_t wc = 4, wb = 7;
  for (const CaseResult& r : report.results) {
    wc = std::max(wc, r.case_name.size());
    wb = std::max(wb, r.backend.size());
  }
  const std::size_t wt = 21;
  fmt::print(out, "\n{:<{}}  {:<{}}  {:<{}}  {:>9}  {:>9}  {:>9}  {:>15}  {:<17}  {:<6}  {}\n", "case", wc, "backend",
             wb, "tensor", wt, "max abs", "max rel", "mean abs", "outside/total", "tol (abs+rel)", "result",
             "worst element: ours vs reference");
  for (const CaseResult& r : report.results) {
    const std::string head = fmt::format("{:<{}}  {:<{}}  ", r.case_name, wc, r.backend, wb);
    const std::string blank(head.size(), ' ');
    // Errors, skips and backend failures have no tensor rows: one line with the message.
    const bool message_line = r.status == Status::error || r.status == Status::skip || r.tensors.empty();
    if (message_line) fmt::print(out, "{}{:<5} {}\n", head, status_label(r.status), r.message);
    bool first = !message_line;
    for (const TensorResult& t : r.tensors) {
      fmt::print(out, "{}{:<{}}  {:>9}  {:>9}  {:>9}  {:>15}  {:<17}  {:<6}  {}\n", first ? head : blank, t.name, wt,
                 sci(t.cmp.max_abs_error), sci(t.cmp.max_rel_error), sci(t.cmp.mean_abs_error),
                 fmt::format("{}/{}", t.cmp.failures, t.cmp.count), fmt::format("{:.0e}+{:.0e}", t.tol.atol, t.tol.rtol),
                 t.passed() ? "ok" : "FAIL", worst_str(t));
      first = false;
    }
    if (r.status == Status::fail && !r.tensors.empty() && !r.message.empty()) fmt::print(out, "{}{}\n", blank, r.message);
    for (const std::string& n : r.notes) fmt::print(out, "{}note: {}\n", blank, n);
  }
  const Summary s = summarize(report);
  const int code = exit_code(report, strict);
  fmt::print(out, "\n{} cases, {} results: {} passed, {} failed, {} errors, {} skipped{}\n", report.case_count,
             report.results.size(), s.passed, s.failed, s.errors, s.skipped,
             s.partial ? fmt::format(" ({} passed with parts not compared)", s.partial) : "");
  fmt::print(out, "result: {} (exit {})\n", code == 0 ? "PASS" : (code == 1 ? "PARITY FAILURE" : "INPUT ERROR"), code);
}

}  // namespace natten::check
