// Rendering a RunReport: the human table (stdout) and the machine JSON (--json, schema in README).
#pragma once

#include <cstdio>
#include <string>

#include "results.hpp"

namespace natten::check {

struct TableOptions {
  bool strict = false;
  bool verbose = false;  // one row per tensor with every statistic (default: one per case and backend)
  int width = 100;       // columns of the terminal (compact table, summary)
};
// The table: compact by default (one line per case and backend: its worst tensor and how much of
// its tolerance it used; details for failures only), then a summary that names what failed.
void print_table(const RunReport& report, const TableOptions& options, std::FILE* out);

// The JSON document (schema "natten-check/2", README): the report header both apps share, then
// the run. `command_line` and `seconds` (the run's wall time) are recorded in it.
std::string report_json(const RunReport& report, bool strict, const std::string& command_line, double seconds);

// "[0, 3, 1, 7]" for a flat index into `shape`.
std::string index_str(std::int64_t flat, const Shape& shape);

}  // namespace natten::check
