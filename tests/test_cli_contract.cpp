// The two command-line tools as a contract users can script against (issue 15): each test
// reproduces one of the problems found by trying the tools as a new user would, through the real
// binaries. Numbers refer to the list.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include "natten/io/files.hpp"
#include "natten/io/json.hpp"
#include "natten/io/ref_case.hpp"
#include "support/ref_fixtures.hpp"
#include "support/run_command.hpp"
#include "support/temp_file.hpp"

namespace natten {
namespace {

using testing::CommandResult;
using testing::TempFile;

CommandResult bench(const std::string& args, const std::string& env = "") {
  return testing::run_command(env + " " + NATTEN_BENCH_EXE + " " + args);
}
CommandResult check(const std::string& args, const std::string& env = "") {
  return testing::run_command(env + " " + NATTEN_CHECK_EXE + " " + args);
}

// Whether this build runs under AddressSanitizer (GCC defines the macro, clang has the feature test).
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

// Exactly three samples per run (no time budget cuts a slow sanitizer build short).
const std::string kQuick = " --backend reference --threads 1 --warmup-time 0 --min-reps 3 --max-reps 3 --min-time 0 --max-time 60 -q ";
const std::string kParity = std::string(NATTEN_SOURCE_DIR) + "/tests/data/upstream/natten-0.21.6-parity.h5";

// An error is one line: "tool: error: ...", exit 2, nothing on stdout but what came before.
void expect_usage_error(const CommandResult& r, const std::string& tool, const std::string& text, const std::string& what) {
  EXPECT_EQ(r.code, 2) << what << "\n" << r.out << r.err;
  EXPECT_EQ(r.err.rfind(tool + ": error: ", 0), 0u) << what << "\n" << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << what << "\n" << r.err;
  EXPECT_NE(r.err.find(text), std::string::npos) << what << "\n" << r.err;
}

std::size_t widest_line(const std::string& s) {
  std::size_t w = 0, cur = 0;
  for (char c : s) cur = c == '\n' ? (w = std::max(w, cur), 0) : cur + 1;
  return std::max(w, cur);
}

// A reference file of two tiny cases and a candidate whose case b is perturbed.
struct Files {
  std::string ref = testing::temp_path("contract_ref"), cand = testing::temp_path("contract_cand");
  Files() {
    const RefCase a = testing::tiny_case("na1d_a"), b = testing::tiny_case("na2d_b", 2);
    testing::write_cases(ref, {a, b});
    RefCase pb = b;
    pb.expected["output"] = b.expected.at("output").clone();
    pb.expected["output"].set(7, pb.expected["output"].get(7) + 0.5f);
    testing::write_cases(cand, {a, pb});
  }
};

// 1. Outputs write through device nodes and follow symbolic links; an HDF5 output needs a file.
TEST(Contract, OutputsWriteThroughDevicesAndLinks) {
  EXPECT_EQ(bench("-i 8 -w 3 --json /dev/null --csv /dev/null" + kQuick).code, 0);
  const Files f;
  EXPECT_EQ(check(f.ref + " -q --json /dev/null").code, 0);
  struct stat st {};
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode)) << "/dev/null must stay a device";
  expect_usage_error(check("--write /dev/null --config " NATTEN_SOURCE_DIR "/configs/parity.ini -q"), "natten-check",
                     "--write: /dev/null is not a regular file", "--write /dev/null");
  const TempFile real(".json");
  write_output("x", real.path(), "{}");
  const std::string link = real.path() + ".link";
  std::filesystem::create_symlink(real.path(), link);
  EXPECT_EQ(bench("-i 8 -w 3 --json " + link + kQuick).code, 0);
  EXPECT_TRUE(std::filesystem::is_symlink(link));
  EXPECT_NE(read_file(real.path()).find("natten-bench/2"), std::string::npos);
  std::filesystem::remove(link);
}

// 2. The guard fails when it compared nothing or fewer rows than the baseline holds.
TEST(Contract, GuardThatComparedNothingFails) {
  const TempFile base(".json");
  ASSERT_EQ(bench("-i 16 -w 3 --save-baseline " + base.path() + kQuick).code, 0);
  CommandResult r = bench("-i 16 -w 3 -d 8 --baseline " + base.path() + kQuick);  // the problem changed
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("problem changed"), std::string::npos) << r.out;
  r = bench("--rank 1 --k 3 -i 12 --baseline " + base.path() + kQuick + "--case cli");  // another shape, same name
  EXPECT_EQ(r.code, 1) << r.out;
  r = bench("--config " NATTEN_SOURCE_DIR "/configs/ci-quick.ini --case 1d-causal --baseline " + base.path() + kQuick);
  EXPECT_EQ(r.code, 1) << r.out;  // no row in common
  EXPECT_NE(r.out.find("in the baseline but not timed in this run"), std::string::npos) << r.out;
}

