// Rendering a RunReport: the human table (stdout) and the machine JSON (--json, schema in README).
#pragma once

#include <cstdio>
#include <string>

#include "results.hpp"

namespace natten::check {

void print_table(const RunReport& report, bool strict, std::FILE* out);

// The JSON document (schema "natten-check-report", version 1).
std::string report_json(const RunReport& report, bool strict);

// "[0, 3, 1, 7]" for a flat index into `shape`.
std::string index_str(std::int64_t flat, const Shape& shape);

}  // namespace natten::check
