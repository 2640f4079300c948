// natten-check end to end: the real binary, its exit codes (0 pass, 1 parity failure, 2 usage or
// input error), --list, --case, --json (parsed back by Python's json module, an independent
// parser), --candidate with a perturbed candidate, and --write followed by a check of the result.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>

#include "natten/io/case_reader.hpp"
#include "natten/io/h5.hpp"
#include "support/random_problem.hpp"
#include "support/ref_files.hpp"
#include "support/ref_fixtures.hpp"
#include "support/run_command.hpp"

namespace natten {
namespace {

using testing::CommandResult;

// stdout, then stderr, in `out`.
CommandResult run(const std::string& args) {
  CommandResult r = testing::run_command(std::string(NATTEN_CHECK_EXE) + " " + args);
  r.out += r.err;
  return r;
}

bool have_python() { return std::system("python3 -c 'import json' >/dev/null 2>&1") == 0; }

// Runs a Python snippet with `json_path` loaded as `d`; the snippet asserts. Returns its output.
CommandResult python_json(const std::string& json_path, const std::string& snippet) {
  const std::string script = testing::temp_path("json_check") + ".py";
  {
    std::FILE* f = std::fopen(script.c_str(), "w");
    std::fprintf(f, "import json, sys\nd = json.load(open(sys.argv[1]))\n%s\nprint('json ok')\n", snippet.c_str());
    std::fclose(f);
  }
  CommandResult r = testing::run_command("python3 " + script + " " + json_path);
  r.out += r.err;
  return r;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(CheckCli, UsageErrorsExitTwo) {
  EXPECT_EQ(run("--help").code, 0);
  EXPECT_EQ(run("").code, 2);
  EXPECT_EQ(run("--no-such-flag x.h5").code, 2);
  CommandResult r = run("--write /tmp/x.h5");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.out, "--write needs --config FILE.ini")) << r.out;
  r = run("/nonexistent.h5");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.out, "natten-check: error: HDF5 file /nonexistent.h5: No such file or directory")) << r.out;
  const std::string f = testing::temp_path("cli_usage");
  testing::write_cases(f, {testing::tiny_case("a")});
  r = run(f + " --backend no_such_backend");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.out, "backend: unknown 'no_such_backend'")) << r.out;
  r = run(f + " --case 'zzz*'");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.out, "matches no case")) << r.out;
  EXPECT_EQ(run(f + " --candidate " + f + " --backend reference").code, 2);
  EXPECT_EQ(run("--list-backends").code, 0);
}

TEST(CheckCli, WriteListCaseAndReadBack) {
  const std::string out = testing::temp_path("cli_written");
  CommandResult w = run("--write " + out + " --config " NATTEN_SOURCE_DIR "/configs/parity.ini --backend reference -q "
              "--case 'na1d*,na2d_fp16,na3d_basic' --compress");
  ASSERT_EQ(w.code, 0) << w.out;
  EXPECT_TRUE(contains(w.out, "wrote 7 cases from backend reference")) << w.out;
  EXPECT_FALSE(std::filesystem::exists(out + ".tmp." + std::to_string(::getpid())));

  CommandResult l = run("--list " + out);
  EXPECT_EQ(l.code, 0) << l.out;
  EXPECT_TRUE(contains(l.out, "7 cases, 0 unreadable")) << l.out;
  EXPECT_TRUE(contains(l.out, "na2d_fp16")) << l.out;
  EXPECT_TRUE(contains(l.out, "float16")) << l.out;

  CommandResult c = run(out + " -q --case 'na1d_b*'");
  EXPECT_EQ(c.code, 0) << c.out;
  EXPECT_TRUE(contains(c.out, "na1d_basic")) << c.out;
  EXPECT_FALSE(contains(c.out, "na1d_even_k")) << c.out;
  EXPECT_TRUE(contains(c.out, "result: PASS (exit 0)")) << c.out;

  // A write that fails (unknown key) leaves no file behind.
  const std::string bad_ini = testing::temp_path("bad") + ".ini";
  {
    std::FILE* f = std::fopen(bad_ini.c_str(), "w");
    std::fputs("[c]\ninput_size = 8\nk = 3\ncolour = red\n", f);
    std::fclose(f);
  }
  const std::string never = testing::temp_path("never");
  CommandResult b = run("--write " + never + " --config " + bad_ini);
  EXPECT_EQ(b.code, 2);
  EXPECT_TRUE(contains(b.out, ":4: key 'colour': unknown key in section [c]")) << b.out;
  EXPECT_FALSE(std::filesystem::exists(never));
}