// 3. Every option takes effect or is an error: empty paths, options of another mode.
TEST(Contract, EmptyOrInapplicableOptionsAreErrors) {
  const TempFile ini(".ini", "[c]\ninput_size = 8\nk = 3\n");
  const std::pair<std::string, std::string> bench_cases[] = {
      {"--baseline '' -i 8 -w 3", "--baseline: the path is empty"},
      {"--save-baseline '' -i 8 -w 3", "--save-baseline: the path is empty"},
      {"--json '' -i 8 -w 3", "--json: the path is empty"},
      {"--config ''", "--config: the path is empty"},
      {"--peak --json p.json", "--json does not apply to --peak"},
      {"--dry-run --csv p.csv -i 8 -w 3", "--csv does not apply to --dry-run"},
      {"--dry-run --markdown -i 8 -w 3", "--markdown does not apply to --dry-run"},
      {"--list-backends --json x.json", "--json does not apply to --list-backends"},
      {"--max-slowdown 2 -i 8 -w 3", "--max-slowdown applies to the time guard only"},
      {"--config " + ini.path() + " -i 16", "--input-size with --config"},
  };
  for (const auto& [args, text] : bench_cases) expect_usage_error(bench(args), "natten-bench", text, args);
  const Files f;
  const std::pair<std::string, std::string> check_cases[] = {
      {f.ref + " --candidate ''", "--candidate: the path is empty"},
      {f.ref + " --json ''", "--json: the path is empty"},
      {"--list " + f.ref + " --json x.json", "--json does not apply to --list"},
      {f.ref + " --config x.ini", "--config only applies to --write"},
  };
  for (const auto& [args, text] : check_cases) expect_usage_error(check(args), "natten-check", text, args);
}

// 5. --dry-run allocates nothing proportional to the problem; too many threads warn.
TEST(Contract, DryRunAllocatesNothingAndThreadsWarn) {
  // Under a 300 MB address-space limit: the 4096x4096 problem's tensors alone would need 8 GB.
  // AddressSanitizer reserves terabytes of shadow address space at start-up, so its builds run the
  // same command without the limit (the release build's run of this test is the proof).
  const std::string limit = kAddressSanitizer ? "" : "ulimit -v 300000; ";
  const auto t0 = std::chrono::steady_clock::now();
  const CommandResult r = testing::run_command(limit + std::string(NATTEN_BENCH_EXE) +
                                               " -i 4096 4096 -w 7 --backward --dry-run");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("S=4096x4096"), std::string::npos) << r.out;
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10.0);
  const CommandResult t = bench("-i 8 -w 3 --threads 1000 --backend reference --warmup-time 0 --min-reps 1 --min-time 0 --max-time 0.001 -q");
  EXPECT_EQ(t.code, 0) << t.err;
  EXPECT_NE(t.err.find("natten-bench: warning: --threads 1000 is more than the"), std::string::npos) << t.err;
}

// 6. Output fits a terminal; a passing check is short; failures are named, with how far past
// tolerance; tolerances are printed as used; --strict's summary agrees with its verdict.
TEST(Contract, OutputFitsTheTerminalAndNamesFailures) {
  EXPECT_LE(widest_line(bench("--help").out), 100u);
  EXPECT_LE(widest_line(check("--help").out), 100u);
  const CommandResult run = bench("--config " NATTEN_SOURCE_DIR "/configs/ci-quick.ini" + kQuick, "COLUMNS=100");
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_LE(widest_line(run.out), 100u) << run.out;
  const CommandResult pass = check(kParity + " -q --backend cpu", "COLUMNS=100");
  EXPECT_EQ(pass.code, 0) << pass.out;
  EXPECT_LE(widest_line(pass.out), 100u) << pass.out;
  // One line per case and backend (17 cases), not one per tensor (about 90).
  EXPECT_LT(std::count(pass.out.begin(), pass.out.end(), '\n'), 30) << pass.out;

  const Files f;
  const CommandResult fail = check(f.ref + " --candidate " + f.cand + " -q", "COLUMNS=100");
  EXPECT_EQ(fail.code, 1);
  EXPECT_NE(fail.out.find("failed: na2d_b on candidate (output "), std::string::npos) << fail.out;
  EXPECT_NE(fail.out.find("x over tolerance)"), std::string::npos) << fail.out;
  EXPECT_NE(fail.out.find("1 of 240 outside atol"), std::string::npos) << fail.out;  // details for the failure
  EXPECT_EQ(fail.out.find("na1d_a     candidate  ok      logsumexp"), std::string::npos) << "passing tensors stay quiet";
  EXPECT_LE(widest_line(fail.out), 100u) << fail.out;
  const CommandResult tol = check(f.ref + " --candidate " + f.cand + " --atol 0.016 -q");
  EXPECT_NE(tol.out.find("0.016+"), std::string::npos) << tol.out;  // not "2e-02"
  // --strict: a case not compared counts as a failure, and the summary says so.
  const std::string one = testing::temp_path("contract_one");
  testing::write_cases(one, {testing::tiny_case("na1d_a")});
  const CommandResult strict = check(f.ref + " --candidate " + one + " -q --strict");
  EXPECT_EQ(strict.code, 1) << strict.out;
  EXPECT_NE(strict.out.find("(--strict: 1 of them count as failures)"), std::string::npos) << strict.out;
  EXPECT_NE(strict.out.find("failed: na2d_b on candidate (skipped)"), std::string::npos) << strict.out;
  // A glob that matches nothing is an error even beside one that matches.
  expect_usage_error(check(f.ref + " --case 'typo*,na1d_a' -q"), "natten-check", "--case 'typo*': matches no case",
                     "check --case");
  expect_usage_error(bench("--config " NATTEN_SOURCE_DIR "/configs/ci-quick.ini --case 'typo*,3d' --dry-run"),
                     "natten-bench", "--case 'typo*': matches no case", "bench --case");
}

