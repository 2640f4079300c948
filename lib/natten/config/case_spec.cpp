#include "natten/config/case_spec.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <limits>
#include <map>

#include "natten/backend.hpp"
#include "natten/core/error.hpp"

namespace natten::config {
namespace {

constexpr const char* kDefaults = "defaults";
constexpr int kMaxInt = 1 << 30;
constexpr std::int64_t kMaxExtent = std::int64_t{1} << 30;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// How messages name a setting: "file.ini:12: key 'k'", or a flag by itself ("--window-size").
std::string label_of(const std::string& origin, std::string_view key) {
  return origin.rfind("-", 0) == 0 ? origin : fmt::format("{}: key '{}'", origin, key);
}

// Decimal digits only (no sign, no spaces, no suffix), then within [lo, hi].
template <typename T>
T parse_uint(std::string_view text, T lo, T hi, const std::string& label) {
  const std::string_view t = trim(text);
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  const bool digits = !t.empty() && std::isdigit(static_cast<unsigned char>(t.front()));
  if (!digits || ec == std::errc::invalid_argument || end != t.data() + t.size())
    fail("{}: '{}' is not a non-negative integer", label, t);
  if (ec == std::errc::result_out_of_range || v < static_cast<std::uint64_t>(lo) || v > static_cast<std::uint64_t>(hi))
    fail("{}: {} is out of range [{}, {}]", label, t, lo, hi);
  return static_cast<T>(v);
}

bool parse_bool(std::string_view text, const std::string& label) {
  std::string t(trim(text));
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (t == "1" || t == "true" || t == "yes" || t == "on") return true;
  if (t == "0" || t == "false" || t == "no" || t == "off") return false;
  fail("{}: '{}' is not a boolean (true/false, 1/0, yes/no, on/off)", label, trim(text));
}

std::vector<std::string_view> split_list(std::string_view text, std::size_t max_items, const std::string& label,
                                         char sep = ',') {
  std::vector<std::string_view> items;
  std::string_view rest = text;
  while (true) {
    const std::size_t at = rest.find(sep);
    const std::string_view item = trim(rest.substr(0, at));
    if (item.empty()) fail("{}: empty item in list '{}'", label, text);
    items.push_back(item);
    if (at == std::string_view::npos) break;
    rest.remove_prefix(at + 1);
  }
  if (items.size() > max_items) fail("{}: {} values given, at most {} allowed", label, items.size(), max_items);
  return items;
}

template <typename T>
std::vector<T> parse_uint_list(std::string_view text, T lo, T hi, const std::string& label, char sep = ',') {
  std::vector<T> out;
  for (std::string_view item : split_list(text, kMaxRank, label, sep)) out.push_back(parse_uint<T>(item, lo, hi, label));
  return out;
}

// (value, label) -> the setting's value; the caller fills origin, label and text.
template <typename T>
using Parser = std::function<T(std::string_view, const std::string&)>;

// One key: its names, which apps read it, and how its value is parsed into CaseSettings.
struct KeyDef {
  const char* name;
  const char* alias;  // nullptr when none
  bool bench_only;
  std::function<void(CaseSettings&, std::string_view, const std::string& origin, const std::string& label, CaseKeys)>
      set;
};

template <typename T, typename Member>
KeyDef key(const char* name, const char* alias, bool bench_only, Member member, Parser<T> parse) {
  return {name, alias, bench_only,
          [member, parse](CaseSettings& s, std::string_view v, const std::string& o, const std::string& l, CaseKeys) {
            s.*member = Setting<T>{parse(v, l), o, l, std::string(trim(v)), false};
          }};
}

template <typename T>
Parser<T> uint_parser(T lo, T hi) {
  return [lo, hi](std::string_view v, const std::string& l) { return parse_uint<T>(v, lo, hi, l); };
}

template <typename T>
Parser<std::vector<T>> uint_list_parser(T lo, T hi) {
  return [lo, hi](std::string_view v, const std::string& l) { return parse_uint_list<T>(v, lo, hi, l); };
}

std::vector<bool> parse_causal(std::string_view v, const std::string& l) {
  std::vector<bool> flags;
  for (std::string_view item : split_list(v, kMaxRank, l)) flags.push_back(parse_bool(item, l));
  return flags;
}

DType parse_case_dtype(std::string_view v, const std::string& l) {
  const std::string_view t = trim(v);
  if (t != "fp32" && t != "fp16" && t != "bf16" && t != "float32" && t != "float16" && t != "bfloat16")
    fail("{}: '{}' is not a dtype (fp32, fp16 or bf16)", l, t);
  return parse_dtype(t);
}

std::vector<std::string> parse_backends(std::string_view v, const std::string& l) {
  std::vector<std::string> names;
  for (std::string_view item : split_list(v, 64, l)) {
    if (std::find(names.begin(), names.end(), item) != names.end()) fail("{}: '{}' listed twice", l, item);
    names.emplace_back(item);
  }
  return names;
}

// "48x48;64x64": samples separated by ';', axes by 'x', every sample with the same rank.
std::vector<std::vector<std::int64_t>> parse_varlen_sizes(std::string_view v, const std::string& l) {
  std::vector<std::vector<std::int64_t>> samples;
  std::string_view rest = v;
  while (true) {
    const std::size_t semi = rest.find(';');
    const std::string_view sample = trim(rest.substr(0, semi));
    if (sample.empty()) fail("{}: empty sample in '{}' (samples are separated by ';')", l, trim(v));
    samples.push_back(parse_uint_list<std::int64_t>(sample, 1, kMaxExtent, l, 'x'));
    if (semi == std::string_view::npos) break;
    rest.remove_prefix(semi + 1);
  }
  for (const auto& e : samples) {
    if (e.size() != samples[0].size()) fail("{}: samples of '{}' have different numbers of axes", l, trim(v));
  }
  return samples;
}

const std::vector<KeyDef>& key_table() {
  using S = CaseSettings;
  static const std::vector<KeyDef> table = {
      {"op", nullptr, false,
       [](S& s, std::string_view v, const std::string& o, const std::string& l, CaseKeys keys) {
         const std::string t(trim(v));
         const std::vector<std::string>& ops = case_ops(keys);
         if (std::find(ops.begin(), ops.end(), t) == ops.end()) {
           std::string expected;
           for (std::size_t i = 0; i < ops.size(); ++i)
             expected += (i == 0 ? "" : i + 1 == ops.size() ? " or " : ", ") + ops[i];
           fail("{}: unknown op '{}' (expected {})", l, t, expected);
         }
         s.op = Setting<std::string>{t, o, l, t, false};
       }},
      key<int>("rank", nullptr, false, &S::rank, uint_parser<int>(1, kMaxRank)),
      key<std::vector<std::int64_t>>("input_size", nullptr, false, &S::input_size,
                                     uint_list_parser<std::int64_t>(1, kMaxExtent)),
      key<std::int64_t>("batch", nullptr, false, &S::batch, uint_parser<std::int64_t>(1, kMaxExtent)),
      key<int>("heads", nullptr, false, &S::heads, uint_parser<int>(1, kMaxInt)),
      key<int>("heads_kv", nullptr, false, &S::heads_kv, uint_parser<int>(1, kMaxInt)),
      key<int>("dim", nullptr, false, &S::dim, uint_parser<int>(1, kMaxInt)),
      // At least 2, as upstream validates it: -w 0 and -w 1 get the same message.
      key<std::vector<int>>("window_size", "k", false, &S::window_size, uint_list_parser<int>(2, kMaxInt)),
      key<std::vector<int>>("stride", nullptr, false, &S::stride, uint_list_parser<int>(1, kMaxInt)),
      key<std::vector<int>>("dilation", nullptr, false, &S::dilation, uint_list_parser<int>(1, kMaxInt)),
      key<std::vector<bool>>("causal", nullptr, false, &S::causal, parse_causal),
      key<DType>("dtype", nullptr, false, &S::dtype, parse_case_dtype),
      key<std::int64_t>("add_kv", nullptr, false, &S::add_kv, uint_parser<std::int64_t>(0, kMaxExtent)),
      key<bool>("backward", nullptr, false, &S::backward, parse_bool),
      key<std::uint64_t>("seed", nullptr, false, &S::seed,
                         uint_parser<std::uint64_t>(0, std::numeric_limits<std::uint64_t>::max())),
      key<bool>("rpb", nullptr, false, &S::rpb, parse_bool),
      key<int>("parts", nullptr, false, &S::parts, uint_parser<int>(2, 1024)),
      key<std::vector<std::string>>("backend", nullptr, true, &S::backend, parse_backends),
      key<int>("threads", nullptr, true, &S::threads, uint_parser<int>(0, 4096)),
      key<std::vector<std::vector<std::int64_t>>>("varlen_sizes", nullptr, true, &S::varlen_sizes, parse_varlen_sizes),
  };
  return table;
}

bool allowed(const KeyDef& d, CaseKeys keys) { return keys == CaseKeys::bench || !d.bench_only; }

const KeyDef* find_key(std::string_view name, CaseKeys keys) {
  for (const KeyDef& d : key_table()) {
    if (allowed(d, keys) && (name == d.name || (d.alias && name == d.alias))) return &d;
  }
  return nullptr;
}

std::string known_list(CaseKeys keys) {
  std::string known;
  for (const std::string& k : known_keys(keys)) known += (known.empty() ? "" : ", ") + k;
  return known;
}

template <typename T>
void take(std::optional<T>& base, const std::optional<T>& over) {
  if (over) base = over;
}

// Each setting of `s` (and of `o`, when given) in turn: `f(setting_of_s, setting_of_o)`.
template <typename F>
void for_each_setting(CaseSettings& s, const CaseSettings& o, F f) {
  f(s.op, o.op), f(s.rank, o.rank), f(s.input_size, o.input_size), f(s.batch, o.batch), f(s.heads, o.heads);
  f(s.heads_kv, o.heads_kv), f(s.dim, o.dim), f(s.window_size, o.window_size), f(s.stride, o.stride);
  f(s.dilation, o.dilation), f(s.causal, o.causal), f(s.dtype, o.dtype), f(s.add_kv, o.add_kv);
  f(s.backward, o.backward), f(s.seed, o.seed), f(s.rpb, o.rpb), f(s.parts, o.parts), f(s.backend, o.backend);
  f(s.threads, o.threads), f(s.varlen_sizes, o.varlen_sizes);
}

// Section names become HDF5 group names in natten-check --write.
bool valid_case_name(const std::string& s) {
  if (s.empty() || s == "." || s == "..") return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
  });
}

}  // namespace

