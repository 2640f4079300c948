#include "compare_case.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>

namespace natten::check {

namespace {

// Report order: forward results first, then gradients in argument order; unknown names last.
int display_rank(const std::string& name) {
  static const char* const kOrder[] = {"output",         "logsumexp",  "attention",           "grad_query",
                                       "grad_key",       "grad_rpb",   "grad_additional_key", "grad_attention",
                                       "grad_value",     "grad_additional_value"};
  for (std::size_t i = 0; i < std::size(kOrder); ++i) {
    if (name == kOrder[i]) return static_cast<int>(i);
  }
  return static_cast<int>(std::size(kOrder));
}

}  // namespace

void compare_case(const std::map<std::string, Tensor>& expected_tensors, DType dtype,
                  const std::map<std::string, Tensor>& ours, const ToleranceOverride& tol,
                  const std::string& what_is_missing, CaseResult& result,
                  const std::map<std::string, ShapeMismatch>& mismatched) {
  std::string missing;
  for (const auto& [name, expected] : expected_tensors) {
    const auto it = ours.find(name);
    const auto other = mismatched.find(name);
    if (it == ours.end() && other == mismatched.end()) {
      missing += (missing.empty() ? "" : ", ") + name;
      continue;
    }
    TensorResult t;
    t.name = name;
    t.shape = expected.shape();
    t.tol = tol.resolve(dtype, name);
    if (other != mismatched.end()) {
      t.shape_mismatch = other->second.message;
      t.other_shape = other->second.shape;
      t.cmp.count = t.cmp.failures = expected.numel();
      t.cmp.max_abs_error = t.cmp.max_rel_error = t.cmp.mean_abs_error = std::nan("");
    } else {
      t.cmp = compare_tensors(it->second, expected, t.tol);
    }
    result.tensors.push_back(std::move(t));
  }
  std::stable_sort(result.tensors.begin(), result.tensors.end(), [](const TensorResult& a, const TensorResult& b) {
    return display_rank(a.name) < display_rank(b.name);
  });
  if (!missing.empty()) result.notes.push_back(what_is_missing + ": " + missing);
  result.status = Status::pass;
  for (const TensorResult& t : result.tensors) {
    if (!t.passed()) result.status = Status::fail;
  }
}

}  // namespace natten::check
