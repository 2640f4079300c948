#include "results.hpp"

namespace natten::check {

std::string_view status_name(Status s) {
  switch (s) {
    case Status::pass: return "pass";
    case Status::fail: return "fail";
    case Status::error: return "error";
    case Status::skip: return "skip";
  }
  return "?";
}

Summary summarize(const RunReport& r) {
  Summary s;
  for (const CaseResult& c : r.results) {
    switch (c.status) {
      case Status::pass:
        ++s.passed;
        if (!c.notes.empty()) ++s.partial;
        break;
      case Status::fail: ++s.failed; break;
      case Status::error: ++s.errors; break;
      case Status::skip: ++s.skipped; break;
    }
  }
  return s;
}

int exit_code(const RunReport& r, bool strict) {
  if (!r.file_error.empty()) return 2;
  const Summary s = summarize(r);
  if (s.errors > 0) return 2;
  if (s.failed > 0) return 1;
  if (strict && (s.skipped > 0 || s.partial > 0)) return 1;
  return 0;
}

Tolerance ToleranceOverride::resolve(DType dtype, std::string_view tensor) const {
  Tolerance t = default_tolerance(dtype, tensor);
  if (atol) t.atol = *atol;
  if (rtol) t.rtol = *rtol;
  return t;
}

}  // namespace natten::check
