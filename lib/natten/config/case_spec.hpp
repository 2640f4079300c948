// THE case description of both apps: natten-bench's cases (INI files, command-line flags, the
// standard suite) and natten-check's case lists (--write, scripts/make_reference.py's INI twin).
// Key = value settings are parsed strictly, layered ([defaults] < case section < flags) with the
// origin of every value kept, then resolved into one validated case.
//
// Keys (one value, or a comma list with one value per spatial axis where noted):
//   op            na (fused, default) | na_qk | na_av | merge   (+ varlen for natten-bench)
//   rank          1, 2 or 3 (optional: input_size's length is the rank; must agree when given)
//   input_size    spatial extents, one per axis                           e.g. 64,64
//   batch, heads, heads_kv (default: heads), dim     positive integers (defaults: kCaseDefaults)
//   window_size   alias k; one value or one per axis                      e.g. 7 or 7,5
//   stride, dilation                                  one value or one per axis
//   causal        one value or one per axis                               e.g. true or 1,0
//   dtype         fp32 | fp16 | bf16 (float32/float16/bfloat16 accepted)
//   add_kv        number of additional KV tokens (0 = none)
//   backward      true/false (also 1/0, yes/no, on/off): also run the backward pass
//   seed          input generator seed (default: FNV-1a hash of the case name)
//   rpb           na_qk: true/false, with a relative positional bias (default false)
//   parts         merge: number of partial results merged, 2..1024
// natten-bench's own keys (CaseKeys::bench; errors in natten-check's files):
//   backend       a backend name, a comma list, or "all" (every available one)
//   threads       CPU worker threads, 0 = all usable cores
//   varlen_sizes  op varlen: one extent per sample, samples separated by ';', axes by 'x',
//                 e.g. 48x48;64x64 (batch = number of samples; input_size, when given, is the
//                 padded extent and must hold every sample, else it is the per-axis maximum)
// merge takes no window (window_size, stride, dilation, causal, heads_kv, add_kv); rpb, parts and
// varlen_sizes apply to their op only. A key that does not apply is an error where the case sets
// it and ignored when inherited ([defaults], the standard suite), so one [defaults] serves cases
// of every op.
//
// Errors are one line naming where the value came from: "file.ini:12: key 'k': '7x' is not a
// non-negative integer", "--window-size: ..." for a flag, "file.ini:3: case [name]: ..." for a
// case as a whole (missing keys, an invalid problem).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "natten/core/problem.hpp"
#include "natten/core/varlen.hpp"
#include "natten/io/ini.hpp"

namespace natten::config {

// Which app reads the cases: natten-check's case lists (the shared keys and ops) or natten-bench
// (those plus its own keys and the varlen op).
enum class CaseKeys { parity, bench };

template <typename T>
struct Setting {
  T value{};
  std::string origin;  // "configs/x.ini:12", "--window-size" or "standard suite"
  std::string label;   // for messages: "configs/x.ini:12: key 'k'" or "--window-size"
  std::string text;    // the value as written
  // From [defaults] or a built-in suite rather than the case itself: an op the key does not
  // apply to ignores it instead of rejecting it.
  bool inherited = false;
};

// One case's settings; unset ones take defaults when resolved. Layers merge by override.
struct CaseSettings {
  std::optional<Setting<std::string>> op;
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
  std::optional<Setting<bool>> rpb;
  std::optional<Setting<int>> parts;
  std::optional<Setting<std::vector<std::string>>> backend;
  std::optional<Setting<int>> threads;
  std::optional<Setting<std::vector<std::vector<std::int64_t>>>> varlen_sizes;
};

// The values of the `op` key: the op families (natten/backend.hpp) natten-ref files hold, and for
// natten-bench all of them (+ varlen).
const std::vector<std::string>& case_ops(CaseKeys keys = CaseKeys::bench);
// The accepted keys, canonical names first (aliases resolve to them).
const std::vector<std::string>& known_keys(CaseKeys keys = CaseKeys::bench);
// Parses `value` for `key` into `s`. Throws Error "label: what is wrong".
void set_key(CaseSettings& s, std::string_view key, std::string_view value, const std::string& origin,
             CaseKeys keys = CaseKeys::bench);
// Every setting present in `over` replaces the one in `base`.
void merge_settings(CaseSettings& base, const CaseSettings& over);
// Marks every setting of `s` inherited (see Setting::inherited).
void mark_inherited(CaseSettings& s);

struct CaseDef {
  std::string name;
  std::string origin;  // where the case is defined, for messages ("file.ini:3", "command line")
  CaseSettings settings;
};

// Sections of an INI file as cases: `[defaults]` (first, if present) applies to every other
// section. Section names must be usable as HDF5 group names (natten-check --write). A file with
// no case section is an error.
std::vector<CaseDef> cases_from_ini(const natten::IniFile& ini, CaseKeys keys = CaseKeys::bench);
std::vector<CaseDef> read_cases(const std::string& path, CaseKeys keys = CaseKeys::bench);

// The values of keys a case leaves out: resolve_case fills them in and natten-bench's --help
// prints them, so the two cannot disagree. (heads_kv defaults to heads and seed to the FNV-1a
// hash of the case name: rules, not values.)
struct CaseDefaults {
  std::int64_t batch = 1;
  int heads = 4;
  int dim = 32;
  int stride = 1;
  int dilation = 1;
  DType dtype = DType::f32;
  std::int64_t add_kv = 0;
  int parts = 2;
  int threads = 0;  // all usable cores
};
inline constexpr CaseDefaults kCaseDefaults{};

// A case with every setting resolved and the problem validated.
struct ResolvedCase {
  std::string name;    // the section name; also the HDF5 group name natten-check writes
  std::string origin;  // "file.ini:3" (the section header), "command line", "standard suite"
  std::string op = "na";
  // The problem. merge: only dtype, batch, spatial, heads_q and dim are meaningful (the shape
  // [B, *S, heads, dim] of each part); it is not an NA problem. varlen: spatial is the padded
  // extent and batch the number of samples.
  ProblemSpec spec;
  bool backward = false;
  std::uint64_t seed = 0;
  bool rpb = false;                   // na_qk: with a relative positional bias
  int parts = kCaseDefaults.parts;    // merge: number of parts
  std::vector<Extent> varlen_sizes;   // varlen: one per sample
  std::vector<std::string> backends;  // empty: the application's default
  std::optional<int> threads;         // unset: the application's default
};

// Fills defaults (kCaseDefaults; heads_kv = heads, not causal, forward only, seed = FNV-1a hash
// of the case name), broadcasts single values over the rank and validates the problem.
ResolvedCase resolve_case(const CaseDef& def);
// Every case of an INI file, resolved (natten-check --write reads its lists this way).
std::vector<ResolvedCase> resolve_cases(const natten::IniFile& ini, CaseKeys keys);
std::vector<ResolvedCase> read_resolved_cases(const std::string& path, CaseKeys keys);

// "64x64", "7x7", "1x0": per-axis values joined with 'x' (case names and tables).
std::string join_axes(const std::vector<std::int64_t>& v);

}  // namespace natten::config
