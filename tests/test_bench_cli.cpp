// natten-bench end to end through the binary: exit codes (0 ok, 1 regression or verification
// failure, 2 usage/input error), one-line errors, output files, and the CI guard's proof: the
// quick CI set against the committed baseline cannot pass when the timed code gets much slower.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "natten/bench/guard.hpp"
#include "natten/io/json.hpp"
#include "support/temp_file.hpp"

namespace natten {
namespace {

struct Result {
  int code = -1;
  std::string out, err;
};

Result run(const std::string& args) {
  const testing::TempFile err(".stderr");
  const std::string cmd = std::string(NATTEN_BENCH_EXE) + " " + args + " 2>" + err.path();
  Result r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.err = read_file(err.path());
  return r;
}

std::string source(const std::string& rel) { return std::string(NATTEN_SOURCE_DIR) + "/" + rel; }

// Short timing so each run takes a fraction of a second per case.
const std::string kQuick = " --warmup-time 0 --min-reps 3 --min-time 0 --max-time 0.02 ";

TEST(BenchExe, UsageErrorsExitTwoWithOneLine) {
  for (const char* args : {"--bogus", "-i 8 -w 9", "-i 8 -w 3 --backend nope", "--dtype fp8", "--rank 2 --k 7x",
                           "--config /nonexistent.ini", "--baseline /nonexistent.json -i 8 -w 3"}) {
    const Result r = run(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    EXPECT_EQ(r.err.rfind("natten-bench: error: ", 0), 0u) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << args;
  }
}

TEST(BenchExe, BadIniNamesFileLineAndKey) {
  const testing::TempFile ini(".ini", "[defaults]\nheads = 2\n[case]\ninput_size = 16\nk = 7x\n");
  const Result r = run("--config " + ini.path() + " --dry-run");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(ini.path() + ":5: key 'k': '7x' is not a non-negative integer"), std::string::npos) << r.err;
}

TEST(BenchExe, InformationalModes) {
  Result r = run("--help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--window-size"), std::string::npos);
  EXPECT_EQ(r.out.find("--inject-slowdown"), std::string::npos);  // test hook stays hidden
  r = run("--list-backends");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("reference  available"), std::string::npos) << r.out;
  r = run("--rank 2 --k 7 --backward --dry-run");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("case 2d-64x64 (standard suite)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("backward  0.2569 GFLOP"), std::string::npos) << r.out;
  // Windows covering the whole grid take the FMHA fast path unless told not to.
  r = run("-i 8 8 -w 8 --backward --dry-run");
  EXPECT_NE(r.out.find("reference forward: runs fmha_forward (fast path"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("backward: runs fmha_backward (fast path"), std::string::npos) << r.out;
  r = run("-i 8 8 -w 8 --no-fast-path --dry-run");
  EXPECT_NE(r.out.find("reference forward: runs forward (neighborhood: fast path disabled)"), std::string::npos) << r.out;
  r = run("--peak --threads 1");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("fp32 FMA peak, 1 thread"), std::string::npos) << r.out;
}

TEST(BenchExe, RunWritesReportsAndProgress) {
  const testing::TempFile json(".json"), csv(".csv"), md(".md");
  const Result r = run("-i 12 10 -w 3 --backward --backend reference --threads 1" + kQuick + "--json " + json.path() +
                       " --csv " + csv.path() + " --markdown " + md.path());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("12x10 k3x3"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("[2/2] cli reference backward: median"), std::string::npos) << r.err;
  const Json j = Json::parse(read_file(json.path()), json.path());
  EXPECT_EQ(j.at("schema", "").as_string("schema"), "natten-bench/1");
  EXPECT_FALSE(j.at("machine", "").at("cpu_model", "").as_string("").empty());
  EXPECT_FALSE(j.at("build", "").at("compiler", "").as_string("").empty());
  const auto& results = j.at("results", "").elements();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_GT(results[1].at("time_s", "").at("median", "").as_number(""), 0);
  EXPECT_EQ(results[1].at("problem", "").at("window_size", "").elements().size(), 2u);
  const std::string c = read_file(csv.path());
  EXPECT_EQ(std::count(c.begin(), c.end(), '\n'), 3);
  EXPECT_NE(read_file(md.path()).find("| cli |"), std::string::npos);
}

TEST(BenchExe, UnwritableOutputIsAnErrorWithoutPartialFile) {
  const Result r = run("-i 8 -w 3 --backend reference" + kQuick + "--json /nonexistent-dir/out.json");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("/nonexistent-dir/out.json: cannot create"), std::string::npos) << r.err;
}

// The command .ci/run uses, minus the baseline (README.md, "CI guard").
const std::string kCiGuard = " --config " + source("configs/ci-quick.ini") +
                             " --threads 1 --min-time 0.05 --max-time 0.15 --guard peak,reference --guard-stat min"
                             " --max-slowdown 2 -q ";

TEST(BenchExe, BaselineRoundTripPassesAndSlowdownFails) {
  const testing::TempFile base(".json");
  Result r = run(kCiGuard + "--save-baseline " + base.path());
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(std::filesystem::exists(base.path()));
  r = run(kCiGuard + "--baseline " + base.path());
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("verdict: ok"), std::string::npos) << r.out;
  r = run(kCiGuard + "--baseline " + base.path() + " --inject-slowdown 8");
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("REGRESSION"), std::string::npos) << r.out;
}

TEST(BenchExe, CommittedCiBaselineCatchesMuchSlowerCode) {
  const std::string committed = source("configs/ci-baseline.json");
  ASSERT_GT(bench::read_baseline(committed).entries.size(), 0u);
  const Result r = run(kCiGuard + "--baseline " + committed + " --inject-slowdown 16");
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("verdict: REGRESSION"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace natten