// 7. One convention for both tools.
TEST(Contract, OneConventionForBothTools) {
  for (const auto* tool : {NATTEN_BENCH_EXE, NATTEN_CHECK_EXE}) {
    const CommandResult v = testing::run_command(std::string(tool) + " --version");
    EXPECT_EQ(v.code, 0) << tool;
    EXPECT_NE(v.out.find("(natten-tools "), std::string::npos) << v.out;
  }
  const Files f;
  expect_usage_error(check(f.ref + " -b cpu"), "natten-check", "unknown option -b", "-b");  // batch in natten-bench
  expect_usage_error(check(f.ref + " --backend cpu,cpu"), "natten-check", "--backend: 'cpu' listed twice", "check cpu,cpu");
  expect_usage_error(bench("-i 8 -w 3 --backend cpu,cpu --dry-run"), "natten-bench", "--backend: 'cpu' listed twice",
                     "bench cpu,cpu");
  expect_usage_error(check(f.ref + " --atol abc"), "natten-check", "--atol: 'abc' is not a valid value", "--atol abc");
  expect_usage_error(bench("-i 8 -w 0 --dry-run"), "natten-bench", "out of range [2,", "-w 0");
  expect_usage_error(bench("-i 8 -w 1 --dry-run"), "natten-bench", "out of range [2,", "-w 1");
  expect_usage_error(bench("-i 8 -w 3,3 --dry-run"), "natten-bench", "expected 1 (one per axis)", "-w 3,3 rank 1");
  EXPECT_EQ(bench("--config " NATTEN_SOURCE_DIR "/configs/ci-quick.ini --case 3d --case 2d-fp16 --dry-run").code, 0);
  // --json - is stdout in both, and both reports share one header and one dtype spelling.
  const CommandResult cj = check(f.ref + " -q --json -");
  EXPECT_EQ(cj.code, 0) << cj.err;
  const Json c = Json::parse(cj.out, "natten-check --json -");
  const CommandResult bj = bench("-i 8 -w 3 --json -" + kQuick);
  EXPECT_EQ(bj.code, 0) << bj.err;
  const Json b = Json::parse(bj.out, "natten-bench --json -");
  for (const Json* j : {&c, &b}) {
    for (const char* k : {"schema", "tool", "tool_version", "created", "command_line"})
      EXPECT_FALSE(j->at(k, "report").as_string(k).empty()) << k;
    EXPECT_FALSE(j->at("machine", "").at("cpu_model", "").as_string("").empty());
    EXPECT_FALSE(j->at("build", "").at("compiler", "").as_string("").empty());
  }
  EXPECT_EQ(c.at("results", "").elements().at(0).at("dtype", "").as_string(""), "float32");
  EXPECT_EQ(b.at("results", "").elements().at(0).at("problem", "").at("dtype", "").as_string(""), "float32");
  EXPECT_NE(bench("--list-backends").out.find("unavailable"), std::string::npos);  // the spelling natten-check uses
}

