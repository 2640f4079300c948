#include "natten/config/case_spec.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <limits>

#include "natten/core/error.hpp"

namespace natten::config {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Decimal integer in [lo, hi], nothing else (no sign '+', no spaces, no suffix).
// `label` names the setting in messages: "file.ini:12: key", or "--flag" (a flag names itself).
std::string label_of(const std::string& origin, std::string_view key) {
  return origin.rfind("-", 0) == 0 ? origin : origin + ": " + std::string(key);
}

// Decimal integer in [lo, hi], nothing else (no sign '+', no spaces, no suffix).
template <typename T>
T parse_int(std::string_view text, T lo, T hi, const std::string& label) {
  const std::string_view t = trim(text);
  T v{};
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec == std::errc::invalid_argument || end != t.data() + t.size())
    fail("{}: '{}' is not an integer", label, text);
  if (ec == std::errc::result_out_of_range || v < lo || v > hi) fail("{}: {} is out of range [{}, {}]", label, t, lo, hi);
  return v;
}

bool parse_bool(std::string_view text, const std::string& label) {
  std::string t(trim(text));
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (t == "1" || t == "true" || t == "yes" || t == "on") return true;
  if (t == "0" || t == "false" || t == "no" || t == "off") return false;
  fail("{}: '{}' is not a boolean (true/false, 1/0, yes/no, on/off)", label, text);
}

std::vector<std::string_view> split_list(std::string_view text, std::size_t max_items, const std::string& label) {
  std::vector<std::string_view> items;
  std::string_view rest = text;
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string_view item = trim(rest.substr(0, comma));
    if (item.empty()) fail("{}: empty item in list '{}'", label, text);
    items.push_back(item);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (items.size() > max_items) fail("{}: {} values given, at most {} allowed", label, items.size(), max_items);
  return items;
}

template <typename T>
std::vector<T> parse_int_list(std::string_view text, T lo, T hi, const std::string& label) {
  std::vector<T> out;
  for (std::string_view item : split_list(text, kMaxRank, label)) out.push_back(parse_int<T>(item, lo, hi, label));
  return out;
}

constexpr int kMaxInt = 1 << 30;
constexpr std::int64_t kMaxExtent = std::int64_t{1} << 30;

// (settings, value, origin, label)
using Setter = std::function<void(CaseSettings&, std::string_view, const std::string&, const std::string&)>;

template <typename T, typename Member>
Setter int_setter(Member member, T lo, T hi) {
  return [member, lo, hi](CaseSettings& s, std::string_view v, const std::string& o, const std::string& l) {
    s.*member = Setting<T>{parse_int<T>(v, lo, hi, l), o};
  };
}

template <typename T, typename Member>
Setter list_setter(Member member, T lo, T hi) {
  return [member, lo, hi](CaseSettings& s, std::string_view v, const std::string& o, const std::string& l) {
    s.*member = Setting<std::vector<T>>{parse_int_list<T>(v, lo, hi, l), o};
  };
}

struct KeyDef {
  const char* name;
  const char* alias;  // nullptr when none
  Setter set;
};

