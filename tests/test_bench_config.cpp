// natten-bench input parsing: the strict INI reader, case keys, the command line, and the suite.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli.hpp"
#include "natten/backend.hpp"
#include "natten/config/case_spec.hpp"
#include "natten/io/ini.hpp"
#include "natten/core/error.hpp"
#include "suite.hpp"
#include "support/bench_cases.hpp"
#include "support/temp_file.hpp"

namespace natten {
namespace {

using config::CaseDef;
using config::ResolvedCase;

using testing::error_of;
using testing::resolve_text;

// The reader is natten-check's (natten/io/ini.hpp, tested there); these check what natten-bench
// makes of its sections and that syntax errors reach the user with file and line.
TEST(BenchIni, CommentsAndLineNumbersReachTheCases) {
  const auto cases = config::cases_from_ini(
      parse_ini("# comment\r\n; another\n\n[defaults]  # trailing\ndim = 16 ; sixteen\n[a]\n  input_size =  8, 8 \nk = 3\n",
                "x.ini"));
  ASSERT_EQ(cases.size(), 1u);
  EXPECT_EQ(cases[0].origin, "x.ini:6");
  EXPECT_EQ(cases[0].settings.dim->value, 16);
  EXPECT_EQ(cases[0].settings.dim->origin, "x.ini:5");
  EXPECT_EQ(cases[0].settings.input_size->value, (std::vector<std::int64_t>{8, 8}));
}

TEST(BenchIni, MalformedFilesNameFileAndLine) {
  struct Bad {
    const char* text;
    const char* expect;
  } bad[] = {
      {"k = 7\n", "x.ini:1: "},
      {"[a]\ninput_size\n", "x.ini:2: "},
      {"[a\n", "x.ini:1: "},
      {"[a]\n[b]\n[a]\n", "x.ini:3: "},
      {"[a]\ndim = 1\ndim = 2\n", "x.ini:3: "},
      {"[a]\ndim =\n", "x.ini:2: key 'dim': '' is not a non-negative integer"},
      {"[a]\nwin dow = 3\n", "x.ini:2: key 'win dow': unknown key in section [a]"},
  };
  for (const Bad& b : bad) {
    const std::string msg = error_of([&] { config::cases_from_ini(parse_ini(b.text, "x.ini")); });
    EXPECT_EQ(msg.rfind(b.expect, 0), 0u) << b.text << " -> " << msg;
  }
}

TEST(BenchIni, MissingFileIsAnError) {
  EXPECT_EQ(error_of([] { config::read_cases("/nonexistent/cases.ini"); }).rfind("config file /nonexistent/cases.ini: No such file or directory", 0), 0u);
}

TEST(BenchCases, DefaultsOverridesAndBroadcast) {
  const auto cases = resolve_text(
      "[defaults]\nheads = 8\ndim = 16\nwindow_size = 5\nbackward = yes\n"
      "[one]\ninput_size = 32,24\nk = 7,3\nheads_kv = 2\ncausal = 1,0\ndtype = bf16\nadd_kv = 3\nseed = 42\n"
      "[two]\ninput_size = 10,10,10\nstride = 2\ndilation = 1,2,1\nbackend = reference,all\nthreads = 1\nbackward = false\n");
  ASSERT_EQ(cases.size(), 2u);
  const auto& a = cases[0];
  EXPECT_EQ(a.name, "one");
  EXPECT_EQ(a.origin, "t.ini:6");
  EXPECT_EQ(a.spec.params.rank, 2);
  EXPECT_EQ(a.spec.spatial[0], 32);
  EXPECT_EQ(a.spec.spatial[1], 24);
  EXPECT_EQ(a.spec.params.kernel[0], 7);
  EXPECT_EQ(a.spec.params.kernel[1], 3);
  EXPECT_TRUE(a.spec.params.causal[0]);
  EXPECT_FALSE(a.spec.params.causal[1]);
  EXPECT_EQ(a.spec.heads_q, 8);
  EXPECT_EQ(a.spec.heads_kv, 2);
  EXPECT_EQ(a.spec.dim, 16);
  EXPECT_EQ(a.spec.dtype, DType::bf16);
  EXPECT_EQ(a.spec.extra_kv, 3);
  EXPECT_EQ(a.seed, 42u);
  // Without a seed key: FNV-1a of the case name, as natten-check --write and make_reference.py.
  EXPECT_EQ(resolve_text("[a]\ninput_size = 8\nk = 3\n")[0].seed, 0xaf63dc4c8601ec8cULL);
  EXPECT_TRUE(a.backward);
  const auto& b = cases[1];
  EXPECT_EQ(b.spec.params.rank, 3);
  for (int ax = 0; ax < 3; ++ax) {
    EXPECT_EQ(b.spec.params.kernel[static_cast<std::size_t>(ax)], 5);
    EXPECT_EQ(b.spec.params.stride[static_cast<std::size_t>(ax)], 2);
  }
  EXPECT_EQ(b.spec.params.dilation[1], 2);
  EXPECT_EQ(b.spec.heads_kv, 8);  // defaults to heads
  EXPECT_EQ(b.backends, (std::vector<std::string>{"reference", "all"}));
  EXPECT_EQ(b.threads, 1);
  EXPECT_FALSE(b.backward);
}

TEST(BenchCases, BadKeysAndValuesNameFileLineAndKey) {
  struct Bad {
    const char* text;
    const char* expect;
  } bad[] = {
      {"[a]\ninput_size = 8\nwindow = 3\n", "t.ini:3: key 'window': unknown key in section [a] (known: op, rank, input_size"},
      {"[a]\ninput_size = 8\nk = 7x\n", "t.ini:3: key 'k': '7x' is not a non-negative integer"},
      {"[a]\ninput_size = 8\nk = +3\n", "t.ini:3: key 'k': '+3' is not a non-negative integer"},
      {"[a]\ninput_size = 8\nk = 3\nbatch = 0\n", "t.ini:4: key 'batch': 0 is out of range [1, "},
      {"[a]\ninput_size = 8\nk = 3\nheads = 99999999999\n", "t.ini:4: key 'heads': 99999999999 is out of range"},
      {"[a]\ninput_size = 8,,8\n", "t.ini:2: key 'input_size': empty item in list '8,,8'"},
      {"[a]\ninput_size = 8,8,8,8\n", "t.ini:2: key 'input_size': 4 values given, at most 3 allowed"},
      {"[a]\ninput_size = 8\ncausal = maybe\n", "t.ini:3: key 'causal': 'maybe' is not a boolean"},
      {"[a]\ninput_size = 8\ndtype = fp64\n", "t.ini:3: key 'dtype': 'fp64' is not a dtype (fp32, fp16 or bf16)"},
      {"[a]\ninput_size = 8\nbackward = 2\n", "t.ini:3: key 'backward': '2' is not a boolean"},
      {"[a]\ninput_size = 8\nk = 3\nbackend = cpu,cpu\n", "t.ini:4: key 'backend': 'cpu' listed twice"},
      {"[defaults]\ndim = -1\n[a]\ninput_size = 8\n", "t.ini:2: key 'dim': '-1' is not a non-negative integer"},
      {"[a]\ninput_size = 8\nk = 3# seven\n", "t.ini:3: key 'k': '3# seven' is not a non-negative integer"},
      {"[a]\ninput_size = 8,8\nk = 3,3,3\n", "t.ini:3: key 'k': '3,3,3' has 3 values, expected 1 or 2 (one per axis)"},
      {"[a]\ninput_size = 8,8\nk = 3\nrank = 3\n", "t.ini:4: key 'rank': rank 3 disagrees with input_size '8,8' (2 extents)"},
      {"[a]\nk = 3\n", "t.ini:1: case [a] has no 'input_size' (nor does [defaults])"},
      {"[a]\ninput_size = 8\n", "t.ini:1: case [a] has no 'window_size' (or 'k')"},
      {"[a]\ninput_size = 8\nk = 9\n", "t.ini:1: case [a]: kernel_size[0] * dilation[0] = 9 * 1 exceeds input size 8"},
      {"[a]\ninput_size = 8\nk = 3\nheads = 4\nheads_kv = 3\n", "t.ini:1: case [a]: heads: query heads 4 is not a multiple"},
      {"[defaults]\ndim = 8\n", "t.ini: no cases"},
      {"[a]\ninput_size = 8\nk = 3\n[defaults]\ndim = 8\n", "t.ini:4: [defaults] must come before the first case"},
  };
  for (const Bad& b : bad) EXPECT_NE(error_of([&] { resolve_text(b.text); }).find(b.expect), std::string::npos) << b.text << " -> " << error_of([&] { resolve_text(b.text); });
}

TEST(BenchCases, ShippedConfigsParse) {
  for (const char* f : {"standard.ini", "kernel-sweep.ini", "models.ini", "ci-quick.ini"}) {
    const std::string path = std::string(NATTEN_SOURCE_DIR) + "/configs/" + f;
    std::vector<CaseDef> defs;
    ASSERT_NO_THROW(defs = config::read_cases(path)) << path;
    for (const CaseDef& d : defs) EXPECT_NO_THROW(config::resolve_case(d)) << path << " " << d.name;
  }
}

// configs/standard.ini and the built-in suite (--rank R --k 7) must describe the same problems.
TEST(BenchCases, StandardIniMatchesBuiltInSuite) {
  const auto file = config::read_cases(std::string(NATTEN_SOURCE_DIR) + "/configs/standard.ini");
  const auto suite = bench::standard_suite(std::nullopt);
  ASSERT_EQ(file.size(), suite.size());
  for (std::size_t i = 0; i < file.size(); ++i) {
    EXPECT_EQ(file[i].name, suite[i].name);
    const Problem a = make_problem(config::resolve_case(file[i]).spec);
    const Problem b = make_problem(config::resolve_case(suite[i]).spec);
    EXPECT_EQ(a.str(), b.str()) << file[i].name;
  }
  EXPECT_EQ(bench::standard_suite(2).size(), 3u);
  EXPECT_EQ(bench::standard_suite(3).size(), 1u);
}

bench::Options parse(std::vector<const char*> args) { return testing::parse_bench_args(std::move(args)); }

TEST(BenchCli, UpstreamProfilerSpellings) {
  const bench::Options o = parse({"-i", "64", "48", "-b", "2", "-n", "8", "--heads-kv", "2", "-d", "64", "-w", "7,5",
                                  "-s", "2", "--dilation", "1,2", "-c", "1,0", "--dtype", "fp16", "--backprop",
                                  "--add-kv", "4", "--backend", "reference", "--threads", "1"});
  const auto cases = bench::assemble_cases(o);
  ASSERT_EQ(cases.size(), 1u);
  const ResolvedCase& c = cases[0];
  EXPECT_EQ(c.spec.params.rank, 2);
  EXPECT_EQ(c.spec.spatial[0], 64);
  EXPECT_EQ(c.spec.spatial[1], 48);
  EXPECT_EQ(c.spec.batch, 2);
  EXPECT_EQ(c.spec.heads_q, 8);
  EXPECT_EQ(c.spec.heads_kv, 2);
  EXPECT_EQ(c.spec.dim, 64);
  EXPECT_EQ(c.spec.params.kernel[0], 7);
  EXPECT_EQ(c.spec.params.kernel[1], 5);
  EXPECT_EQ(c.spec.params.stride[1], 2);
  EXPECT_EQ(c.spec.params.dilation[1], 2);
  EXPECT_TRUE(c.spec.params.causal[0]);
  EXPECT_FALSE(c.spec.params.causal[1]);
  EXPECT_EQ(c.spec.dtype, DType::f16);
  EXPECT_EQ(c.spec.extra_kv, 4);
  EXPECT_TRUE(c.backward);
  EXPECT_EQ(c.backends, std::vector<std::string>{"reference"});
  EXPECT_EQ(c.threads, 1);
}

TEST(BenchCli, AliasesAndBareCausal) {
  const auto c = bench::assemble_cases(parse({"--input-size", "32,32", "--k", "5", "--causal", "--backward"}))[0];
  EXPECT_EQ(c.spec.params.kernel[1], 5);
  EXPECT_TRUE(c.spec.params.causal[0] && c.spec.params.causal[1]);
  EXPECT_TRUE(c.backward);
}

TEST(BenchCli, RankAndKRunTheStandardSuite) {
  const auto cases = bench::assemble_cases(parse({"--rank", "2", "--k", "5"}));
  ASSERT_EQ(cases.size(), 3u);
  EXPECT_EQ(cases[1].name, "2d-64x64");
  EXPECT_EQ(cases[1].spec.params.kernel[0], 5);
  EXPECT_TRUE(cases[2].spec.params.causal[0]);
  EXPECT_EQ(bench::assemble_cases(parse({}))[0].spec.params.kernel[0], 7);  // all ranks, K = 7
  EXPECT_EQ(bench::assemble_cases(parse({})).size(), 6u);
}

TEST(BenchCli, FlagsOverrideConfigCasesAndFilter) {
  const testing::TempFile ini(".ini", "[defaults]\nk = 3\n[a]\ninput_size = 16\n[b]\ninput_size = 8,8\n[c]\ninput_size = 8,8\ndtype = bf16\n");
  const auto all = bench::assemble_cases(parse({"--config", ini.path().c_str(), "--dtype", "fp16"}));
  ASSERT_EQ(all.size(), 3u);
  for (const auto& c : all) EXPECT_EQ(c.spec.dtype, DType::f16);
  EXPECT_EQ(bench::assemble_cases(parse({"--config", ini.path().c_str(), "--rank", "2"})).size(), 2u);
  const auto one = bench::assemble_cases(parse({"--config", ini.path().c_str(), "--case", "c"}));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].spec.dtype, DType::bf16);
  EXPECT_NE(error_of([&] { bench::assemble_cases(parse({"--config", ini.path().c_str(), "--case", "zz*"})); }).find("--case 'zz*': matches no case"),
            std::string::npos);
}

