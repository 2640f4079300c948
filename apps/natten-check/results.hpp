// What a natten-check run found: one CaseResult per (case, backend) pair, each holding the
// per-tensor statistics, and the exit-code rule over them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "natten/core/tensor.hpp"
#include "natten/parity/compare.hpp"

namespace natten::check {

enum class Status {
  pass,   // every compared tensor within tolerance
  fail,   // some element outside tolerance, or the backend threw while computing
  error,  // the case could not be read or is invalid (input error)
  skip,   // the backend declined the case (why_unsupported)
};
std::string_view status_name(Status s);  // "pass", "fail", "error", "skip"

struct TensorResult {
  std::string name;  // dataset name: output, logsumexp, grad_query, ...
  Shape shape;       // the reference's
  Tolerance tol;
  TensorComparison cmp;
  // A candidate tensor of another shape: nothing is compared (cmp.count is the reference's element
  // count, every one counted as a failure, errors NaN) and this says both shapes and a likely cause.
  std::string shape_mismatch;
  Shape other_shape;
  bool passed() const { return shape_mismatch.empty() && cmp.failures == 0; }
};

struct CaseResult {
  std::string case_name;
  std::string backend;  // "-" when the case failed before any backend ran; "candidate" in --candidate
  std::string op;
  std::string dtype;
  Status status = Status::pass;
  std::string message;             // why, for error/skip/fail-by-exception
  std::vector<std::string> notes;  // parts not compared (e.g. "backward: ...")
  std::vector<TensorResult> tensors;
  double seconds = 0.0;
};

struct RunReport {
  std::string mode;             // "check", "candidate"
  std::string file;             // reference file
  std::string candidate;        // --candidate file, or empty
  std::vector<std::string> backends;
  std::string file_error;       // the file could not be opened or listed at all
  std::size_t case_count = 0;   // cases selected
  std::vector<CaseResult> results;
};

struct Summary {
  std::size_t passed = 0, failed = 0, errors = 0, skipped = 0, partial = 0;  // partial: passed with notes
};
Summary summarize(const RunReport& r);

// 2 when the file or any case could not be read (input error), else 1 when any comparison
// failed (or, with strict, anything was skipped or left out), else 0.
int exit_code(const RunReport& r, bool strict);

// --atol/--rtol: when set they replace the per-dtype default for every tensor.
struct ToleranceOverride {
  std::optional<double> atol, rtol;
  Tolerance resolve(DType dtype, std::string_view tensor) const;
};

}  // namespace natten::check
