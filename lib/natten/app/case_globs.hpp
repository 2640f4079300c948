// --case in both apps: shell globs (fnmatch) over case names, repeatable or comma separated. Every
// glob must match at least one case, so a typo cannot shrink a run silently (with several globs,
// the one that matched nothing is named).
#pragma once

#include <string>
#include <vector>

namespace natten::app {

// True when `name` matches any of the globs; no globs match everything.
bool matches_any(const std::string& name, const std::vector<std::string>& globs);

// The names matching the globs, in order. Throws Error "--case 'x*': matches no case (of 12:
// a, b, c, ...)" when a glob matches nothing.
std::vector<std::string> select_cases(const std::vector<std::string>& names, const std::vector<std::string>& globs);

}  // namespace natten::app
