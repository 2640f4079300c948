#include <cmath>

#include "natten/app/machine.hpp"
#include "natten/io/json.hpp"
#include "report.hpp"

namespace natten::check {
namespace {

// Error statistics may be NaN or infinite (a NaN output, an infinite worst element): the report
// keeps them visible as the strings "nan", "inf", "-inf" rather than JSON's null.
Json number(double x) { return Json(x); }

Json tensor_json(const TensorResult& t) {
  Json j = Json::object();
  j.set("name", t.name);
  Json shape = Json::array();
  for (auto e : t.shape) shape.push(static_cast<std::int64_t>(e));
  j.set("shape", shape);
  j.set("atol", number(t.tol.atol));
  j.set("rtol", number(t.tol.rtol));
  j.set("count", static_cast<std::int64_t>(t.cmp.count));
  j.set("outside_tolerance", static_cast<std::int64_t>(t.cmp.failures));
  j.set("max_abs_error", number(t.cmp.max_abs_error));
  j.set("max_rel_error", number(t.cmp.max_rel_error));
  j.set("mean_abs_error", number(t.cmp.mean_abs_error));
  j.set("tolerance_ratio", number(t.shape_mismatch.empty() ? t.cmp.tolerance_ratio : INFINITY));
  if (t.cmp.worst_index < 0) {
    j.set("worst", Json());
  } else {
    Json worst = Json::object();
    Json index = Json::array();
    for (auto i : unravel_index(t.cmp.worst_index, t.shape)) index.push(static_cast<std::int64_t>(i));
    worst.set("index", index);
    worst.set("candidate", number(t.cmp.worst_ours));
    worst.set("reference", number(t.cmp.worst_reference));
    j.set("worst", worst);
  }
  if (t.shape_mismatch.empty()) {
    j.set("shape_mismatch", Json());
  } else {
    Json other = Json::array();
    for (auto e : t.other_shape) other.push(static_cast<std::int64_t>(e));
    Json m = Json::object();
    m.set("candidate_shape", other);
    m.set("message", t.shape_mismatch);
    j.set("shape_mismatch", m);
  }
  j.set("pass", t.passed());
  return j;
}

Json string_or_null(const std::string& s) { return s.empty() ? Json() : Json(s); }

}  // namespace

std::string report_json(const RunReport& report, bool strict, const std::string& command_line, double seconds) {
  const Summary s = summarize(report);
  Json j = app::report_header("natten-check/2", "natten-check", command_line, app::machine_info(), app::utc_now());
  j.set("elapsed_s", seconds);
  j.set("strict", strict);
  j.set("mode", report.mode);
  j.set("file", report.file);
  j.set("candidate", string_or_null(report.candidate));
  Json backends = Json::array();
  for (const std::string& b : report.backends) backends.push(b);
  j.set("backends", backends);
  j.set("file_error", string_or_null(report.file_error));
  Json summary = Json::object();
  summary.set("cases", static_cast<std::int64_t>(report.case_count));
  summary.set("results", static_cast<std::int64_t>(report.results.size()));
  summary.set("passed", static_cast<std::int64_t>(s.passed));
  summary.set("failed", static_cast<std::int64_t>(s.failed));
  summary.set("errors", static_cast<std::int64_t>(s.errors));
  summary.set("skipped", static_cast<std::int64_t>(s.skipped));
  summary.set("passed_with_notes", static_cast<std::int64_t>(s.partial));
  summary.set("exit_code", exit_code(report, strict));
  j.set("summary", summary);
  Json results = Json::array();
  for (const CaseResult& r : report.results) {
    Json c = Json::object();
    c.set("case", r.case_name);
    c.set("backend", r.backend);
    c.set("op", r.op);
    c.set("dtype", r.dtype);
    c.set("status", std::string(status_name(r.status)));
    c.set("message", r.message);
    Json notes = Json::array();
    for (const std::string& n : r.notes) notes.push(n);
    c.set("notes", notes);
    c.set("elapsed_s", number(r.seconds));
    Json tensors = Json::array();
    for (const TensorResult& t : r.tensors) tensors.push(tensor_json(t));
    c.set("tensors", tensors);
    results.push(c);
  }
  j.set("results", results);
  return j.dump() + "\n";
}

}  // namespace natten::check
