// Benchmark/parity cases described by key = value settings, from INI sections or command-line flags.
//
// Keys (one value, or a comma list with one value per spatial axis where noted):
//   rank          1, 2 or 3 (optional when input_size is given: its length is the rank)
//   input_size    spatial extents, one per axis            e.g. 64,64
//   batch, heads, heads_kv (default: heads), dim           positive integers
//   window_size   alias k; one value or one per axis       e.g. 7 or 7,5
//   stride, dilation                                       one value or one per axis
//   causal        one value or one per axis                e.g. true or 1,0
//   dtype         fp32 | fp16 | bf16
//   add_kv        number of additional KV tokens (0 = none)
//   backward      true/false: also run the backward pass
//   seed          input generator seed (default: FNV-1a hash of the case name)
//   op            na (fused, default) | na_qk | na_av | merge | varlen
//   rpb           na_qk: true/false, with a relative positional bias (default false)
//   parts         merge: number of partial results merged, 2..1024 (default 2)
//   varlen_sizes  varlen: one extent per sample, samples separated by ';', axes by 'x' or ','
//                 e.g. 48x48;64x64 (batch = number of samples; input_size, when given, is the
//                 padded extent and must hold every sample, else it is the per-axis maximum)
//   backend       natten-bench: a backend name, a comma list, or "all" (every available one)
//   threads       natten-bench: CPU worker threads, 0 = all usable cores
// Every value is parsed strictly ("7x", "" or "-1" are errors); an error names where the setting
// came from (file:line or the flag) and the key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "natten/io/ini.hpp"
#include "natten/core/problem.hpp"
#include "natten/core/varlen.hpp"

namespace natten::config {

template <typename T>
struct Setting {
  T value{};
  std::string origin;  // "configs/x.ini:12" or "--window-size"
  // From [defaults] or a built-in suite rather than the case itself: an op the key does not
  // apply to ignores it instead of rejecting it (one [defaults] serves cases of every op).
  bool inherited = false;
};

// One case's settings; unset ones take defaults when resolved. Layers merge by override.
struct CaseSettings {
  std::optional<Setting<int>> rank;
  std::optional<Setting<std::vector<std::int64_t>>> input_size;
  std::optional<Setting<std::int64_t>> batch;
  std::optional<Setting<int>> heads, heads_kv, dim;
  std::optional<Setting<std::vector<int>>> window_size, stride, dilation;
  std::optional<Setting<std::vector<bool>>> causal;
  std::optional<Setting<DType>> dtype;
  std::optional<Setting<std::int64_t>> add_kv;
  std::optional<Setting<bool>> backward;
  std::optional<Setting<std::uint64_t>> seed;
  std::optional<Setting<std::vector<std::string>>> backend;
  std::optional<Setting<int>> threads;
  std::optional<Setting<std::string>> op;
  std::optional<Setting<bool>> rpb;
  std::optional<Setting<int>> parts;
  std::optional<Setting<std::vector<std::vector<std::int64_t>>>> varlen_sizes;
};

// The values of the `op` key: na (fused), na_qk, na_av, merge, varlen.
const std::vector<std::string>& case_ops();
// Marks every setting of `s` inherited (see Setting::inherited).
void mark_inherited(CaseSettings& s);

// The accepted keys, canonical names first (aliases resolve to them).
const std::vector<std::string>& known_keys();
// Parses `value` for `key` into `s`. Throws Error "origin: key: what is wrong".
void set_key(CaseSettings& s, std::string_view key, std::string_view value, const std::string& origin);
// Every setting present in `over` replaces the one in `base`.
void merge_settings(CaseSettings& base, const CaseSettings& over);

struct CaseDef {
  std::string name;
  std::string origin;  // where the case is defined, for messages
  CaseSettings settings;
};

// Sections of an INI file as cases: `[defaults]` applies to every other section. A file with no
// case section is an error.
std::vector<CaseDef> cases_from_ini(const natten::IniFile& ini);
std::vector<CaseDef> read_cases(const std::string& path);

// A case with every setting resolved and the problem validated.
struct ResolvedCase {
  std::string name;
  std::string origin;
  ProblemSpec spec;
  bool backward = false;
  std::uint64_t seed = 0;
  std::vector<std::string> backends;  // empty: the application's default
  std::optional<int> threads;         // unset: the application's default
  std::string op = "na";              // na | na_qk | na_av | merge | varlen
  bool rpb = false;                   // na_qk: with a relative positional bias
  int parts = 2;                      // merge: number of parts
  // varlen: per-sample extents (spec.spatial is the padded extent, spec.batch their count).
  std::vector<Extent> varlen_sizes;
};

// Fills defaults (batch 1, heads 4, heads_kv = heads, dim 32, stride 1, dilation 1, not causal,
// fp32, no additional KV, forward only, seed = FNV-1a hash of the case name), broadcasts single values over the rank and
// validates the problem. Throws Error "case 'name' (origin): ...".
ResolvedCase resolve_case(const CaseDef& def);

// "64x64", "7x7", "1x0": per-axis values joined with 'x' (case names and tables).
std::string join_axes(const std::vector<std::int64_t>& v);

}  // namespace natten::config
