// Report writers: a fmt table for people, JSON for machines (and baselines), CSV for
// spreadsheets, Markdown for README tables. README.md beside apps/natten-bench gives the schema.
#pragma once

#include <string>

#include "natten/io/json.hpp"
#include "natten/bench/results.hpp"

namespace natten::bench {

// Version 2: report header shared with natten-check (tool, tool_version, machine state, build with
// git_dirty), machine.fingerprint, raw samples_s, dtype spelled "float32", non-finite numbers as
// strings, the guard's verdict. Baselines of version 1 are still read (they have no fingerprint).
constexpr const char* kSchema = "natten-bench/2";

Json report_json(const RunReport& report);
// The terminal table. Compact (default): one line per case, backend and op within `width` columns
// (median, noise, GFLOP/s, % of peak, speedup over the reference, check), the problems listed
// below it; verbose: every statistic, one column each (as --markdown).
std::string report_table(const RunReport& report, bool verbose = true, int width = 100);
std::string report_markdown(const RunReport& report);
std::string report_csv(const RunReport& report);

// "1.23 ms", "456 us", "2.50 s": three significant digits and a unit.
std::string format_seconds(double s);
// "fp32", "fp16", "bf16": the spelling of tables and of natten-bench's --dtype.
std::string short_dtype(DType t);
// Per-axis values "64x64" of a problem's spatial extents, kernel, ... (first `rank` axes).
std::string axes_str(const Problem& p, const std::array<int, kMaxRank>& v);
std::string spatial_str(const Problem& p);
// Compact problem label for tables: "64x64 k7x7 s1 d1 causal10 H4/4 D32 fp32 +kv8".
std::string problem_label(const Problem& p);

}  // namespace natten::bench
