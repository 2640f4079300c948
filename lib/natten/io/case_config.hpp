// Case lists in INI form (configs/*.ini), shared by natten-check --write and
// scripts/make_reference.py. One section per case, plus an optional [defaults] section whose keys
// apply to every case (a case's own keys win). Keys:
//
//   rank         1, 2 or 3 (optional: taken from input_size; must agree when given)
//   input_size   one extent per axis, e.g. "64,64"                               (required)
//   window_size  kernel size, one value or one per axis; alias "k"               (required)
//   stride, dilation   one value or one per axis                                  (default 1)
//   causal       per-axis flags, one value or one per axis, e.g. "1,0"            (default 0)
//   batch, heads, heads_kv, dim                          (defaults 1, 4, = heads, 32)
//   dtype        fp32 | fp16 | bf16 (float32/float16/bfloat16 accepted)          (default fp32)
//   add_kv       number of additional KV tokens                                   (default 0)
//   backward     true/false (also 1/0, yes/no, on/off)                            (default false)
//   seed         unsigned integer             (default: FNV-1a hash of the section name)
//
// Unknown keys and bad values are errors naming file, line and key.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "natten/core/problem.hpp"
#include "natten/io/ini.hpp"

namespace natten {

struct CaseConfig {
  std::string name;  // the section name; also the HDF5 group name when written
  ProblemSpec problem;
  bool backward = false;
  std::uint64_t seed = 0;
  std::string where;  // "file:line" of the section header, for messages
};

// Every section except [defaults], in file order; each problem is validated (make_problem).
std::vector<CaseConfig> parse_case_configs(const IniFile& ini);
std::vector<CaseConfig> read_case_configs(const std::string& path);

// The names of all recognised keys (for help texts and the Python twin's tests).
const std::vector<std::string>& case_config_keys();

}  // namespace natten
