#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "natten/app/diagnostics.hpp"
#include "natten/app/help_format.hpp"
#include "report.hpp"

namespace natten::check {
namespace {

using app::printable;

std::string_view status_label(Status s) {
  switch (s) {
    case Status::pass: return "ok";
    case Status::fail: return "FAIL";
    case Status::error: return "ERROR";
    case Status::skip: return "SKIP";
  }
  return "?";
}

std::string sci(double x) { return std::isfinite(x) ? fmt::format("{:.2e}", x) : fmt::format("{}", x); }
// Tolerances as used: enough digits that 0.016 does not read as 2e-02.
std::string tol_str(const Tolerance& t) { return fmt::format("{:.3g}+{:.3g}", t.atol, t.rtol); }
// "0.002x", "24x": how much of its tolerance the worst element used.
std::string ratio_str(const TensorResult& t) {
  if (!t.shape_mismatch.empty()) return "shape";
  const double r = t.cmp.tolerance_ratio;
  if (!std::isfinite(r)) return "non-finite";
  if (r == 0) return "0x";
  return r < 0.01 ? fmt::format("{:.1e}x", r) : fmt::format("{:.3g}x", r);
}

std::string worst_str(const TensorResult& t) {
  if (!t.shape_mismatch.empty()) return printable(t.shape_mismatch);
  if (t.cmp.worst_index < 0) return "-";
  return fmt::format("{} {:.7g} vs {:.7g}", index_str(t.cmp.worst_index, t.shape), t.cmp.worst_ours,
                     t.cmp.worst_reference);
}

// The tensor that used the most of its tolerance (shape mismatches first).
const TensorResult* worst_tensor(const CaseResult& r) {
  const TensorResult* w = nullptr;
  for (const TensorResult& t : r.tensors) {
    const double rt = t.shape_mismatch.empty() ? t.cmp.tolerance_ratio : INFINITY;
    const double rw = w == nullptr ? -1 : (w->shape_mismatch.empty() ? w->cmp.tolerance_ratio : INFINITY);
    if (w == nullptr || rt > rw) w = &t;
  }
  return w;
}

// One line for a failing tensor: how many elements, how far past tolerance, where.
std::string failure_detail(const TensorResult& t) {
  if (!t.shape_mismatch.empty()) return fmt::format("{}: {}", t.name, printable(t.shape_mismatch));
  return fmt::format("{}: {} of {} outside atol {:.3g} + rtol {:.3g}; max abs {} ({} the tolerance); worst {}", t.name,
                     t.cmp.failures, t.cmp.count, t.tol.atol, t.tol.rtol, sci(t.cmp.max_abs_error), ratio_str(t),
                     worst_str(t));
}

void print_header(const RunReport& report, std::size_t width, std::FILE* out) {
  std::string line;
  if (report.mode == "candidate") {
    line = fmt::format("natten-check: candidate {} against reference {}", printable(report.candidate), printable(report.file));
  } else {
    std::string b;
    for (const std::string& s : report.backends) b += (b.empty() ? "" : ", ") + s;
    line = fmt::format("natten-check: {} (backends: {})", printable(report.file), b);
  }
  fmt::print(out, "{}\n", app::wrap(line, width, 2));
}

void print_compact(const RunReport& report, std::size_t width, std::FILE* out) {
  std::size_t wc = 4, wb = 7, wt = 12;
  for (const CaseResult& r : report.results) {
    wc = std::max(wc, printable(r.case_name).size());
    wb = std::max(wb, r.backend.size());
    for (const TensorResult& t : r.tensors) wt = std::max(wt, t.name.size());
  }
  // The case names give way when the line would not fit.
  const std::size_t fixed = wb + 6 + wt + 9 + 15 + 10 + 2 * 6;
  wc = std::min(wc, width > fixed + 8 ? width - fixed : std::size_t{8});
  fmt::print(out, "\n{:<{}}  {:<{}}  {:<6}  {:<{}}  {:>9}  {:>15}  {:>10}\n", "case", wc, "backend", wb, "result",
             "worst tensor", wt, "max abs", "tol (abs+rel)", "of tol");
  for (const CaseResult& r : report.results) {
    std::string name = printable(r.case_name);
    if (name.size() > wc) name = name.substr(0, wc - 1) + "~";
    const std::string head = fmt::format("{:<{}}  {:<{}}  {:<6}  ", name, wc, r.backend, wb, status_label(r.status));
    const TensorResult* w = worst_tensor(r);
    const std::string blank(wc + wb + 4, ' ');
    if (r.status == Status::error || r.status == Status::skip || w == nullptr) {
      fmt::print(out, "{}{}\n", head, app::wrap(printable(r.message), width, head.size()));
    } else {
      fmt::print(out, "{}{:<{}}  {:>9}  {:>15}  {:>10}\n", head, w->name, wt, sci(w->cmp.max_abs_error), tol_str(w->tol),
                 ratio_str(*w));
    }
    // Details for failures only: every failing tensor, and the backend's message.
    if (r.status == Status::fail) {
      for (const TensorResult& t : r.tensors)
        if (!t.passed()) fmt::print(out, "{}{}\n", blank, app::wrap(failure_detail(t), width, blank.size() + 2));
      if (!r.tensors.empty() && !r.message.empty()) fmt::print(out, "{}{}\n", blank, printable(r.message));
    }
    for (const std::string& n : r.notes) fmt::print(out, "{}note: {}\n", blank, printable(n));
  }
}

void print_verbose(const RunReport& report, std::FILE* out) {
  std::size_t wc = 4, wb = 7;
  for (const CaseResult& r : report.results) {
    wc = std::max(wc, printable(r.case_name).size());
    wb = std::max(wb, r.backend.size());
  }
  const std::size_t wt = 21;
  fmt::print(out, "\n{:<{}}  {:<{}}  {:<{}}  {:>9}  {:>9}  {:>9}  {:>15}  {:<17}  {:>10}  {:<6}  {}\n", "case", wc,
             "backend", wb, "tensor", wt, "max abs", "max rel", "mean abs", "outside/total", "tol (abs+rel)", "of tol",
             "result", "worst element: candidate vs reference");
  for (const CaseResult& r : report.results) {
    const std::string head = fmt::format("{:<{}}  {:<{}}  ", printable(r.case_name), wc, r.backend, wb);
    const std::string blank(head.size(), ' ');
    // Errors, skips and backend failures have no tensor rows: one line with the message.
    const bool message_line = r.status == Status::error || r.status == Status::skip || r.tensors.empty();
    if (message_line) fmt::print(out, "{}{:<5} {}\n", head, status_label(r.status), printable(r.message));
    bool first = !message_line;
    for (const TensorResult& t : r.tensors) {
      fmt::print(out, "{}{:<{}}  {:>9}  {:>9}  {:>9}  {:>15}  {:<17}  {:>10}  {:<6}  {}\n", first ? head : blank, t.name, wt,
                 sci(t.cmp.max_abs_error), sci(t.cmp.max_rel_error), sci(t.cmp.mean_abs_error),
                 fmt::format("{}/{}", t.cmp.failures, t.cmp.count), tol_str(t.tol), ratio_str(t),
                 t.passed() ? "ok" : "FAIL", worst_str(t));
      first = false;
    }
    if (r.status == Status::fail && !r.tensors.empty() && !r.message.empty())
      fmt::print(out, "{}{}\n", blank, printable(r.message));
    for (const std::string& n : r.notes) fmt::print(out, "{}note: {}\n", blank, printable(n));
  }
}

}  // namespace

std::string index_str(std::int64_t flat, const Shape& shape) {
  std::string s = "[";
  const Shape idx = unravel_index(flat, shape);
  for (std::size_t i = 0; i < idx.size(); ++i) s += (i ? ", " : "") + std::to_string(idx[i]);
  return s + "]";
}

void print_table(const RunReport& report, const TableOptions& opt, std::FILE* out) {
  print_header(report, static_cast<std::size_t>(std::max(opt.width, 60)), out);
  if (!report.file_error.empty()) {  // the error itself goes to stderr, once
    fmt::print(out, "result: INPUT ERROR (exit 2)\n");
    return;
  }
  if (opt.verbose) print_verbose(report, out);
  else print_compact(report, static_cast<std::size_t>(std::max(opt.width, 60)), out);

  const Summary s = summarize(report);
  const int code = exit_code(report, opt.strict);
  std::string line = fmt::format("\n{} case{}, {} result{}: {} passed, {} failed, {} error{}, {} skipped",
                                 report.case_count, report.case_count == 1 ? "" : "s", report.results.size(),
                                 report.results.size() == 1 ? "" : "s", s.passed, s.failed, s.errors,
                                 s.errors == 1 ? "" : "s", s.skipped);
  if (s.partial) line += fmt::format(", {} passed with parts not compared", s.partial);
  if (opt.strict && (s.skipped || s.partial))
    line += fmt::format(" (--strict: {} of them count as failures)", s.skipped + s.partial);
  fmt::print(out, "{}\n", line);
  // Name what failed: the cases, and how far past tolerance the worst tensor was.
  std::vector<std::string> failed;
  for (const CaseResult& r : report.results) {
    const bool strict_fail = opt.strict && (r.status == Status::skip || (r.status == Status::pass && !r.notes.empty()));
    if (r.status != Status::fail && r.status != Status::error && !strict_fail) continue;
    std::string why = r.status == Status::error ? "input error"
                      : r.status == Status::skip ? "skipped"
                      : r.status == Status::pass ? "parts not compared"
                                                 : "";
    if (r.status == Status::fail) {
      const TensorResult* w = worst_tensor(r);
      why = w != nullptr && !w->passed() ? fmt::format("{} {}", w->name, w->shape_mismatch.empty() ? ratio_str(*w) + " over tolerance" : "shape differs")
                                         : "backend failed";
    }
    failed.push_back(fmt::format("{} on {} ({})", printable(r.case_name), r.backend, why));
  }
  if (!failed.empty()) {
    std::string list;
    for (std::size_t i = 0; i < failed.size() && i < 20; ++i) list += (i ? "; " : "") + failed[i];
    if (failed.size() > 20) list += fmt::format("; and {} more", failed.size() - 20);
    fmt::print(out, "{}\n", app::wrap("failed: " + list, static_cast<std::size_t>(std::max(opt.width, 60)), 2));
  }
  fmt::print(out, "result: {} (exit {})\n", code == 0 ? "PASS" : (code == 1 ? "PARITY FAILURE" : "INPUT ERROR"), code);
}

}  // namespace natten::check