const std::vector<KeyDef>& key_table() {
  static const std::vector<KeyDef> table = {
      {"rank", nullptr, int_setter<int>(&CaseSettings::rank, 1, kMaxRank)},
      {"input_size", nullptr, list_setter<std::int64_t>(&CaseSettings::input_size, 1, kMaxExtent)},
      {"batch", nullptr, int_setter<std::int64_t>(&CaseSettings::batch, 1, kMaxExtent)},
      {"heads", nullptr, int_setter<int>(&CaseSettings::heads, 1, kMaxInt)},
      {"heads_kv", nullptr, int_setter<int>(&CaseSettings::heads_kv, 1, kMaxInt)},
      {"dim", nullptr, int_setter<int>(&CaseSettings::dim, 1, kMaxInt)},
      {"window_size", "k", list_setter<int>(&CaseSettings::window_size, 1, kMaxInt)},
      {"stride", nullptr, list_setter<int>(&CaseSettings::stride, 1, kMaxInt)},
      {"dilation", nullptr, list_setter<int>(&CaseSettings::dilation, 1, kMaxInt)},
      {"causal", nullptr,
       [](CaseSettings& s, std::string_view v, const std::string& o, const std::string& l) {
         std::vector<bool> flags;
         for (std::string_view item : split_list(v, kMaxRank, l)) flags.push_back(parse_bool(item, l));
         s.causal = Setting<std::vector<bool>>{flags, o};
       }},
      {"dtype", nullptr,
       [](CaseSettings& s, std::string_view v, const std::string& o, const std::string& l) {
         const std::string_view t = trim(v);
         if (t != "fp32" && t != "fp16" && t != "bf16" && t != "float32" && t != "float16" && t != "bfloat16")
           fail("{}: '{}' is not a dtype (fp32, fp16 or bf16)", l, v);
         s.dtype = Setting<DType>{parse_dtype(t), o};
       }},
      {"add_kv", nullptr, int_setter<std::int64_t>(&CaseSettings::add_kv, 0, kMaxExtent)},
      {"backward", nullptr,
       [](CaseSettings& s, std::string_view v, const std::string& o, const std::string& l) {
         s.backward = Setting<bool>{parse_bool(v, l), o};
       }},
      {"seed", nullptr,
       int_setter<std::uint64_t>(&CaseSettings::seed, 0, std::numeric_limits<std::uint64_t>::max())},
      {"backend", nullptr,
       [](CaseSettings& s, std::string_view v, const std::string& o, const std::string& l) {
         std::vector<std::string> names;
         for (std::string_view item : split_list(v, 64, l)) {
           if (std::find(names.begin(), names.end(), item) != names.end()) fail("{}: '{}' listed twice", l, item);
           names.emplace_back(item);
         }
         s.backend = Setting<std::vector<std::string>>{names, o};
       }},
      {"threads", nullptr, int_setter<int>(&CaseSettings::threads, 0, 4096)},
      {"op", nullptr,
       [](CaseSettings& s, std::string_view v, const std::string& o, const std::string& l) {
         const std::string t(trim(v));
         if (std::find(case_ops().begin(), case_ops().end(), t) == case_ops().end())
           fail("{}: '{}' is not an op (na, na_qk, na_av, merge or varlen)", l, v);
         s.op = Setting<std::string>{t, o};
       }},
      {"rpb", nullptr,
       [](CaseSettings& s, std::string_view v, const std::string& o, const std::string& l) {
         s.rpb = Setting<bool>{parse_bool(v, l), o};
       }},
      {"parts", nullptr, int_setter<int>(&CaseSettings::parts, 2, 1024)},
      {"varlen_sizes", nullptr,
       [](CaseSettings& s, std::string_view v, const std::string& o, const std::string& l) {
         std::vector<std::vector<std::int64_t>> samples;
         std::string_view rest = v;
         while (true) {
           const std::size_t semi = rest.find(';');
           std::string sample(trim(rest.substr(0, semi)));
           if (sample.empty()) fail("{}: empty sample in '{}' (samples are separated by ';')", l, v);
           std::replace(sample.begin(), sample.end(), 'x', ',');
           samples.push_back(parse_int_list<std::int64_t>(sample, 1, kMaxExtent, l));
           if (semi == std::string_view::npos) break;
           rest.remove_prefix(semi + 1);
         }
         for (const auto& e : samples) {
           if (e.size() != samples[0].size())
             fail("{}: samples of '{}' have different numbers of axes", l, v);
         }
         s.varlen_sizes = Setting<std::vector<std::vector<std::int64_t>>>{samples, o};
       }},
  };
  return table;
}

template <typename T>
void take(std::optional<T>& base, const std::optional<T>& over) {
  if (over) base = over;
}

// Per-axis values: one value broadcast over the rank, or exactly `rank` of them.
template <typename T, typename Fill>
void per_axis(const std::optional<Setting<std::vector<T>>>& s, const char* key, int rank, Fill fill) {
  if (!s) return;
  const auto& v = s->value;
  if (v.size() != 1 && static_cast<int>(v.size()) != rank)
    fail("{}: {} values given for rank {} (give one value or one per axis)", label_of(s->origin, key), v.size(), rank);
  for (int a = 0; a < rank; ++a) fill(a, v.size() == 1 ? v[0] : v[static_cast<std::size_t>(a)]);
}

}  // namespace

const std::vector<std::string>& known_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (const KeyDef& d : key_table()) k.emplace_back(d.name);
    for (const KeyDef& d : key_table()) {
      if (d.alias) k.emplace_back(d.alias);
    }
    return k;
  }();
  return keys;
}

void set_key(CaseSettings& s, std::string_view key, std::string_view value, const std::string& origin) {
  for (const KeyDef& d : key_table()) {
    if (key == d.name || (d.alias && key == d.alias)) {
      d.set(s, value, origin, label_of(origin, key));
      return;
    }
  }
  std::string known;
  for (const std::string& k : known_keys()) known += (known.empty() ? "" : ", ") + k;
  fail("{}: unknown key '{}' (known: {})", origin, key, known);
}

const std::vector<std::string>& case_ops() {
  static const std::vector<std::string> ops = {"na", "na_qk", "na_av", "merge", "varlen"};
  return ops;
}

