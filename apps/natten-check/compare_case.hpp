// Compares computed tensors with a reference case's expected ones and sets the result's status.
// Shared by backend checks and --candidate.
#pragma once

#include <map>
#include <string>

#include "natten/core/tensor.hpp"
#include "results.hpp"

namespace natten::check {

// For every expected tensor present in `ours`: statistics with the resolved tolerance. Expected
// tensors absent from `ours` become a note "<what>: <name> not compared". Status: fail when any
// tensor has elements outside tolerance, else pass.
// `expected` are the reference case's tensors (heads-last, float32) and `dtype` the case's dtype, which
// picks the default tolerances.
void compare_case(const std::map<std::string, Tensor>& expected, DType dtype, const std::map<std::string, Tensor>& ours,
                  const ToleranceOverride& tol, const std::string& what_is_missing, CaseResult& result);

}  // namespace natten::check
