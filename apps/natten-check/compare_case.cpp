#include "compare_case.hpp"

#include <algorithm>
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
                  const std::string& what_is_missing, CaseResult& result) {
  std::string missing;
  for (const auto& [name, expected] : expected_tensors) {
    const auto it = ours.find(name);
    if (it == ours.end()) {
      missing += (missing.empty() ? "" : ", ") + name;
      continue;
    }
    TensorResult t;
    t.name = name;
    t.shape = expected.shape();
    t.tol = tol.resolve(dtype, name);
    t.cmp = compare_tensors(it->second, expected, t.tol);
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
