#include "case_selection.hpp"

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

}  // namespace natten::check
