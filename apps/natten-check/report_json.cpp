#include "json_writer.hpp"
#include "report.hpp"

namespace natten::check {
namespace {

void write_tensor(JsonWriter& w, const TensorResult& t) {
  w.begin_object();
  w.key("name").value(t.name);
  w.key("shape").begin_array();
  for (auto e : t.shape) w.value(static_cast<std::int64_t>(e));
  w.end_array();
  w.key("atol").value(t.tol.atol);
  w.key("rtol").value(t.tol.rtol);
  w.key("count").value(t.cmp.count);
  w.key("outside_tolerance").value(t.cmp.failures);
  w.key("max_abs_error").value(t.cmp.max_abs_error);
  w.key("max_rel_error").value(t.cmp.max_rel_error);
  w.key("mean_abs_error").value(t.cmp.mean_abs_error);
  w.key("worst");
  if (t.cmp.worst_index < 0) {
    w.null();
  } else {
    w.begin_object();
    w.key("index").begin_array();
    for (auto i : unravel_index(t.cmp.worst_index, t.shape)) w.value(static_cast<std::int64_t>(i));
    w.end_array();
    w.key("ours").value(t.cmp.worst_ours);
    w.key("reference").value(t.cmp.worst_reference);
    w.end_object();
  }
  w.key("pass").value(t.passed());
  w.end_object();
}

}  // namespace

std::string report_json(const RunReport& report, bool strict) {
  JsonWriter w;
  const Summary s = summarize(report);
  w.begin_object();
  w.key("schema").value("natten-check-report");
  w.key("version").value(1);
  w.key("mode").value(report.mode);
  w.key("file").value(report.file);
  w.key("candidate");
  if (report.candidate.empty()) {
    w.null();
  } else {
    w.value(report.candidate);
  }
  w.key("backends").begin_array();
  for (const std::string& b : report.backends) w.value(b);
  w.end_array();
  w.key("file_error");
  if (report.file_error.empty()) {
    w.null();
  } else {
    w.value(report.file_error);
  }
  w.key("summary").begin_object();
  w.key("cases").value(report.case_count);
  w.key("results").value(report.results.size());
  w.key("passed").value(s.passed);
  w.key("failed").value(s.failed);
  w.key("errors").value(s.errors);
  w.key("skipped").value(s.skipped);
  w.key("passed_with_notes").value(s.partial);
  w.key("exit_code").value(exit_code(report, strict));
  w.end_object();
  w.key("results").begin_array();
  for (const CaseResult& r : report.results) {
    w.begin_object();
    w.key("case").value(r.case_name);
    w.key("backend").value(r.backend);
    w.key("op").value(r.op);
    w.key("dtype").value(r.dtype);
    w.key("status").value(status_name(r.status));
    w.key("message").value(r.message);
    w.key("notes").begin_array();
    for (const std::string& n : r.notes) w.value(n);
    w.end_array();
    w.key("seconds").value(r.seconds);
    w.key("tensors").begin_array();
    for (const TensorResult& t : r.tensors) write_tensor(w, t);
    w.end_array();
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return w.str();
}

}  // namespace natten::check
