#include "support/ref_files.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace natten::testing {
namespace {

struct Listed {
  const char* name;
  RefKind kind;
  bool shipped;
};

constexpr Listed kFiles[] = {
    {"natten-0.21.6-parity.h5", RefKind::fused, true},
    {"natten-0.21.6-conformance.h5", RefKind::fused, true},
    {"natten-0.14.6-split.h5", RefKind::split, true},
    {"natten-refs-v1.h5", RefKind::fused, false},
    {"natten-split-refs-v1.h5", RefKind::split, false},
};

}  // namespace

std::string shipped_ref_file(const std::string& name) {
  const std::filesystem::path path = std::filesystem::path(NATTEN_SOURCE_DIR) / "tests/data/upstream" / name;
  if (std::filesystem::exists(path)) return path.string();
  ADD_FAILURE() << "shipped reference file " << path.string() << " is missing (it is part of the repository)";
  return {};
}

std::vector<std::string> upstream_ref_files(RefKind kind) {
  std::vector<std::string> paths;
  for (const Listed& f : kFiles) {
    if (f.kind != kind) continue;
    if (f.shipped) {
      if (std::string p = shipped_ref_file(f.name); !p.empty()) paths.push_back(p);
    } else if (const std::filesystem::path p = std::filesystem::path(NATTEN_REFS_DIR) / f.name;
               std::filesystem::exists(p)) {
      paths.push_back(p.string());
    }
  }
  return paths;
}

}  // namespace natten::testing
