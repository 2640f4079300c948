#include "natten/io/case_config.hpp"

#include <charconv>
#include <map>

#include "natten/core/error.hpp"

namespace natten {
namespace {

constexpr const char* kDefaults = "defaults";

const std::vector<std::string> kKeys = {"op",     "rank",        "input_size", "batch",  "heads",
                                        "heads_kv", "dim",       "window_size", "k",     "stride",
                                        "dilation", "causal",    "dtype",      "add_kv", "backward",
                                        "seed",   "rpb",         "parts"};

const std::vector<std::string> kOps = {"na", "na_qk", "na_av", "merge"};

// Keys that only some ops take (canonical names); every other key applies to every op.
const std::vector<std::string> kWindowKeys = {"window_size", "stride", "dilation", "causal", "heads_kv", "add_kv"};

// Whether `key` means anything for `op`.
bool applies(const std::string& key, const std::string& op) {
  if (key == "rpb") return op == "na_qk";
  if (key == "parts") return op == "merge";
  for (const std::string& k : kWindowKeys) {
    if (k == key) return op != "merge";
  }
  return true;
}

std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// A key's value with where it came from, for messages.
struct Value {
  std::string text;
  std::string where;  // "file:line: key 'name'"
  bool from_defaults = false;
};

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const auto comma = s.find(',', start);
    std::string item = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const auto first = item.find_first_not_of(" \t");
    const auto last = item.find_last_not_of(" \t");
    out.push_back(first == std::string::npos ? std::string() : item.substr(first, last - first + 1));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

std::uint64_t parse_unsigned(const std::string& item, const Value& v, std::uint64_t max) {
  std::uint64_t x = 0;
  const char* end = item.data() + item.size();
  const auto [ptr, ec] = std::from_chars(item.data(), end, x);
  if (item.empty() || ec != std::errc() || ptr != end)
    fail("{}: '{}' is not a non-negative integer", v.where, item);
  if (x > max) fail("{}: {} is too large (at most {})", v.where, x, max);
  return x;
}

int parse_int(const std::string& item, const Value& v) {
  return static_cast<int>(parse_unsigned(item, v, std::uint64_t{1} << 30));
}

bool parse_bool(const std::string& item, const Value& v) {
  if (item == "1" || item == "true" || item == "yes" || item == "on") return true;
  if (item == "0" || item == "false" || item == "no" || item == "off") return false;
  fail("{}: '{}' is not a boolean (true/false, 1/0, yes/no, on/off)", v.where, item);
}

// One value (broadcast to every axis) or exactly one per axis.
template <typename T, typename Parse>
std::vector<T> per_axis(const Value& v, int rank, Parse parse) {
  const std::vector<std::string> items = split_commas(v.text);
  if (items.size() != 1 && static_cast<int>(items.size()) != rank)
    fail("{}: '{}' has {} values, expected 1 or {} (one per axis)", v.where, v.text, items.size(), rank);
  std::vector<T> out;
  for (int a = 0; a < rank; ++a) out.push_back(parse(items[items.size() == 1 ? 0 : static_cast<std::size_t>(a)], v));
  return out;
}

bool valid_group_name(const std::string& s) {
  if (s.empty() || s == "." || s == "..") return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// The keys every op takes beyond the extents: batch, heads, dim, dtype, backward, seed.
template <typename Get>
void parse_shared_keys(CaseConfig& c, Get get) {
  ProblemSpec& p = c.problem;
  p.batch = 1;
  p.heads_q = 4;
  p.dim = 32;
  if (const Value* v = get("batch")) p.batch = parse_int(v->text, *v);
  if (const Value* v = get("heads")) p.heads_q = parse_int(v->text, *v);
  p.heads_kv = p.heads_q;
  if (const Value* v = get("dim")) p.dim = parse_int(v->text, *v);
  p.dim_v = p.dim;
  if (const Value* v = get("dtype")) {
    try {
      p.dtype = parse_dtype(v->text);
    } catch (const Error& e) {
      fail("{}: {}", v->where, e.what());
    }
  }
  if (const Value* v = get("backward")) c.backward = parse_bool(v->text, *v);
  c.seed = fnv1a(c.name);
  if (const Value* v = get("seed")) c.seed = parse_unsigned(v->text, *v, UINT64_MAX);
}

// A merge case is no NA problem, so make_problem does not check it: every extent at least 1, and
// the parts small enough to allocate.
void check_merge_shape(const CaseConfig& c) {
  const ProblemSpec& p = c.problem;
  // In double: each factor may be up to 2^30, so an integer product could overflow.
  double elements = static_cast<double>(p.batch) * p.heads_q * p.dim;
  const std::pair<const char*, std::int64_t> sizes[] = {{"batch", p.batch}, {"heads", p.heads_q}, {"dim", p.dim}};
  for (const auto& [what, n] : sizes) {
    if (n < 1) fail("{}: case [{}]: {} is {}: must be >= 1", c.where, c.name, what, n);
  }
  for (int a = 0; a < p.params.rank; ++a) {
    if (p.spatial[a] < 1) fail("{}: case [{}]: input_size[{}] is {}: must be >= 1", c.where, c.name, a, p.spatial[a]);
    elements *= static_cast<double>(p.spatial[a]);
  }
  if (elements * c.parts > static_cast<double>(kMaxElements))
    fail("{}: case [{}]: {} parts of {:.3g} elements exceed the {} elements a case may hold", c.where, c.name, c.parts,
         elements, kMaxElements);
}

CaseConfig build_case(const std::string& file, const IniSection& section, const std::map<std::string, Value>& keys) {
  CaseConfig c;
  c.name = section.name;
  c.where = fmt::format("{}:{}", file, section.line);
  if (!valid_group_name(c.name))
    fail("{}: section name [{}] must use only letters, digits, '_', '-' and '.' (it names an HDF5 group)", c.where,
         c.name);
  if (const auto it = keys.find("op"); it != keys.end()) {
    c.op = it->second.text;
    bool known = false;
    for (const std::string& o : kOps) known = known || o == c.op;
    if (!known) fail("{}: unknown op '{}' (expected na, na_qk, na_av or merge)", it->second.where, c.op);
  }
  // A key the op has no use for: an error when the case sets it, ignored when [defaults] does.
  for (const auto& [key, v] : keys) {
    if (!applies(key, c.op) && !v.from_defaults)
      fail("{}: does not apply to op {} in section [{}]", v.where, c.op, c.name);
  }
  auto get = [&](const char* key) -> const Value* {
    const auto it = keys.find(key);
    return it == keys.end() || !applies(key, c.op) ? nullptr : &it->second;
  };
  auto need = [&](const char* key) -> const Value& {
    const Value* v = get(key);
    if (v == nullptr) fail("{}: case [{}] has no '{}' (nor does [defaults])", c.where, c.name, key);
    return *v;
  };

  const Value& size_v = need("input_size");
  const std::vector<std::string> sizes = split_commas(size_v.text);
  if (sizes.empty() || sizes.size() > kMaxRank)
    fail("{}: '{}' must give 1 to 3 extents", size_v.where, size_v.text);
  int rank = static_cast<int>(sizes.size());
  if (const Value* r = get("rank")) {
    const int declared = parse_int(r->text, *r);
    if (declared != rank)
      fail("{}: rank {} disagrees with input_size '{}' ({} extents)", r->where, declared, size_v.text, rank);
  }
  ProblemSpec& p = c.problem;
  p.params.rank = rank;
  for (int a = 0; a < rank; ++a) p.spatial[a] = parse_int(sizes[static_cast<std::size_t>(a)], size_v);
  parse_shared_keys(c, get);
  if (c.op == "merge") {
    if (const Value* v = get("parts")) {
      const int parts = parse_int(v->text, *v);
      if (parts < 2 || parts > 1024) fail("{}: {} parts: expected 2..1024", v->where, parts);
      c.parts = parts;
    }
    check_merge_shape(c);
    return c;
  }
  if (const Value* v = get("rpb")) c.rpb = parse_bool(v->text, *v);

  const Value* k = get("window_size");
  if (k == nullptr) fail("{}: case [{}] has no 'window_size' (or 'k')", c.where, c.name);
  const auto kernel = per_axis<int>(*k, rank, parse_int);
  for (int a = 0; a < rank; ++a) p.params.kernel[a] = kernel[static_cast<std::size_t>(a)];
  if (const Value* v = get("stride")) {
    const auto s = per_axis<int>(*v, rank, parse_int);
    for (int a = 0; a < rank; ++a) p.params.stride[a] = s[static_cast<std::size_t>(a)];
  }
  if (const Value* v = get("dilation")) {
    const auto d = per_axis<int>(*v, rank, parse_int);
    for (int a = 0; a < rank; ++a) p.params.dilation[a] = d[static_cast<std::size_t>(a)];
  }
  if (const Value* v = get("causal")) {
    const auto cz = per_axis<bool>(*v, rank, parse_bool);
    for (int a = 0; a < rank; ++a) p.params.causal[a] = cz[static_cast<std::size_t>(a)];
  }
  if (const Value* v = get("heads_kv")) p.heads_kv = parse_int(v->text, *v);
  if (const Value* v = get("add_kv")) p.extra_kv = parse_int(v->text, *v);
  try {
    (void)make_problem(p);
  } catch (const Error& e) {
    fail("{}: case [{}]: {}", c.where, c.name, e.what());
  }
  return c;
}

}  // namespace

const std::vector<std::string>& case_config_keys() { return kKeys; }
const std::vector<std::string>& case_config_ops() { return kOps; }

std::vector<CaseConfig> parse_case_configs(const IniFile& ini) {
  std::map<std::string, Value> defaults;
  auto collect = [&](const IniSection& s, std::map<std::string, Value>& into, bool from_defaults) {
    std::map<std::string, std::string> seen;  // canonical key -> spelling used in this section
    for (const IniEntry& e : s.entries) {
      const std::string where = fmt::format("{}:{}: key '{}'", ini.path, e.line, e.key);
      bool known = false;
      for (const std::string& k : kKeys) known = known || k == e.key;
      if (!known) fail("{}: unknown key in section [{}]", where, s.name);
      const std::string canonical = e.key == "k" ? "window_size" : e.key;
      if (seen.count(canonical))
        fail("{}: section [{}] already sets it as '{}'", where, s.name, seen[canonical]);
      seen[canonical] = e.key;
      into[canonical] = {e.value, where, from_defaults};
    }
  };
  for (const IniSection& s : ini.sections) {
    if (s.name == kDefaults) collect(s, defaults, true);
  }
  std::vector<CaseConfig> out;
  for (const IniSection& s : ini.sections) {
    if (s.name == kDefaults) continue;
    std::map<std::string, Value> keys = defaults;
    collect(s, keys, false);
    out.push_back(build_case(ini.path, s, keys));
  }
  if (out.empty()) fail("{}: no cases (every section but [defaults] is a case)", ini.path);
  return out;
}

std::vector<CaseConfig> read_case_configs(const std::string& path) { return parse_case_configs(read_ini(path)); }

}  // namespace natten