TEST(CheckCli, CandidatePerturbedFailsAndJsonParsesBack) {
  const std::string ref = testing::temp_path("cli_ref");
  const RefCase a = testing::tiny_case("a", 1);
  const RefCase b = testing::tiny_case("b", 2);
  testing::write_cases(ref, {a, b});
  const std::string cand = testing::temp_path("cli_cand");
  RefCase pb = b;
  pb.expected["output"] = b.expected.at("output").clone();
  pb.expected["output"].set(7, pb.expected["output"].get(7) + 0.5f);
  testing::write_cases(cand, {a, pb});

  const std::string json = testing::temp_path("cli_report") + ".json";
  CommandResult r = run(ref + " --candidate " + cand + " --json " + json + " -q");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_TRUE(contains(r.out, "result: PARITY FAILURE (exit 1)")) << r.out;
  EXPECT_EQ(run(ref + " --candidate " + ref + " -q").code, 0);
  // Tolerances are overridable: a loose enough --atol makes the perturbation acceptable.
  EXPECT_EQ(run(ref + " --candidate " + cand + " --atol 1 -q").code, 0);

  if (!have_python()) GTEST_SKIP() << "python3 not available to parse the JSON report";
  const CommandResult p = python_json(json, R"(
assert d['schema'] == 'natten-check/2' and d['mode'] == 'candidate', d
assert d['tool'] == 'natten-check' and d['tool_version'] and d['command_line'] and d['created'], d
assert d['machine']['cpu_model'] and d['build']['compiler'] and d['elapsed_s'] >= 0, d
s = d['summary']
assert (s['cases'], s['passed'], s['failed'], s['errors'], s['exit_code']) == (2, 1, 1, 0, 1), s
res = {r['case']: r for r in d['results']}
assert res['a']['status'] == 'pass' and res['b']['status'] == 'fail'
out = [t for t in res['b']['tensors'] if t['name'] == 'output'][0]
assert out['outside_tolerance'] == 1 and out['count'] == 6 * 5 * 2 * 4, out
assert out['worst']['index'] == [0, 0, 0, 1, 3], out['worst']
assert abs(out['max_abs_error'] - 0.5) < 1e-6 and out['pass'] is False
assert abs(out['worst']['candidate'] - out['worst']['reference'] - 0.5) < 1e-6
assert out['tolerance_ratio'] > 1000, out  # 0.5 against atol + rtol |ref| of about 1.5e-5
)");
  EXPECT_EQ(p.code, 0) << p.out;
}

// natten-check on `path` (every available backend) passes, and the Python `snippet` holds for its
// JSON report (as `d`).
void expect_passes_with_report(const std::string& path, const std::string& snippet) {
  SCOPED_TRACE(path);
  const std::string json = testing::temp_path("cli_upstream") + ".json";
  const CommandResult r = run(path + " -q --json " + json);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "result: PASS (exit 0)")) << r.out;
  if (!have_python()) {
    std::printf("[   NOTE   ] python3 not available to parse the JSON report of %s\n", path.c_str());
    return;
  }
  const CommandResult p = python_json(json, snippet);
  EXPECT_EQ(p.code, 0) << p.out;
}