// 8. Bytes from inputs never reach the terminal raw; a BOM is accepted; a FIFO is refused at once.
TEST(Contract, InputBytesAreEscapedAndFifosRefused) {
  const TempFile esc(".ini", std::string("[c]\ninput_size = 8\nk = 3\ndtype = \x1b[2Jfp32\n"));
  CommandResult r = bench("--config " + esc.path() + " --dry-run");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << "raw ESC reached stderr";
  EXPECT_NE(r.err.find("\\e[2Jfp32"), std::string::npos) << r.err;
  const TempFile nul(".ini", std::string("[c]\ninput_size = 8\nk = 3\ndtype = fp\0" "32 tail\n", 40));
  r = bench("--config " + nul.path() + " --dry-run");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("fp\\0"), std::string::npos) << r.err;
  const TempFile bom(".ini", "\xEF\xBB\xBF[c]\ninput_size = 8\nk = 3\n");
  EXPECT_EQ(bench("--config " + bom.path() + " --dry-run").code, 0);
  // An HDF5 case name with an escape sequence.
  const std::string named = testing::temp_path("contract_esc");
  testing::write_cases(named, {testing::tiny_case("evil\x1b[2Jname")});
  r = check(named + " -q");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << "raw ESC reached stdout";
  EXPECT_NE(r.out.find("evil\\e[2Jname"), std::string::npos) << r.out;
  // A FIFO as the reference file: an error at once, not after the read guard's 120 s.
  const std::string fifo = testing::temp_path("contract_fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const auto t0 = std::chrono::steady_clock::now();
  r = check(fifo);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("is a FIFO (named pipe), not a regular file"), std::string::npos) << r.err;
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10.0);
  const CommandResult ini_fifo = bench("--config " + fifo + " --dry-run");
  EXPECT_NE(ini_fifo.err.find("is a FIFO"), std::string::npos) << ini_fifo.err;
  std::filesystem::remove(fifo);
}

// 9. Candidate rules: an unknown dataset name is flagged, a missing case is not an input error.
TEST(Contract, CandidateRules) {
  const Files f;
  const std::string typo = testing::temp_path("contract_typo");
  RefCase t = testing::tiny_case("na1d_a");
  t.expected["outptu"] = t.expected.at("output").clone();  // a misspelled dataset beside the real one
  testing::write_cases(typo, {t});
  const CommandResult r = check(f.ref + " --candidate " + typo + " -q");
  EXPECT_EQ(r.code, 0) << r.out;  // na2d_b is missing: a skip, not 16 input errors
  EXPECT_NE(r.out.find("candidate dataset 'outptu' is not one of this case's"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("not compared: the candidate file has no group 'na2d_b'"), std::string::npos) << r.out;
  EXPECT_EQ(check(f.ref + " --candidate " + typo + " -q --strict").code, 1);
}

// 10. What users of benchmark tools expect: compare reports, raw samples, repetitions, the
// environment, plots.
TEST(Contract, CompareRepetitionsEnvironmentAndPlots) {
  const TempFile a(".json"), slow(".json"), svg(".svg");
  ASSERT_EQ(bench("-i 16 -w 3 --repetitions 3 --json " + a.path() + kQuick).code, 0);
  const Json j = Json::parse(read_file(a.path()), a.path());
  const Json& row = j.at("results", "").elements().at(0);
  EXPECT_EQ(row.at("repetition_medians_s", "").elements().size(), 3u);
  EXPECT_GE(row.at("samples_s", "").elements().size(), 9u);  // at least 3 samples per repetition
  const Json& m = j.at("machine", "");
  for (const char* k : {"cpu_vendor", "cpu_family", "cpu_model_number", "cpu_stepping", "governor"}) EXPECT_NO_THROW(m.at(k, "machine").as_string(k));
  EXPECT_NO_THROW(m.at("caches", "machine").elements());
  EXPECT_NO_THROW(m.at("load_average", "machine").elements());
  EXPECT_NO_THROW(j.at("build", "").at("git_dirty", "").as_bool("git_dirty"));
  // The same report twice: nothing changed. A 4x slower run: a regression, with a plot. Nine
  // samples a side: with three, one slow sample of A (a loaded sanitizer build) hides a 4x change.
  CommandResult r = bench("--compare " + a.path() + " " + a.path());
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  ASSERT_EQ(bench("-i 16 -w 3 --inject-slowdown 4 --repetitions 3 --json " + slow.path() + kQuick).code, 0);
  r = bench("--compare " + a.path() + " " + slow.path() + " --plot " + svg.path());
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("REGRESSION"), std::string::npos) << r.out;
  const std::string picture = read_file(svg.path());
  EXPECT_EQ(picture.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_NE(picture.find("</svg>"), std::string::npos);
  EXPECT_NE(picture.find("REGRESSION"), std::string::npos);
  // natten-check --compare: a result that passed and now fails.
  const Files f;
  const TempFile good(".json"), bad(".json");
  ASSERT_EQ(check(f.ref + " --candidate " + f.ref + " -q --json " + good.path()).code, 0);
  ASSERT_EQ(check(f.ref + " --candidate " + f.cand + " -q --json " + bad.path()).code, 1);
  r = check("--compare " + good.path() + " " + bad.path());
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("REGRESSED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("na2d_b on candidate: pass"), std::string::npos) << r.out;
  EXPECT_EQ(check("--compare " + bad.path() + " " + good.path()).code, 0);  // a fix is not a failure
}

}  // namespace
}  // namespace natten
