// --list: describe the selected cases of a file without running anything. Each case is fully
// loaded and validated, so --list also tells whether natten-check can read the file.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace natten::check {

struct ListedCase {
  std::string name;
  std::string op;
  std::string description;  // empty when error is set
  std::string error;
};

struct CaseListing {
  std::string file_error;
  std::vector<ListedCase> cases;
};

// read_guard_seconds: as RunOptions::read_guard_seconds.
CaseListing list_cases(const std::string& file, const std::vector<std::string>& globs, std::int64_t max_elements,
                       unsigned read_guard_seconds = 120);

// Prints the listing; returns the exit code (0, or 2 when the file or a case is unreadable).
int print_listing(const CaseListing& listing, std::FILE* out);

}  // namespace natten::check