TEST(BenchCli, BadFlagsAreOneLineErrors) {
  struct Bad {
    std::vector<const char*> args;
    const char* expect;
  } bad[] = {
      {{"--bogus"}, "--bogus"},
      {{"-i", "64", "-w", "7x"}, "--window-size: '7x' is not a non-negative integer"},
      {{"-i", "1", "2", "3", "4"}, "--input-size"},
      {{"--dtype", "fp8"}, "--dtype: 'fp8' is not a dtype"},
      {{"--rank", "4"}, "--rank: 4 is out of range [1, 3]"},
      {{"--max-slowdown", "0.5", "--baseline", "b.json"}, "--max-slowdown: 0.5 must be >= 1"},
      {{"--guard-stat", "mean", "--baseline", "b.json"}, "--guard-stat: unknown statistic 'mean'"},
      {{"--guard-stat", "min"}, "--guard-stat applies to the time guard only"},
      {{"--max-slowdown", "2", "--save-baseline", "b.json"}, "--max-slowdown applies to the time guard only"},
      {{"--allow-missing"}, "--allow-missing needs --baseline"},
      {{"--ab-rounds", "9"}, "--ab-rounds does not apply to a timed run"},
      {{"--valgrind", "vg"}, "--valgrind does not apply to a timed run"},
      {{"--count-work", "--peak"}, "--count-work cannot be combined with --peak"},
      {{"--peak", "--json", "p.json"}, "--json does not apply to --peak"},
      {{"--dry-run", "--csv", "p.csv"}, "--csv does not apply to --dry-run"},
      {{"--list-backends", "--json", "x"}, "--json does not apply to --list-backends"},
      {{"--json", ""}, "--json: the path is empty"},
      {{"--baseline", ""}, "--baseline: the path is empty"},
      {{"--config", ""}, "--config: the path is empty"},
      {{"--config", "x.ini", "-i", "8"}, "--input-size with --config"},
      {{"--compare", "a.json"}, "--compare takes 2 values, got 1"},
      {{"--atol", "1"}, "unknown option --atol"},
      {{"--min-reps", "0"}, "--min-reps: 0 must be >= 1"},
      {{"--max-time", "0.1", "--min-time", "1"}, "--max-time: 0.1 must be > 0 and >= --min-time 1"},
      {{"--peak", "--dry-run"}, "--peak cannot be combined with --dry-run"},
      {{"--dry-run", "--baseline", "x.json"}, "--baseline does not apply to --dry-run"},
      {{"--threads", "-1"}, "--threads: '-1' is not a non-negative integer"},
      {{"--threads", "5000"}, "--threads: 5000 is out of range [0, 4096]"},
  };
  for (const Bad& b : bad) {
    const std::string msg = error_of([&] { parse(b.args); });
    EXPECT_NE(msg.find(b.expect), std::string::npos) << b.args[0] << " -> " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
  EXPECT_THROW(parse({"--help"}), bench::HelpRequested);
}

TEST(BenchCli, InvalidProblemNamesTheCase) {
  const std::string msg = error_of([] { bench::assemble_cases(parse({"-i", "8", "-w", "9"})); });
  EXPECT_NE(msg.find("command line: case [cli]: kernel_size[0] * dilation[0] = 9 * 1 exceeds input size 8"), std::string::npos)
      << msg;
  const std::string suite = error_of([] { bench::assemble_cases(parse({"--rank", "2", "--k", "40"})); });
  EXPECT_NE(suite.find("standard suite: case [2d-32x32]: "), std::string::npos) << suite;
}

TEST(BenchCli, BackendSelection) {
  const auto c = bench::assemble_cases(parse({"-i", "8", "-w", "3", "--backend", "all"}))[0];
  const auto check = [](const std::string& n) { make_backend(n); };
  const auto names = bench::case_backends(c, check);
  EXPECT_EQ(names, available_backends());
  const auto d = bench::assemble_cases(parse({"-i", "8", "-w", "3"}))[0];
  EXPECT_EQ(bench::case_backends(d, check), std::vector<std::string>{bench::default_backend()});
  const auto e = bench::assemble_cases(parse({"-i", "8", "-w", "3", "--backend", "nope"}))[0];
  EXPECT_NE(error_of([&] { bench::case_backends(e, check); }).find("backend: unknown 'nope'"), std::string::npos);
}

}  // namespace
}  // namespace natten
