// natten-check --compare A.json B.json: what changed between two runs (a new build, a new
// candidate, another machine): every (case, backend) whose verdict changed, and those whose worst
// tensor moved closer to or past its tolerance. Exit 1 when a result that passed in A fails (or
// errors) in B; results only in one report are listed, not failures.
#pragma once

#include <cstdio>
#include <string>

namespace natten::check {

struct CompareOptions {
  std::string a, b;
  std::string json;  // "" = none
  std::string command_line;
};

int compare_reports(const CompareOptions& options, std::FILE* out);

}  // namespace natten::check