const std::vector<std::string>& case_ops(CaseKeys keys) {
  // The op families (natten/backend.hpp); natten-check's files hold only some of them.
  static const std::vector<std::string> parity = family_name_list(true), bench = family_name_list(false);
  return keys == CaseKeys::bench ? bench : parity;
}

const std::vector<std::string>& known_keys(CaseKeys keys) {
  const auto build = [](CaseKeys k) {
    std::vector<std::string> out;
    for (const KeyDef& d : key_table()) {
      if (allowed(d, k)) out.emplace_back(d.name);
    }
    for (const KeyDef& d : key_table()) {
      if (allowed(d, k) && d.alias) out.emplace_back(d.alias);
    }
    return out;
  };
  static const std::vector<std::string> parity = build(CaseKeys::parity), bench = build(CaseKeys::bench);
  return keys == CaseKeys::bench ? bench : parity;
}

void set_key(CaseSettings& s, std::string_view key, std::string_view value, const std::string& origin, CaseKeys keys) {
  const std::string label = label_of(origin, key);
  const KeyDef* d = find_key(key, keys);
  if (d == nullptr) fail("{}: unknown key (known: {})", label, known_list(keys));
  d->set(s, value, origin, label, keys);
}

void merge_settings(CaseSettings& b, const CaseSettings& o) {
  for_each_setting(b, o, [](auto& base, const auto& over) { take(base, over); });
}

