// The INI case lists behind natten-check --write and scripts/make_reference.py: parsing, defaults,
// aliases, and one clear error (file:line: key) per mistake.
#include <gtest/gtest.h>

#include <set>

#include "natten/core/error.hpp"
#include "natten/config/case_spec.hpp"
#include "natten/io/ini.hpp"

namespace natten {
namespace {

using config::ResolvedCase;

// natten-check reads its case lists with the shared keys only (config::CaseKeys::parity).
std::vector<ResolvedCase> parse(const std::string& text) {
  return config::resolve_cases(parse_ini(text, "t.ini"), config::CaseKeys::parity);
}

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(CheckConfig, ParsesDefaultsAliasesAndPerAxisValues) {
  const auto cases = parse(R"(# comment
[defaults]
heads = 4
dim = 8
backward = yes
dtype = bf16

[a]
input_size = 16, 12   ; inline comment
k = 5
stride = 2,1
dilation = 1,2
causal = 1,0
heads_kv = 2
add_kv = 3
seed = 99

[b]
rank = 1
input_size = 9
window_size = 4
dtype = fp32
backward = false
)");
  ASSERT_EQ(cases.size(), 2u);
  const ResolvedCase& a = cases[0];
  EXPECT_EQ(a.name, "a");
  EXPECT_EQ(a.origin, "t.ini:8");
  EXPECT_EQ(a.spec.params.rank, 2);
  EXPECT_EQ(a.spec.spatial[0], 16);
  EXPECT_EQ(a.spec.spatial[1], 12);
  EXPECT_EQ(a.spec.params.kernel[0], 5);
  EXPECT_EQ(a.spec.params.kernel[1], 5);  // one value broadcasts
  EXPECT_EQ(a.spec.params.stride[0], 2);
  EXPECT_EQ(a.spec.params.stride[1], 1);
  EXPECT_EQ(a.spec.params.dilation[1], 2);
  EXPECT_TRUE(a.spec.params.causal[0]);
  EXPECT_FALSE(a.spec.params.causal[1]);
  EXPECT_EQ(a.spec.heads_q, 4);
  EXPECT_EQ(a.spec.heads_kv, 2);
  EXPECT_EQ(a.spec.dim, 8);
  EXPECT_EQ(a.spec.extra_kv, 3);
  EXPECT_EQ(a.spec.dtype, DType::bf16);
  EXPECT_TRUE(a.backward);
  EXPECT_EQ(a.seed, 99u);
  const ResolvedCase& b = cases[1];
  EXPECT_EQ(b.spec.params.rank, 1);
  EXPECT_EQ(b.spec.params.kernel[0], 4);
  EXPECT_EQ(b.spec.heads_kv, 4);  // defaults to heads
  EXPECT_EQ(b.spec.dtype, DType::f32);
  EXPECT_FALSE(b.backward);
  EXPECT_NE(b.seed, a.seed);  // derived from the name when not given
}

TEST(CheckConfig, DefaultSeedIsStableAndNameDerived) {
  const auto x = parse("[c1]\ninput_size=8\nk=3\n[c2]\ninput_size=8\nk=3\n");
  const auto y = parse("[c1]\ninput_size=8\nk=3\n");
  EXPECT_EQ(x[0].seed, y[0].seed);
  EXPECT_NE(x[0].seed, x[1].seed);
}

TEST(CheckConfig, ErrorsNameFileLineAndKey) {
  const std::string head = "[c]\ninput_size = 8\nk = 3\n";
  EXPECT_EQ(error_of(head + "colour = red\n"),
            "t.ini:4: key 'colour': unknown key in section [c] (known: op, rank, input_size, batch, heads, heads_kv, dim, "
            "window_size, stride, dilation, causal, dtype, add_kv, backward, seed, rpb, parts, k)");
  // natten-bench's own keys are not natten-check's.
  EXPECT_EQ(error_of(head + "threads = 1\n").rfind("t.ini:4: key 'threads': unknown key in section [c]", 0), 0u);
  EXPECT_EQ(error_of(head + "batch = 2x\n"), "t.ini:4: key 'batch': '2x' is not a non-negative integer");
  EXPECT_EQ(error_of(head + "batch = -1\n"), "t.ini:4: key 'batch': '-1' is not a non-negative integer");
  EXPECT_EQ(error_of(head + "backward = maybe\n"),
            "t.ini:4: key 'backward': 'maybe' is not a boolean (true/false, 1/0, yes/no, on/off)");
  EXPECT_EQ(error_of(head + "dtype = fp8\n").rfind("t.ini:4: key 'dtype': ", 0), 0u);
  EXPECT_EQ(error_of(head + "window_size = 3\n"), "t.ini:4: key 'window_size': section [c] already sets it as 'k'");
  EXPECT_EQ(error_of("[c]\ninput_size = 8,8\nk = 3,3,3\n"),
            "t.ini:3: key 'k': '3,3,3' has 3 values, expected 1 or 2 (one per axis)");
  EXPECT_EQ(error_of("[c]\nrank = 2\ninput_size = 8\nk = 3\n"),
            "t.ini:2: key 'rank': rank 2 disagrees with input_size '8' (1 extents)");
  EXPECT_EQ(error_of("[c]\nk = 3\n"), "t.ini:1: case [c] has no 'input_size' (nor does [defaults])");
  EXPECT_EQ(error_of("[c]\ninput_size = 8\n"), "t.ini:1: case [c] has no 'window_size' (or 'k')");
  EXPECT_EQ(error_of("[c]\ninput_size = 8\nk = 9\n"),
            "t.ini:1: case [c]: kernel_size[0] * dilation[0] = 9 * 1 exceeds input size 8 along axis 0");
  EXPECT_EQ(error_of("[a/b]\ninput_size = 8\nk = 3\n"),
            "t.ini:1: section name [a/b] must use only letters, digits, '_', '-' and '.' (it names an HDF5 group)");
  EXPECT_EQ(error_of("[defaults]\nheads = 2\n"), "t.ini: no cases (every section but [defaults] is a case)");
}

TEST(CheckConfig, SplitOpsAndMergeKeys) {
  const auto cases = parse(R"(
[defaults]
dim = 8
k = 5          # ignored by merge cases, used by the others
rpb = true     # only na_qk cases take it
parts = 3      # only merge cases take it

[fused]
input_size = 12

[qk]
op = na_qk
input_size = 9,10
causal = 1,0

[qk_plain]
op = na_qk
input_size = 9
rpb = false

[av]
op = na_av
input_size = 11
add_kv = 2

[m]
op = merge
input_size = 4,5,6
heads = 3
backward = true
)");
  ASSERT_EQ(cases.size(), 5u);
  EXPECT_EQ(cases[0].op, "na");
  EXPECT_FALSE(cases[0].rpb);
  EXPECT_EQ(cases[1].op, "na_qk");
  EXPECT_TRUE(cases[1].rpb);
  EXPECT_EQ(cases[1].spec.params.kernel[1], 5);
  EXPECT_TRUE(cases[1].spec.params.causal[0]);
  EXPECT_FALSE(cases[2].rpb);
  EXPECT_EQ(cases[3].op, "na_av");
  EXPECT_FALSE(cases[3].rpb);
  EXPECT_EQ(cases[3].spec.extra_kv, 2);
  const ResolvedCase& m = cases[4];
  EXPECT_EQ(m.op, "merge");
  EXPECT_EQ(m.parts, 3);
  EXPECT_EQ(m.spec.params.rank, 3);
  EXPECT_EQ(m.spec.spatial[2], 6);
  EXPECT_EQ(m.spec.heads_q, 3);
  EXPECT_EQ(m.spec.dim, 8);
  EXPECT_TRUE(m.backward);
  EXPECT_EQ(cases[0].parts, 2);  // parts from [defaults] does not reach other ops
  // The op list matches the one the parity library dispatches on (case_ops.cpp).
  EXPECT_EQ(config::case_ops(config::CaseKeys::parity), (std::vector<std::string>{"na", "na_qk", "na_av", "merge"}));
}

TEST(CheckConfig, SplitOpErrorsNameFileLineAndKey) {
  EXPECT_EQ(error_of("[c]\nop = na_fancy\ninput_size = 8\nk = 3\n"),
            "t.ini:2: key 'op': unknown op 'na_fancy' (expected na, na_qk, na_av or merge)");
  // varlen is natten-bench's own op.
  EXPECT_EQ(error_of("[c]\nop = varlen\ninput_size = 8\nk = 3\n"),
            "t.ini:2: key 'op': unknown op 'varlen' (expected na, na_qk, na_av or merge)");
  EXPECT_EQ(error_of("[c]\nop = na_av\ninput_size = 8\nk = 3\nrpb = true\n"),
            "t.ini:5: key 'rpb': does not apply to op na_av in section [c]");
  EXPECT_EQ(error_of("[c]\ninput_size = 8\nk = 3\nrpb = false\n"),
            "t.ini:4: key 'rpb': does not apply to op na in section [c]");
  EXPECT_EQ(error_of("[c]\nop = na_qk\ninput_size = 8\nk = 3\nrpb = sometimes\n"),
            "t.ini:5: key 'rpb': 'sometimes' is not a boolean (true/false, 1/0, yes/no, on/off)");
  EXPECT_EQ(error_of("[c]\nop = merge\ninput_size = 8\nk = 3\n"),
            "t.ini:4: key 'k': does not apply to op merge in section [c]");
  EXPECT_EQ(error_of("[c]\nop = merge\ninput_size = 8\nheads_kv = 1\n"),
            "t.ini:4: key 'heads_kv': does not apply to op merge in section [c]");
  EXPECT_EQ(error_of("[c]\nop = na_qk\ninput_size = 8\nk = 3\nparts = 2\n"),
            "t.ini:5: key 'parts': does not apply to op na_qk in section [c]");
  EXPECT_EQ(error_of("[c]\nop = merge\ninput_size = 8\nparts = 1\n"), "t.ini:4: key 'parts': 1 is out of range [2, 1024]");
  EXPECT_EQ(error_of("[c]\nop = merge\ninput_size = 8,0\n"), "t.ini:3: key 'input_size': 0 is out of range [1, 1073741824]");
  EXPECT_EQ(error_of("[c]\nop = merge\ninput_size = 8\ndim = 0\n"), "t.ini:4: key 'dim': 0 is out of range [1, 1073741824]");
  EXPECT_EQ(error_of("[c]\nop = merge\ninput_size = 1073741824,1073741824\n"),
            "t.ini:1: case [c]: 2 parts of 1.48e+20 elements exceed the 8589934592 elements a case may hold");
  EXPECT_EQ(error_of("[c]\nop = na_qk\ninput_size = 8\n"), "t.ini:1: case [c] has no 'window_size' (or 'k')");
  EXPECT_EQ(error_of("[c]\nop = na_av\ninput_size = 8\nk = 9\n"),
            "t.ini:1: case [c]: kernel_size[0] * dilation[0] = 9 * 1 exceeds input size 8 along axis 0");
}

TEST(CheckConfig, IniSyntaxErrors) {
  auto ini_error = [](const std::string& text) {
    try {
      parse_ini(text, "s.ini");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_EQ(ini_error("k = 3\n"), "s.ini:1: key 'k' comes before any [section]");
  EXPECT_EQ(ini_error("[a\n"), "s.ini:1: section header '[a' lacks its closing ']'");
  EXPECT_EQ(ini_error("[a]\njust words\n"), "s.ini:2: expected 'key = value', got 'just words'");
  EXPECT_EQ(ini_error("[a]\n= 3\n"), "s.ini:2: empty key");
  EXPECT_EQ(ini_error("[a]\n[a]\n"), "s.ini:2: section [a] repeats the one on line 1");
  EXPECT_EQ(ini_error("[a]\nk=1\nk=2\n"), "s.ini:3: key 'k' repeats the one on line 2 in section [a]");
  EXPECT_EQ(ini_error("[]\n"), "s.ini:1: empty section name");
  // Long lines are fine (Debian's inih stops at 200 bytes).
  EXPECT_EQ(parse_ini("[a]\nk = " + std::string(500, '7') + "\n", "s.ini").sections[0].entries[0].value.size(), 500u);
}

TEST(CheckConfig, MissingFileIsAnError) {
  EXPECT_THROW(config::read_resolved_cases("/nonexistent/parity.ini", config::CaseKeys::parity), Error);
}

TEST(CheckConfig, ShippedSplitConfigParses) {
  const auto cases = config::read_resolved_cases(NATTEN_SOURCE_DIR "/configs/parity_split.ini", config::CaseKeys::parity);
  int qk = 0, av = 0, merge = 0, rpb = 0;
  for (const ResolvedCase& c : cases) {
    qk += c.op == "na_qk";
    av += c.op == "na_av";
    merge += c.op == "merge";
    rpb += c.rpb;
  }
  EXPECT_GE(qk, 5);
  EXPECT_GE(av, 4);
  EXPECT_GE(merge, 2);
  EXPECT_GE(rpb, 4);
}

TEST(CheckConfig, ShippedParityConfigParses) {
  const auto cases = config::read_resolved_cases(NATTEN_SOURCE_DIR "/configs/parity.ini", config::CaseKeys::parity);
  EXPECT_GE(cases.size(), 15u);
  bool has[3] = {false, false, false};
  for (const ResolvedCase& c : cases) has[c.spec.params.rank - 1] = true;
  EXPECT_TRUE(has[0] && has[1] && has[2]);
}

// configs/conformance.ini (what tests/data/upstream/natten-0.21.6-conformance.h5 holds, from
// upstream) covers what its header claims, every case with its backward.
TEST(CheckConfig, ConformanceConfigCoversWhatItClaims) {
  const auto cases = config::read_resolved_cases(NATTEN_SOURCE_DIR "/configs/conformance.ini", config::CaseKeys::parity);
  std::set<std::string> seen;
  for (const ResolvedCase& c : cases) {
    const NAParams& p = c.spec.params;
    EXPECT_TRUE(c.backward) << c.name;
    seen.insert("rank" + std::to_string(p.rank));
    bool any_causal = false, all_causal = true, stride = false;
    for (int a = 0; a < p.rank; ++a) {
      const std::int64_t n = c.spec.spatial[static_cast<std::size_t>(a)];
      const int k = p.kernel[static_cast<std::size_t>(a)], s = p.stride[static_cast<std::size_t>(a)],
                d = p.dilation[static_cast<std::size_t>(a)];
      if (k % 2 == 0) seen.insert("even k");
      if (k == 2) seen.insert("k = 2");
      if (k == n) seen.insert("k = length");
      if (d > 1) seen.insert(n % d == 0 ? "dilation dividing" : "dilation not dividing");
      if (s > 1) stride = true;
      if (s > 1 && s == k) seen.insert("stride = k");
      if (s > 1 && n % s != 0) seen.insert("stride not dividing");
      if (a > 0 && (k != p.kernel[0] || d != p.dilation[0])) seen.insert("per-axis k or dilation");
      any_causal = any_causal || p.causal[static_cast<std::size_t>(a)];
      all_causal = all_causal && p.causal[static_cast<std::size_t>(a)];
    }
    if (stride) seen.insert(any_causal ? "stride + causal" : "stride, not causal");
    if (any_causal && !all_causal) seen.insert("mixed causal");
    if (c.spec.heads_kv == 1 && c.spec.heads_q > 1) seen.insert("mqa");
    if (c.spec.heads_kv > 1 && c.spec.heads_kv < c.spec.heads_q) seen.insert("gqa");
    if (c.spec.extra_kv > 0) seen.insert(any_causal ? "additional kv + causal" : "additional kv");
    if (c.spec.batch > 1) seen.insert("batch > 1");
    seen.insert(std::string(dtype_name(c.spec.dtype)));
  }
  for (const char* want : {"rank1", "rank2", "rank3", "even k", "k = 2", "k = length", "dilation dividing",
                           "dilation not dividing", "stride = k", "stride not dividing", "per-axis k or dilation",
                           "stride + causal", "stride, not causal", "mixed causal", "mqa", "gqa", "additional kv",
                           "additional kv + causal", "batch > 1", "float32", "float16", "bfloat16"}) {
    EXPECT_TRUE(seen.count(want)) << "configs/conformance.ini has no case with " << want;
  }
  const auto split = config::read_resolved_cases(NATTEN_SOURCE_DIR "/configs/conformance_split.ini", config::CaseKeys::parity);
  std::set<std::string> split_seen;
  for (const ResolvedCase& c : split) {
    EXPECT_TRUE(c.backward) << c.name;
    split_seen.insert(c.op + (c.rpb ? "+rpb" : "") + " rank" + std::to_string(c.spec.params.rank));
    if (c.spec.params.kernel[0] == c.spec.spatial[0]) split_seen.insert("k = length");
    if (c.spec.params.dilation[0] > 1 && c.spec.spatial[0] % c.spec.params.dilation[0] != 0)
      split_seen.insert("dilation not dividing");
  }
  for (const char* want : {"na_qk+rpb rank1", "na_qk+rpb rank2", "na_qk rank1", "na_qk rank2", "na_av rank1", "na_av rank2",
                           "k = length", "dilation not dividing"}) {
    EXPECT_TRUE(split_seen.count(want)) << "configs/conformance_split.ini has no case with " << want;
  }
}

}  // namespace
}  // namespace natten
