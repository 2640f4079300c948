// Case lists in INI form (configs/*.ini), shared by natten-check --write and
// scripts/make_reference.py. One section per case, plus an optional [defaults] section whose keys
// apply to every case (a case's own keys win). Keys:
//
//   op           na (fused, default) | na_qk | na_av | merge                     (default na)
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
//   rpb          true/false: na_qk with a relative positional bias                (default false)
//   parts        merge: number of partial results merged, 2..1024                 (default 2)
//
// Which keys apply depends on op: merge takes input_size, rank, batch, heads, dim, dtype, backward,
// seed and parts (no window: its inputs are partial outputs [B, *S, heads, dim] and their
// logsumexps); rpb applies to na_qk only, parts to merge only. A key that does not apply is an
// error in a case's own section and ignored when it comes from [defaults] (so one [defaults] can
// serve cases of every op). Unknown keys and bad values are errors naming file, line and key.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "natten/core/problem.hpp"
#include "natten/io/ini.hpp"

namespace natten {

// The ops a case config can generate (the `op` key), as in case_ops.hpp's table.
const std::vector<std::string>& case_config_ops();

struct CaseConfig {
  std::string name;  // the section name; also the HDF5 group name when written
  std::string op = "na";
  // The problem: for merge only dtype, batch, spatial, heads_q and dim are meaningful (the shape
  // [B, *S, heads, dim] of each part), and it is not an NA problem (make_problem is not called).
  ProblemSpec problem;
  bool rpb = false;  // na_qk: with a relative positional bias
  int parts = 2;     // merge: number of parts
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
