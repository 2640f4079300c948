// The deterministic guard (natten-bench --count-work): callgrind counts of one call per row repeat
// exactly, whatever the environment; a slowdown injected into one cpu kernel (natten-bench-fault)
// is caught in that row only; baselines of another toolchain are refused; missing rows fail.
// Skipped with a message where valgrind is not installed.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "natten/bench/callgrind.hpp"
#include "natten/app/machine.hpp"
#include "natten/bench/work_guard.hpp"
#include "natten/core/error.hpp"
#include "natten/io/files.hpp"
#include "natten/io/json.hpp"
#include "support/run_command.hpp"
#include "support/temp_file.hpp"

namespace natten {
namespace {

using testing::CommandResult;
using testing::TempFile;

bool have_valgrind() { return std::system("valgrind --version >/dev/null 2>&1") == 0; }

#define REQUIRE_VALGRIND()                                                                            \
  if (app::build_info().sanitizers) GTEST_SKIP() << "a sanitizer build cannot run under valgrind"; \
  if (!have_valgrind()) GTEST_SKIP() << "valgrind is not installed (Debian: apt-get install valgrind)"

// Three ranks, forward and backward, cpu only: six rows, a few seconds under callgrind.
const char* kCases =
    "[defaults]\nbackend = cpu\nbackward = true\nheads = 2\ndim = 16\n"
    "[1d]\ninput_size = 64\nwindow_size = 7\ncausal = true\n"
    "[2d]\ninput_size = 16,16\nwindow_size = 5\n"
    "[3d]\ninput_size = 8,8,8\nwindow_size = 3\n";

CommandResult count(const std::string& exe, const std::string& config, const std::string& extra,
                    const std::string& env = "") {
  return testing::run_command(env + " " + exe + " --count-work -q --config " + config + " " + extra);
}

bench::WorkReport report_of(const std::string& path) {
  return bench::parse_work_report(Json::parse(read_file(path), path), path);
}

const Json& guard_rows(const Json& j) { return j.at("guard", "report").at("comparisons", "guard"); }

TEST(WorkGuard, CountsRepeatExactlyInAnyEnvironment) {
  REQUIRE_VALGRIND();
  const TempFile ini(".ini", kCases), out(".json"), first(".json");
  CommandResult r = count(NATTEN_BENCH_EXE, ini.path(), "--json " + out.path());
  ASSERT_EQ(r.code, 0) << r.err;
  first.write(read_file(out.path()));
  const bench::WorkReport a = report_of(first.path());
  ASSERT_EQ(a.rows.size(), 6u);
  EXPECT_EQ(a.toolchain.threads, 1);
#if defined(__x86_64__)
  EXPECT_EQ(a.toolchain.simd_target, "AVX2");
#endif
  for (const bench::WorkRow& row : a.rows) {
    EXPECT_GT(row.events.at("Ir"), 10000) << row.case_name;
    EXPECT_GT(row.events.count("D1mr"), 0u) << "simulated caches are on by default";
  }
  // Again with a different environment and working directory (other paths shift the stack and
  // the heap): the same instructions, row by row, and the guard against the first run passes.
  r = count(NATTEN_BENCH_EXE, ini.path(), "--json " + out.path() + " --baseline " + first.path(),
            "cd / && NATTEN_TEST_PADDING=" + std::string(97, 'x'));
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("verdict: ok (6 rows compared)"), std::string::npos) << r.out;
  const bench::WorkReport b = report_of(out.path());
  ASSERT_EQ(b.rows.size(), a.rows.size());
  for (std::size_t i = 0; i < a.rows.size(); ++i)
    EXPECT_EQ(a.rows[i].events.at("Ir"), b.rows[i].events.at("Ir")) << a.rows[i].case_name << " " << a.rows[i].op;
}

TEST(WorkGuard, InjectedSlowdownIsCaughtInThatRowOnly) {
  REQUIRE_VALGRIND();
  const TempFile ini(".ini", kCases), clean(".json"), out(".json");
  CommandResult r = count(NATTEN_BENCH_EXE, ini.path(), "--json " + clean.path());
  ASSERT_EQ(r.code, 0) << r.err;
  double ir = 0;
  for (const bench::WorkRow& row : report_of(clean.path()).rows)
    if (row.case_name == "3d" && row.op == "forward") ir = static_cast<double>(row.events.at("Ir"));
  ASSERT_GT(ir, 0);
  // The fault binary without a fault counts like natten-bench itself.
  r = count(NATTEN_BENCH_FAULT_EXE, ini.path(), "--baseline " + clean.path());
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  for (double extra : {0.05, 0.20}) {
    const std::string env = fmt::format("NATTEN_FAULT=op=forward,rank=3,instructions={}", std::llround(extra * ir));
    r = count(NATTEN_BENCH_FAULT_EXE, ini.path(), "--baseline " + clean.path() + " --json " + out.path(), env);
    EXPECT_EQ(r.code, 1) << extra << "\n" << r.out << r.err;
    EXPECT_NE(r.out.find("verdict: REGRESSION"), std::string::npos) << r.out;
    const Json j = Json::parse(read_file(out.path()), out.path());
    int regressions = 0;
    for (const Json& c : guard_rows(j).elements()) {
      const bool slowed = c.at("case", "").as_string("") == "3d" && c.at("op", "").as_string("") == "forward";
      const std::string verdict = c.at("verdict", "").as_string("");
      const double ratio = c.at("ratios", "").at("instructions", "").as_number("");
      if (slowed) {
        EXPECT_EQ(verdict.rfind("REGRESSION", 0), 0u) << verdict;
        EXPECT_NEAR(ratio, 1 + extra, 0.002) << "the injection adds exactly this much work";
      } else {
        EXPECT_EQ(verdict, "ok") << c.at("case", "").as_string("") << " " << c.at("op", "").as_string("");
        EXPECT_NEAR(ratio, 1.0, 0.002) << "the slowed backend's wrapper costs a few instructions per call";
      }
      regressions += verdict.rfind("REGRESSION", 0) == 0;
    }
    EXPECT_EQ(regressions, 1);
    EXPECT_EQ(j.at("guard", "").at("verdict", "").as_string(""), "REGRESSION");
  }
  // Below the threshold (+1% against the default 3%): passes.
  r = count(NATTEN_BENCH_FAULT_EXE, ini.path(), "--baseline " + clean.path(),
            fmt::format("NATTEN_FAULT=op=forward,rank=3,instructions={}", std::llround(0.01 * ir)));
  EXPECT_EQ(r.code, 0) << r.out << r.err;
}

TEST(WorkGuard, OtherToolchainIsNotComparable) {
  REQUIRE_VALGRIND();
  const TempFile ini(".ini", "[a]\ninput_size = 16\nwindow_size = 3\nbackend = cpu\n"), base(".json"), edited(".json");
  CommandResult r = count(NATTEN_BENCH_EXE, ini.path(), "--no-cache-sim --save-baseline " + base.path());
  ASSERT_EQ(r.code, 0) << r.err;
  std::string text = read_file(base.path());
  const std::string compiler = report_of(base.path()).toolchain.compiler;
  text.replace(text.find(compiler), compiler.size(), "Clang 99.0");
  edited.write(text);
  r = count(NATTEN_BENCH_EXE, ini.path(), "--no-cache-sim --baseline " + edited.path());
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("not comparable: the baseline was counted with another toolchain (compiler 'Clang 99.0' vs"),
            std::string::npos)
      << r.err;
  // Counted with simulated caches against a baseline without them: also another toolchain.
  r = count(NATTEN_BENCH_EXE, ini.path(), "--baseline " + base.path());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("simulated caches 'none' vs"), std::string::npos) << r.err;
}

