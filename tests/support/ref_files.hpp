// The one list of upstream reference files the tests run every backend on: the ones shipped in
// tests/data/upstream (made by upstream NATTEN, see its README; they must always be there, so a
// missing one fails the calling test) and, when present beside the checkout, the shared ones in
// ../shared/natten-refs (an extra source; absent is fine).
#pragma once

#include <string>
#include <vector>

namespace natten::testing {

enum class RefKind {
  fused,  // op = na (upstream 0.20+)
  split,  // op = na_qk / na_av (upstream 0.14.6's split ops)
};

// Paths of the files of that kind that exist, shipped ones first. A shipped file that is missing
// is reported with ADD_FAILURE and left out.
std::vector<std::string> upstream_ref_files(RefKind kind);

// The shipped file `name` (in tests/data/upstream), failing the calling test when it is absent.
std::string shipped_ref_file(const std::string& name);

}  // namespace natten::testing