void mark_inherited(CaseSettings& s) {
  for_each_setting(s, s, [](auto& setting, const auto&) {
    if (setting) setting->inherited = true;
  });
}

std::vector<CaseDef> cases_from_ini(const natten::IniFile& ini, CaseKeys keys) {
  const auto at = [&](int line) { return ini.path + ":" + std::to_string(line); };
  // Settings are parsed section by section, so a bad value is reported where it is written even
  // when every case overrides it.
  std::vector<CaseDef> cases;
  CaseSettings defaults;
  bool seen_case = false;
  for (const natten::IniSection& sec : ini.sections) {
    const bool is_defaults = sec.name == kDefaults;
    if (is_defaults && seen_case) fail("{}: [defaults] must come before the first case", at(sec.line));
    if (!is_defaults && !valid_case_name(sec.name))
      fail("{}: section name [{}] must use only letters, digits, '_', '-' and '.' (it names an HDF5 group)",
           at(sec.line), sec.name);
    CaseSettings s;
    std::map<std::string, std::string> spelled;  // canonical key -> the spelling this section used
    for (const natten::IniEntry& e : sec.entries) {
      const std::string label = label_of(at(e.line), e.key);
      const KeyDef* d = find_key(e.key, keys);
      if (d == nullptr) fail("{}: unknown key in section [{}] (known: {})", label, sec.name, known_list(keys));
      const auto [it, fresh] = spelled.emplace(d->name, e.key);
      if (!fresh) fail("{}: section [{}] already sets it as '{}'", label, sec.name, it->second);
      d->set(s, e.value, at(e.line), label, keys);
    }
    if (is_defaults) {
      defaults = s;
      mark_inherited(defaults);
      continue;
    }
    seen_case = true;
    CaseSettings merged = defaults;
    merge_settings(merged, s);
    cases.push_back({sec.name, at(sec.line), merged});
  }
  if (cases.empty()) fail("{}: no cases (every section but [defaults] is a case)", ini.path);
  return cases;
}