void mark_inherited(CaseSettings& s) {
  const auto mark = [](auto& setting) {
    if (setting) setting->inherited = true;
  };
  mark(s.rank), mark(s.input_size), mark(s.batch), mark(s.heads), mark(s.heads_kv), mark(s.dim);
  mark(s.window_size), mark(s.stride), mark(s.dilation), mark(s.causal), mark(s.dtype), mark(s.add_kv);
  mark(s.backward), mark(s.seed), mark(s.backend), mark(s.threads), mark(s.op), mark(s.rpb), mark(s.parts);
  mark(s.varlen_sizes);
}

void merge_settings(CaseSettings& b, const CaseSettings& o) {
  take(b.rank, o.rank);
  take(b.input_size, o.input_size);
  take(b.batch, o.batch);
  take(b.heads, o.heads);
  take(b.heads_kv, o.heads_kv);
  take(b.dim, o.dim);
  take(b.window_size, o.window_size);
  take(b.stride, o.stride);
  take(b.dilation, o.dilation);
  take(b.causal, o.causal);
  take(b.dtype, o.dtype);
  take(b.add_kv, o.add_kv);
  take(b.backward, o.backward);
  take(b.seed, o.seed);
  take(b.backend, o.backend);
  take(b.threads, o.threads);
  take(b.op, o.op);
  take(b.rpb, o.rpb);
  take(b.parts, o.parts);
  take(b.varlen_sizes, o.varlen_sizes);
}

std::vector<CaseDef> cases_from_ini(const natten::IniFile& ini) {
  const auto at = [&](int line) { return ini.path + ":" + std::to_string(line); };
  // Settings are parsed section by section, so a bad value is reported where it is written even
  // when every case overrides it.
  std::vector<CaseDef> cases;
  CaseSettings defaults;
  bool seen_case = false;
  for (const natten::IniSection& sec : ini.sections) {
    CaseSettings s;
    for (const natten::IniEntry& e : sec.entries) set_key(s, e.key, e.value, at(e.line));
    if (sec.name == "defaults") {
      if (seen_case) fail("{}: [defaults] must come before the first case", at(sec.line));
      defaults = s;
      continue;
    }
    seen_case = true;
    CaseSettings merged = defaults;
    mark_inherited(merged);
    merge_settings(merged, s);
    cases.push_back({sec.name, at(sec.line), merged});
  }
  if (cases.empty()) fail("{}: no cases (every section other than [defaults] is one case)", ini.path);
  return cases;
}

std::vector<CaseDef> read_cases(const std::string& path) { return cases_from_ini(natten::read_ini(path)); }

