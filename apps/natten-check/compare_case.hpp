// Compares computed tensors with a reference case's expected ones and sets the result's status.
// Shared by backend checks and --candidate.
#pragma once

#include <map>
#include <string>

#include "natten/core/tensor.hpp"
#include "natten/io/candidate.hpp"
#include "results.hpp"

namespace natten::check {

// For every expected tensor present in `ours`: statistics with the resolved tolerance; every one in
// `mismatched` (a candidate's tensor of another shape) a failed row naming both shapes. Expected
// tensors in neither become a note "<what>: <name>". Status: fail when any tensor failed, else pass.
// `expected` are the reference case's tensors (heads-last, float32) and `dtype` the case's dtype, which
// picks the default tolerances.
void compare_case(const std::map<std::string, Tensor>& expected, DType dtype, const std::map<std::string, Tensor>& ours,
                  const ToleranceOverride& tol, const std::string& what_is_missing, CaseResult& result,
                  const std::map<std::string, ShapeMismatch>& mismatched = {});

}  // namespace natten::check