std::vector<CaseDef> read_cases(const std::string& path, CaseKeys keys) {
  return cases_from_ini(natten::read_ini(path), keys);
}

namespace {

// Default seed: FNV-1a (64-bit) of the case name, as scripts/make_reference.py computes it, so
// each case gets its own inputs without a seed key.
std::uint64_t name_seed(const std::string& name) {
  std::uint64_t h = 14695981039346656037ULL;
  for (const char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

// Per-axis values: one value broadcast over the rank, or exactly `rank` of them.
template <typename T, typename Fill>
void per_axis(const std::optional<Setting<std::vector<T>>>& s, int rank, Fill fill) {
  if (!s) return;
  const auto& v = s->value;
  if (v.size() != 1 && static_cast<int>(v.size()) != rank)
    fail("{}: '{}' has {} values, expected {} (one per axis)", s->label, s->text, v.size(),
         rank == 1 ? std::string("1") : fmt::format("1 or {}", rank));
  for (int a = 0; a < rank; ++a) fill(a, v.size() == 1 ? v[0] : v[static_cast<std::size_t>(a)]);
}

// merge takes no window and is no NA problem: its parts are [B, *S, heads, dim] with logsumexps.
void check_merge_size(const ProblemSpec& spec, int parts) {
  double elements = static_cast<double>(spec.batch) * spec.heads_q * spec.dim;
  for (int a = 0; a < spec.params.rank; ++a) elements *= static_cast<double>(spec.spatial[static_cast<std::size_t>(a)]);
  if (elements * parts > static_cast<double>(kMaxElements))
    fail("{} parts of {:.3g} elements exceed the {} elements a case may hold", parts, elements, kMaxElements);
}

class Resolver {
 public:
  explicit Resolver(const CaseDef& def) : def_(def), s_(def.settings) {
    rc_.name = def.name;
    rc_.origin = def.origin;
    if (s_.op) rc_.op = s_.op->value;
  }

  ResolvedCase resolve() {
    const bool merge = rc_.op == "merge", varlen = rc_.op == "varlen", windowed = !merge;
    // Settings the op has no use for: an error where the case sets them, ignored when inherited.
    const bool window = applies(s_.window_size, windowed), stride = applies(s_.stride, windowed);
    const bool dilation = applies(s_.dilation, windowed), causal = applies(s_.causal, windowed);
    const bool heads_kv = applies(s_.heads_kv, windowed), add_kv = applies(s_.add_kv, windowed);
    if (applies(s_.rpb, rc_.op == "na_qk")) rc_.rpb = s_.rpb->value;
    if (applies(s_.parts, merge)) rc_.parts = s_.parts->value;
    const bool samples = applies(s_.varlen_sizes, varlen);
    if (varlen && !samples)
      fail("{}: case [{}] has no 'varlen_sizes' (op varlen needs one extent per sample)", def_.origin, def_.name);

    const std::vector<std::int64_t> size = extents(samples);
    const int rank = static_cast<int>(size.size());
    ProblemSpec& spec = rc_.spec;
    spec.params = NAParams::uniform(rank, 2, kCaseDefaults.stride, kCaseDefaults.dilation);
    for (int a = 0; a < rank; ++a) spec.spatial[static_cast<std::size_t>(a)] = size[static_cast<std::size_t>(a)];
    if (windowed && !window) fail("{}: case [{}] has no 'window_size' (or 'k')", def_.origin, def_.name);
    auto& p = spec.params;
    const auto ax = [](int a) { return static_cast<std::size_t>(a); };
    if (window) per_axis(s_.window_size, rank, [&](int a, int v) { p.kernel[ax(a)] = v; });
    if (stride) per_axis(s_.stride, rank, [&](int a, int v) { p.stride[ax(a)] = v; });
    if (dilation) per_axis(s_.dilation, rank, [&](int a, int v) { p.dilation[ax(a)] = v; });
    if (causal) per_axis(s_.causal, rank, [&](int a, bool v) { p.causal[ax(a)] = v; });
    spec.batch = samples ? static_cast<std::int64_t>(s_.varlen_sizes->value.size()) : s_.batch ? s_.batch->value : kCaseDefaults.batch;
    spec.heads_q = s_.heads ? s_.heads->value : kCaseDefaults.heads;
    spec.heads_kv = heads_kv ? s_.heads_kv->value : spec.heads_q;
    spec.dim = s_.dim ? s_.dim->value : kCaseDefaults.dim;
    spec.dim_v = spec.dim;
    spec.dtype = s_.dtype ? s_.dtype->value : kCaseDefaults.dtype;
    spec.extra_kv = add_kv ? s_.add_kv->value : kCaseDefaults.add_kv;
    rc_.backward = s_.backward && s_.backward->value;
    rc_.seed = s_.seed ? s_.seed->value : name_seed(def_.name);
    if (s_.backend) rc_.backends = s_.backend->value;
    if (s_.threads) rc_.threads = s_.threads->value;
    if (merge) {
      as_case([&] { check_merge_size(spec, rc_.parts); });
      return rc_;
    }
    as_case([&] { make_problem(spec); });  // validates; throws Error naming the argument
    if (samples) check_samples();
    return rc_;
  }

 private:
  // Whether the setting is present and applies to the case's op (an error when the case itself
  // sets one that does not apply).
  template <typename T>
  bool applies(const std::optional<Setting<T>>& s, bool applies_to_op) const {
    if (!s) return false;
    if (applies_to_op) return true;
    if (s->inherited) return false;
    if (s->origin.rfind("-", 0) == 0) fail("{}: does not apply to op {}", s->label, rc_.op);
    fail("{}: does not apply to op {} in section [{}]", s->label, rc_.op, def_.name);
  }

  // A case-level error: "origin: case [name]: what".
  template <typename F>
  void as_case(F&& f) const {
    try {
      f();
    } catch (const Error& e) {
      fail("{}: case [{}]: {}", def_.origin, def_.name, e.what());
    }
  }

  // The spatial extents (varlen: the padded ones), checked against rank and the samples.
  std::vector<std::int64_t> extents(bool samples) const {
    std::vector<std::int64_t> size;
    const Setting<std::vector<std::int64_t>>* given = s_.input_size ? &*s_.input_size : nullptr;
    if (given) size = given->value;
    if (samples) {
      const auto& v = *s_.varlen_sizes;
      if (s_.batch && s_.batch->value != static_cast<std::int64_t>(v.value.size()))
        fail("{}: {} does not match the {} samples of varlen_sizes", s_.batch->label, s_.batch->value, v.value.size());
      if (size.empty()) {
        size = v.value[0];
        for (const auto& e : v.value) {
          for (std::size_t a = 0; a < size.size(); ++a) size[a] = std::max(size[a], e[a]);
        }
      }
      for (std::size_t b = 0; b < v.value.size(); ++b) {
        const auto& e = v.value[b];
        bool fits = e.size() == size.size();
        for (std::size_t a = 0; fits && a < size.size(); ++a) fits = e[a] <= size[a];
        if (!fits) fail("{}: sample {} ({}) exceeds the padded input_size {}", v.label, b, join_axes(e), join_axes(size));
      }
    }
    if (size.empty()) fail("{}: case [{}] has no 'input_size' (nor does [defaults])", def_.origin, def_.name);
    if (s_.rank && s_.rank->value != static_cast<int>(size.size()))
      fail("{}: rank {} disagrees with input_size '{}' ({} extents)", s_.rank->label, s_.rank->value,
           given ? given->text : join_axes(size), size.size());
    return size;
  }

  // Each sample must be a valid problem at its own extents.
  void check_samples() {
    for (const auto& e : s_.varlen_sizes->value) {
      Extent x{1, 1, 1};
      for (std::size_t a = 0; a < e.size(); ++a) x[a] = e[a];
      rc_.varlen_sizes.push_back(x);
      ProblemSpec one = rc_.spec;
      one.batch = 1;
      one.spatial = x;
      as_case([&] {
        try {
          make_problem(one);
        } catch (const Error& err) {
          fail("varlen sample {}: {}", join_axes(e), err.what());
        }
      });
    }
  }

  const CaseDef& def_;
  const CaseSettings& s_;
  ResolvedCase rc_;
};

}  // namespace

ResolvedCase resolve_case(const CaseDef& def) { return Resolver(def).resolve(); }

std::vector<ResolvedCase> resolve_cases(const natten::IniFile& ini, CaseKeys keys) {
  std::vector<ResolvedCase> out;
  for (const CaseDef& d : cases_from_ini(ini, keys)) out.push_back(resolve_case(d));
  return out;
}

std::vector<ResolvedCase> read_resolved_cases(const std::string& path, CaseKeys keys) {
  return resolve_cases(natten::read_ini(path), keys);
}

std::string join_axes(const std::vector<std::int64_t>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "x" : "") + std::to_string(v[i]);
  return s;
}

}  // namespace natten::config