namespace {

// Default seed: FNV-1a of the case name, as natten-check --write and make_reference.py use, so
// each case gets its own inputs without a seed key.
std::uint64_t name_seed(const std::string& name) {
  std::uint64_t h = 14695981039346656037ULL;
  for (const char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

// A setting that means nothing for the case's op: an error when the case sets it, ignored when
// it is inherited. Returns whether it is set and applies.
template <typename T>
bool applies(const std::optional<Setting<T>>& s, const char* key, bool applies_to_op, const std::string& op) {
  if (!s) return false;
  if (applies_to_op) return true;
  if (!s->inherited) fail("{}: does not apply to op {}", label_of(s->origin, key), op);
  return false;
}

// merge takes no window and is no NA problem: its parts are [B, *S, heads, dim] with logsumexps.
void check_merge_size(const ProblemSpec& spec, int parts) {
  double elements = static_cast<double>(spec.batch) * spec.heads_q * spec.dim * parts;
  for (int a = 0; a < spec.params.rank; ++a) elements *= static_cast<double>(spec.spatial[static_cast<std::size_t>(a)]);
  if (elements > static_cast<double>(kMaxElements))
    fail("{} parts of {:.3g} elements exceed the {} elements a case may hold", parts, elements / parts, kMaxElements);
}

ResolvedCase resolve_unprefixed(const CaseDef& def) {
  const CaseSettings& s = def.settings;
  ResolvedCase rc;
  rc.name = def.name;
  rc.origin = def.origin;
  if (s.op) rc.op = s.op->value;
  const bool merge = rc.op == "merge", varlen = rc.op == "varlen";
  const bool windowed = !merge;
  applies(s.window_size, "window_size", windowed, rc.op);
  const bool has_stride = applies(s.stride, "stride", windowed, rc.op);
  const bool has_dilation = applies(s.dilation, "dilation", windowed, rc.op);
  const bool has_causal = applies(s.causal, "causal", windowed, rc.op);
  const bool has_heads_kv = applies(s.heads_kv, "heads_kv", windowed, rc.op);
  const bool has_add_kv = applies(s.add_kv, "add_kv", windowed, rc.op);
  if (applies(s.rpb, "rpb", rc.op == "na_qk", rc.op)) rc.rpb = s.rpb->value;
  if (applies(s.parts, "parts", merge, rc.op)) rc.parts = s.parts->value;
  const bool has_varlen = applies(s.varlen_sizes, "varlen_sizes", varlen, rc.op);
  if (varlen && !has_varlen) fail("varlen_sizes is required for op varlen");

  std::vector<std::int64_t> size;
  if (s.input_size) size = s.input_size->value;
  if (has_varlen) {
    const auto& samples = s.varlen_sizes->value;
    const std::string& where = label_of(s.varlen_sizes->origin, "varlen_sizes");
    if (size.empty()) {
      size = samples[0];
      for (const auto& e : samples) {
        for (std::size_t a = 0; a < size.size(); ++a) size[a] = std::max(size[a], e[a]);
      }
    }
    if (samples[0].size() != size.size())
      fail("{}: samples have {} axes but input_size {} has {}", where, samples[0].size(), join_axes(size), size.size());
    for (std::size_t b = 0; b < samples.size(); ++b) {
      for (std::size_t a = 0; a < size.size(); ++a) {
        if (samples[b][a] > size[a])
          fail("{}: sample {} ({}) exceeds the padded input_size {}", where, b, join_axes(samples[b]), join_axes(size));
      }
    }
    if (s.batch && s.batch->value != static_cast<std::int64_t>(samples.size()))
      fail("{}: {} does not match the {} samples of varlen_sizes", label_of(s.batch->origin, "batch"), s.batch->value,
           samples.size());
  }
  if (size.empty()) fail("input_size is required");
  if (windowed && !s.window_size) fail("window_size is required");
  const int rank = static_cast<int>(size.size());
  if (s.rank && s.rank->value != rank)
    fail("{}: {} does not match input_size ({} given at {})", label_of(s.rank->origin, "rank"), s.rank->value,
         join_axes(size), s.input_size ? s.input_size->origin : s.varlen_sizes->origin);

  ProblemSpec& spec = rc.spec;
  spec.params = NAParams::uniform(rank, 2);
  for (int a = 0; a < rank; ++a) spec.spatial[static_cast<std::size_t>(a)] = size[static_cast<std::size_t>(a)];
  if (windowed)
    per_axis(s.window_size, "window_size", rank, [&](int a, int v) { spec.params.kernel[static_cast<std::size_t>(a)] = v; });
  if (has_stride)
    per_axis(s.stride, "stride", rank, [&](int a, int v) { spec.params.stride[static_cast<std::size_t>(a)] = v; });
  if (has_dilation)
    per_axis(s.dilation, "dilation", rank, [&](int a, int v) { spec.params.dilation[static_cast<std::size_t>(a)] = v; });
  if (has_causal)
    per_axis(s.causal, "causal", rank, [&](int a, bool v) { spec.params.causal[static_cast<std::size_t>(a)] = v; });
  spec.batch = s.batch ? s.batch->value : 1;
  if (has_varlen) spec.batch = static_cast<std::int64_t>(s.varlen_sizes->value.size());
  spec.heads_q = s.heads ? s.heads->value : 4;
  spec.heads_kv = has_heads_kv ? s.heads_kv->value : spec.heads_q;
  spec.dim = s.dim ? s.dim->value : 32;
  spec.dim_v = spec.dim;
  spec.dtype = s.dtype ? s.dtype->value : DType::f32;
  spec.extra_kv = has_add_kv ? s.add_kv->value : 0;
  rc.backward = s.backward && s.backward->value;
  rc.seed = s.seed ? s.seed->value : name_seed(def.name);
  if (s.backend) rc.backends = s.backend->value;
  if (s.threads) rc.threads = s.threads->value;
  if (merge) {
    check_merge_size(spec, rc.parts);
    return rc;
  }
  make_problem(spec);  // validates; throws Error naming the argument
  if (has_varlen) {
    for (const auto& e : s.varlen_sizes->value) {
      Extent x{1, 1, 1};
      for (std::size_t a = 0; a < e.size(); ++a) x[a] = e[a];
      rc.varlen_sizes.push_back(x);
      ProblemSpec one = spec;
      one.batch = 1;
      one.spatial = x;
      try {
        make_problem(one);
      } catch (const Error& err) {
        fail("varlen sample {}: {}", join_axes(e), err.what());
      }
    }
  }
  return rc;
}

}  // namespace

ResolvedCase resolve_case(const CaseDef& def) {
  try {
    return resolve_unprefixed(def);
  } catch (const Error& e) {
    throw Error(fmt::format("case '{}' ({}): {}", def.name, def.origin, e.what()));
  }
}

std::string join_axes(const std::vector<std::int64_t>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "x" : "") + std::to_string(v[i]);
  return s;
}

}  // namespace natten::config
