// SVG pictures of natten-bench results, drawn by hand (no plotting dependency): a run (one bar per
// case, op and backend: the median time on a log axis, p10..p90 whiskers, % of peak as a label)
// and a comparison (one marker per row: the ratio new / base with its 95% interval on a log axis
// around 1, coloured by verdict).
#pragma once

#include <string>
#include <vector>

#include "natten/bench/comparison.hpp"
#include "natten/bench/results.hpp"

namespace natten::bench {

std::string run_svg(const RunReport& report);
std::string comparison_svg(const std::vector<ComparedRow>& rows, const std::string& title);

}  // namespace natten::bench
