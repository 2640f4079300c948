// Runs the cases: verify each backend once against the reference, then time forward and backward
// apart, and derive GFLOP/s, bandwidth, % of peak and speedup over the reference backend.
#pragma once

#include <string>
#include <vector>

#include "natten/bench/results.hpp"
#include "natten/config/case_spec.hpp"
#include "options.hpp"

namespace natten::bench {

RunReport run_cases(const std::vector<config::ResolvedCase>& cases, const Options& options);

// --dry-run: problems, FLOPs, bytes and which backends support them (and why not). Times nothing.
std::string describe_cases(const std::vector<config::ResolvedCase>& cases, const Options& options);

}  // namespace natten::bench
