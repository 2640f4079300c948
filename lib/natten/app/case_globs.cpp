#include "natten/app/case_globs.hpp"

#include <fnmatch.h>

#include "natten/core/error.hpp"

namespace natten::app {

bool matches_any(const std::string& name, const std::vector<std::string>& globs) {
  if (globs.empty()) return true;
  for (const std::string& g : globs) {
    if (::fnmatch(g.c_str(), name.c_str(), 0) == 0) return true;
  }
  return false;
}

std::vector<std::string> select_cases(const std::vector<std::string>& names, const std::vector<std::string>& globs) {
  for (const std::string& g : globs) {
    bool hit = false;
    for (const std::string& n : names) hit = hit || ::fnmatch(g.c_str(), n.c_str(), 0) == 0;
    if (hit) continue;
    std::string some;
    for (std::size_t i = 0; i < names.size() && i < 6; ++i) some += (i ? ", " : "") + names[i];
    if (names.size() > 6) some += ", ...";
    fail("--case '{}': matches no case (of {}: {})", g, names.size(), some);
  }
  std::vector<std::string> out;
  for (const std::string& n : names) {
    if (matches_any(n, globs)) out.push_back(n);
  }
  return out;
}

}  // namespace natten::app