// Every fused-op upstream reference file (tests/data/upstream, and the shared one when present)
// passes on every available backend, through the binary and its JSON report.
TEST(CheckCli, UpstreamFilesPassOnEveryBackend) {
  const std::vector<std::string> files = testing::upstream_ref_files(testing::RefKind::fused);
  ASSERT_GE(files.size(), 2u);
  for (const std::string& path : files) {
    expect_passes_with_report(path, R"(
s = d['summary']
assert s['exit_code'] == 0 and s['failed'] == 0 and s['errors'] == 0 and s['cases'] >= 17, s
for r in d['results']:
    assert r['status'] == 'pass', r
    for t in r['tensors']:
        if r['dtype'] == 'float32' and t['name'] == 'output':
            assert t['max_abs_error'] <= 1e-5, (r['case'], t)
)");
  }
}

// Upstream NATTEN 0.14.6's split-op cases (na_qk with and without rpb, na_av; the shared file is
// heads-first) pass on every available backend; a backend without split ops would show "skip"
// (test_check_split.cpp).
TEST(CheckCli, UpstreamSplitFilesPassOnEveryBackend) {
  const std::vector<std::string> files = testing::upstream_ref_files(testing::RefKind::split);
  ASSERT_GE(files.size(), 1u);
  for (const std::string& path : files) {
    const CommandResult l = testing::run_command("COLUMNS=300 " + std::string(NATTEN_CHECK_EXE) + " --list " + path);  // one line per case
    EXPECT_EQ(l.code, 0) << l.out;
    EXPECT_TRUE(contains(l.out, " rpb layout=")) << l.out;
    EXPECT_TRUE(contains(l.out, " forward+backward")) << l.out;
    expect_passes_with_report(path, R"(
s = d['summary']
assert s['exit_code'] == 0 and s['failed'] == 0 and s['errors'] == 0 and s['cases'] >= 10, s
ops, qk_rpb = set(), set()
for r in d['results']:
    ops.add(r['op'])
    assert r['status'] in ('pass', 'skip'), r
    if r['status'] == 'skip':
        assert r['message'], r
        continue
    names = {t['name'] for t in r['tensors']}
    want = {'attention', 'grad_query', 'grad_key'} if r['op'] == 'na_qk' else {'output', 'grad_attention', 'grad_value'}
    assert want <= names, (r['case'], names)
    if r['op'] == 'na_qk':
        qk_rpb.add('grad_rpb' in names)
    for t in r['tensors']:
        if not t['name'].startswith('grad_'):
            assert t['max_abs_error'] <= 1e-5, (r['case'], t)
assert ops == {'na_qk', 'na_av'}, ops
assert qk_rpb == {True, False}, 'na_qk cases with and without a bias'
)");
  }
}

