// Which cases a run covers: --config, one problem from flags, or the standard suite; and which
// backends time each case.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "natten/config/case_spec.hpp"
#include "options.hpp"

namespace natten::bench {

// The standard suite (the shapes the Apple ports publish): 1D L=256 and 1024; 2D 32x32, 64x64 and
// 32x32 causal; 3D 16x16x16; B=1, H=4, D=32, window 7 unless overridden. All ranks, or one.
std::vector<config::CaseDef> standard_suite(std::optional<int> rank);

// The run's cases with command-line overrides applied, filtered by --rank (with --config) and
// --case, resolved and validated. Throws Error (exit 2) naming the case and setting.
std::vector<config::ResolvedCase> assemble_cases(const Options& options);

// `cpu` when this build has it, else `reference`.
std::string default_backend();
// The backends a case runs on: its setting, "all" expanded to every available backend, or the
// default. Throws Error when a name is unknown or not available on this machine.
// `check` is called on each name (throws when unknown or unavailable).
std::vector<std::string> case_backends(const config::ResolvedCase& c,
                                       const std::function<void(const std::string&)>& check);

}  // namespace natten::bench
