#include "case_selection.hpp"

#include <fnmatch.h>

#include "natten/core/error.hpp"

namespace natten::check {

std::vector<DiscoveredCase> discover_cases(const h5::Group& root) {
  std::vector<DiscoveredCase> out;
  for (const std::string& name : root.subgroups()) {
    try {
      if (root.subgroup(name).has_attribute("op")) out.push_back({name, {}});
    } catch (const Error& e) {
      out.push_back({name, fmt::format("case '{}': {}", name, e.what())});
    }
  }
  return out;
}

bool matches_any(const std::string& name, const std::vector<std::string>& globs) {
  if (globs.empty()) return true;
  for (const std::string& g : globs) {
    if (::fnmatch(g.c_str(), name.c_str(), 0) == 0) return true;
  }
  return false;
}

std::vector<std::string> select_cases(const std::vector<std::string>& names, const std::vector<std::string>& globs) {
  std::vector<std::string> out;
  for (const std::string& n : names) {
    if (matches_any(n, globs)) out.push_back(n);
  }
  if (out.empty() && !globs.empty()) {
    std::string g;
    for (const std::string& s : globs) g += (g.empty() ? "'" : ", '") + s + "'";
    fail("--case {}: no case matches ({} cases in the file)", g, names.size());
  }
  return out;
}

}  // namespace natten::check
