// Which cases of a file a run looks at: every group with an `op` attribute, filtered by --case globs.
#pragma once

#include <string>
#include <vector>

#include "natten/io/h5.hpp"

namespace natten::check {

// A top-level group that is a case (has an `op` attribute), or that could not even be inspected.
struct DiscoveredCase {
  std::string name;
  std::string error;  // non-empty: the group is unreadable; reported as that case's error
};

// Every top-level group with an `op` attribute, sorted. Unlike list_ref_cases, one unreadable
// group does not hide the others: it comes back with its error.
std::vector<DiscoveredCase> discover_cases(const h5::Group& root);

}  // namespace natten::check
