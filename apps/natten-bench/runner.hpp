// Runs the cases: verify each backend once against the reference, then time forward and backward
// apart, and derive GFLOP/s, bandwidth, % of peak and speedup over the reference backend.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "natten/backend.hpp"

#include "natten/bench/results.hpp"
#include "natten/config/case_spec.hpp"
#include "options.hpp"

namespace natten::bench {

// Makes a backend by name; the registry's make_backend unless a test substitutes its own.
using BackendFactory = std::function<std::unique_ptr<Backend>(std::string_view)>;

// The directions a case runs: forward, and backward when the case asks for it (false, true).
std::vector<bool> directions_of(const config::ResolvedCase& c);

RunReport run_cases(const std::vector<config::ResolvedCase>& cases, const Options& options,
                    const BackendFactory& factory = make_backend);

// --dry-run: problems, FLOPs, bytes and which backends support them (and why not). Times nothing.
// Every registered backend is listed (a backend the case names but the registry lacks, e.g. a
// test's own, too); each direction says what runs ("runs forward (neighborhood: ...)") or
// "skip: <why>".
std::string describe_cases(const std::vector<config::ResolvedCase>& cases, const Options& options,
                           const BackendFactory& factory = make_backend);

}  // namespace natten::bench