TEST(WorkGuard, MissingRowsAndChangedProblemsFail) {
  REQUIRE_VALGRIND();
  const TempFile two(".ini", "[defaults]\nbackend = cpu\n[a]\ninput_size = 16\nwindow_size = 3\n[b]\ninput_size = 24\nwindow_size = 5\n");
  const TempFile base(".json");
  ASSERT_EQ(count(NATTEN_BENCH_EXE, two.path(), "--no-cache-sim --save-baseline " + base.path()).code, 0);
  // Only case a: b is in the baseline but not counted.
  CommandResult r = count(NATTEN_BENCH_EXE, two.path(), "--no-cache-sim --case a --baseline " + base.path());
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("error: b / cpu / forward: in the baseline but not counted in this run"), std::string::npos) << r.out;
  r = count(NATTEN_BENCH_EXE, two.path(), "--no-cache-sim --case a --allow-missing --baseline " + base.path());
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  // Another problem under the same name is not a comparison.
  r = count(NATTEN_BENCH_EXE, two.path(), "--no-cache-sim -d 8 --baseline " + base.path());
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("problem changed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("verdict: FAILED"), std::string::npos) << r.out;
}

TEST(WorkGuard, UsageErrors) {
  for (const char* args : {"--count-work --threads 2 -i 16 -w 3", "--count-work --csv x.csv -i 16 -w 3",
                           "--work-max-increase 0.1 -i 16 -w 3", "--count-work --work-gate bogus -i 16 -w 3",
                           "--count-work --no-cache-sim --work-gate ll_misses -i 16 -w 3",
                           "--count-work --valgrind /nonexistent/valgrind -i 16 -w 3"}) {
    const CommandResult r = testing::run_command(std::string(NATTEN_BENCH_EXE) + " " + args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    EXPECT_EQ(r.err.rfind("natten-bench: error: ", 0), 0u) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << "\n" << r.err;
  }
}

TEST(WorkGuard, CallgrindFilesParse) {
  const bench::EventCounts c = bench::parse_callgrind_file(
      "creator: callgrind-3.19.0\nevents: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw\nsummary: 6017 1002 1008 2 0 1 2\n"
      "totals: 6008 1002 1002 1 0 0 1\n",
      "f");
  EXPECT_EQ(c.at("Ir"), 6017);  // the summary line wins
  EXPECT_EQ(c.at("D1mw"), 1);
  EXPECT_EQ(c.at("DLmw"), 0);  // trailing zeros are left out of the line
  EXPECT_EQ(bench::parse_callgrind_file("events: Ir\ntotals: 42\n", "f").at("Ir"), 42);
  const auto msg = [](const std::string& text) {
    try {
      bench::parse_callgrind_file(text, "dump.1");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(msg("summary: 1\n").find("dump.1: no 'events:' line"), std::string::npos);
  EXPECT_NE(msg("events: Ir\n").find("no 'summary:' or 'totals:' line"), std::string::npos);
  EXPECT_NE(msg("events: Ir\nsummary: 1 2\n").find("more totals than the 1 events"), std::string::npos);
  EXPECT_NE(msg("events: Ir\nsummary: 1x\n").find("total '1x' of event Ir is not a count"), std::string::npos);
}

bench::WorkReport tiny_report(std::int64_t ir) {
  bench::WorkReport r;
  r.toolchain = bench::this_build_toolchain();
  r.toolchain.tool_version = "valgrind-3.19.0";
  r.toolchain.simd_target = "AVX2";
  r.toolchain.cache = "none";
  r.rows.push_back({"a", "cpu", "forward", "P", 1, {{"Ir", ir}}});
  return r;
}

TEST(WorkGuard, ThresholdAndImprovements) {
  const bench::WorkReport base = tiny_report(1000000);
  bench::WorkGuardOptions opt;
  EXPECT_FALSE(bench::compare_work(tiny_report(1029000), base, opt).failed());
  const bench::WorkGuardResult worse = bench::compare_work(tiny_report(1031000), base, opt);
  EXPECT_TRUE(worse.regression);
  EXPECT_EQ(worse.rows.at(0).verdict, "REGRESSION (instructions +3.1%)");
  const bench::WorkGuardResult better = bench::compare_work(tiny_report(900000), base, opt);
  EXPECT_FALSE(better.failed());
  EXPECT_NE(better.rows.at(0).verdict.find("improved (instructions -10.0%): refresh the baseline"), std::string::npos);
  // Counts are per call: two counted calls of the same work are the same work.
  bench::WorkReport two = tiny_report(2000000);
  two.rows[0].calls = 2;
  EXPECT_EQ(bench::compare_work(two, base, opt).rows.at(0).verdict, "ok");
  // The JSON form reads back.
  const bench::WorkReport back =
      bench::parse_work_report(Json::parse(bench::work_json(two).dump(), "mem"), "mem");
  EXPECT_EQ(back.rows.at(0).calls, 2);
  EXPECT_EQ(back.rows.at(0).events.at("Ir"), 2000000);
  EXPECT_TRUE(bench::toolchain_differences(back.toolchain, two.toolchain).empty());
}

}  // namespace
}  // namespace natten