// The split ops and merge end to end through the binary: --write from configs/parity_split.ini,
// --list, a passing check, a candidate whose attention is perturbed (exit 1), and a bad case (exit 2).
TEST(CheckCli, SplitOpsWriteListCheckCandidateAndBadCase) {
  const std::string out = testing::temp_path("cli_split");
  const CommandResult w = run("--write " + out + " --config " NATTEN_SOURCE_DIR "/configs/parity_split.ini -q "
                              "--case 'qk1d_rpb,qk2d_causal_gqa_add_kv,av2d_causal_add_kv,merge3_1d_fp16'");
  ASSERT_EQ(w.code, 0) << w.out;
  EXPECT_TRUE(contains(w.out, "wrote 4 cases from backend reference")) << w.out;
  EXPECT_TRUE(contains(w.out, "merge3_1d_fp16               merge parts=3 output=[2, 12, 2, 8] float16")) << w.out;

  const CommandResult l = run("--list " + out);
  EXPECT_EQ(l.code, 0) << l.out;
  // Descriptions wrap at 100 columns when piped.
  EXPECT_TRUE(contains(l.out, "qk1d_rpb                na_qk  rank=1 B=2 S=20 Hq=2 Hkv=2 D=8 k=5 s=1 d=1 causal=0")) << l.out;
  EXPECT_TRUE(contains(l.out, "float32 rpb layout=heads_last forward+backward")) << l.out;
  EXPECT_TRUE(contains(l.out, "av2d_causal_add_kv      na_av  ")) << l.out;
  EXPECT_TRUE(contains(l.out, "4 cases, 0 unreadable")) << l.out;

  const CommandResult c = run(out + " -q -v");  // -v: one row per tensor
  EXPECT_EQ(c.code, 0) << c.out;
  EXPECT_TRUE(contains(c.out, "grad_rpb")) << c.out;
  EXPECT_TRUE(contains(c.out, "grad_logsumexp_2")) << c.out;

  // Candidate: the same file with one attention logit moved by 1e-3 (a wrong bias entry would do this).
  const std::string cand = testing::temp_path("cli_split_cand");
  {
    const h5::File src = h5::File::open(out);
    const h5::Array a = src.root().subgroup("qk1d_rpb").read("attention", kMaxElements);
    Tensor t = Tensor::empty(a.shape, DType::f32);
    for (std::size_t i = 0; i < a.values.size(); ++i) t.set(static_cast<std::int64_t>(i), static_cast<float>(a.values[i]));
    t.set(42, t.get(42) + 1e-3f);
    const h5::File f = h5::File::create(cand);
    f.root().create_group("qk1d_rpb").write_dataset("attention", t);
  }
  const CommandResult p = run(out + " --candidate " + cand + " --case qk1d_rpb -q");
  EXPECT_EQ(p.code, 1) << p.out;
  EXPECT_TRUE(contains(p.out, "attention")) << p.out;
  EXPECT_TRUE(contains(p.out, "1 of 400 outside atol 1e-05 + rtol 1e-05")) << p.out;  // failures get details
  EXPECT_TRUE(contains(p.out, "result: PARITY FAILURE (exit 1)")) << p.out;
  EXPECT_EQ(run(out + " --candidate " + cand + " --case qk1d_rpb -q --atol 2e-3").code, 0);

  // A bad case (rpb of the wrong size) is a one-line input error; the good case still passes.
  const std::string bad = testing::temp_path("cli_split_bad");
  {
    const h5::File f = h5::File::create(bad);
    write_ref_case(f.root(), testing::tiny_case("good"), "reference");
    const h5::Group g = f.root().create_group("qk_bad_rpb");
    g.write_attribute("op", std::string("na_qk"));
    write_na_params(g, NAParams::uniform(1, 3));
    g.write_attribute("dtype", std::string("float32"));
    g.write_dataset("query", Tensor::zeros({1, 6, 2, 4}, DType::f32));
    g.write_dataset("key", Tensor::zeros({1, 6, 2, 4}, DType::f32));
    g.write_dataset("rpb", Tensor::zeros({2, 4}, DType::f32));
    g.write_dataset("attention", Tensor::zeros({1, 6, 2, 3}, DType::f32));
  }
  const CommandResult e = run(bad + " -q --backend reference");
  EXPECT_EQ(e.code, 2) << e.out;
  EXPECT_TRUE(contains(e.out, "case 'qk_bad_rpb': rpb: expected shape [2, 5], got [2, 4]")) << e.out;
  EXPECT_TRUE(contains(e.out, "1 passed")) << e.out;
}

TEST(CheckCli, DamagedFilesExitTwoWithOneLineErrors) {
  const std::string good = testing::temp_path("cli_good");
  testing::write_cases(good, {testing::tiny_case("a")});
  std::vector<unsigned char> bytes = testing::read_bytes(good);
  bytes.resize(bytes.size() / 2);
  const std::string cut = testing::temp_path("cli_cut");
  testing::write_bytes(cut, bytes);
  const std::string json = testing::temp_path("cli_cut") + ".json";
  const CommandResult r = run(cut + " -q --json " + json);
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_TRUE(contains(r.out, "INPUT ERROR (exit 2)")) << r.out;
  EXPECT_TRUE(std::filesystem::exists(json));  // the report is written even for input errors
}

}  // namespace
}  // namespace natten
