// --write: generate a natten-ref v1 file from one of our backends, for the cases of an INI config
// (format in lib/natten/config/case_spec.hpp). The file appears atomically or not at all.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace natten::check {

struct WriteOptions {
  std::string output;
  std::string config;
  std::string backend = "reference";
  std::vector<std::string> case_globs;
  bool compress = false;  // gzip datasets (readers must accept both)
  bool progress = true;
};

// Throws Error for any problem (bad config, unsupported case, I/O); the output is then untouched.
// Prints one line per case written. Returns the number of cases written.
std::size_t write_refs(const WriteOptions& opt, std::FILE* out);

}  // namespace natten::check
