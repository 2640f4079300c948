// natten-bench end to end through the binary: exit codes (0 ok, 1 regression or verification
// failure, 2 usage/input error), one-line errors, output files, and the CI guard's proof: the
// time guard cannot pass when the timed code gets much slower, and never compares another machine.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "natten/bench/guard.hpp"
#include "natten/config/case_spec.hpp"
#include "natten/io/files.hpp"
#include "natten/io/json.hpp"
#include "support/run_command.hpp"
#include "support/temp_file.hpp"

namespace natten {
namespace {

using Result = testing::CommandResult;

Result run(const std::string& args) { return testing::run_command(std::string(NATTEN_BENCH_EXE) + " " + args); }

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
  // Defaults come from the values a case is resolved with, not from hand-written help text.
  EXPECT_NE(r.out.find("--dim TEXT=" + std::to_string(config::kCaseDefaults.dim)), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--guard-stat TEXT=median"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("FNV-1a hash of the case name"), std::string::npos) << r.out;  // --seed: a rule
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
  EXPECT_EQ(j.at("schema", "").as_string("schema"), "natten-bench/2");
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

TEST(BenchExe, UnusableOutputsFailBeforeAnyWork) {
  // The run would take minutes; the bad path is found first and nothing is timed.
  Result r = run("--rank 2 --k 7 --backward --json /nonexistent-dir/out.json");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--json: /nonexistent-dir/out.json: the directory /nonexistent-dir does not exist"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("timing"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
  const testing::TempFile same(".json");
  r = run("-i 8 -w 3 --backend reference" + kQuick + "--json " + same.path() + " --csv " + same.path());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--json and --csv both write to " + same.path()), std::string::npos) << r.err;
  r = run("-i 8 -w 3 --backend reference" + kQuick + "--json - --csv -");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--json and --csv both write to stdout"), std::string::npos) << r.err;
}

TEST(BenchExe, DeviceNodeOutputStaysADevice) {
  const Result r = run("-i 8 -w 3 --backend reference" + kQuick + "--json /dev/null --csv /dev/null");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::is_character_file("/dev/null"));
}


// The time guard: a short run of the quick CI set on one thread (kCompare: the comparison's flags).
const std::string kTimeGuard =
    " --config " + source("configs/ci-quick.ini") + " --threads 1 --min-time 0.05 --max-time 0.15 -q ";
// Generous: the same build twice must pass even on a loaded machine (a 4x slower best sample is
// beyond any load seen here), while 16x the work (--inject-slowdown 16) exceeds the cap of 4 x 1.5.
const std::string kCompare = " --guard-stat min --max-slowdown 4 ";

TEST(BenchExe, BaselineRoundTripPassesAndSlowdownFails) {
  const testing::TempFile base(".json"), json(".json");
  Result r = run(kTimeGuard + "--save-baseline " + base.path());
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(std::filesystem::exists(base.path()));
  r = run(kTimeGuard + kCompare + "--baseline " + base.path());
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("verdict: ok"), std::string::npos) << r.out;
  r = run(kTimeGuard + kCompare + "--baseline " + base.path() + " --inject-slowdown 16 --json " + json.path());
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("REGRESSION"), std::string::npos) << r.out;
  // The JSON report carries the guard's comparisons and verdict.
  const Json j = Json::parse(read_file(json.path()), json.path());
  EXPECT_EQ(j.at("guard", "").at("verdict", "").as_string(""), "REGRESSION");
  EXPECT_GT(j.at("guard", "").at("comparisons", "").elements().size(), 0u);
  EXPECT_GT(j.at("results", "").elements().at(0).at("samples_s", "").elements().size(), 0u);
}

TEST(BenchExe, BaselineOfAnotherMachineIsNeverCompared) {
  // Recorded on a (fake) other CPU: the slow run against it passes, saying why.
  const testing::TempFile base(".json");
  Result r = run(kTimeGuard + "--fake-cpu GenuineIntel/6/143 --save-baseline " + base.path());
  ASSERT_EQ(r.code, 0) << r.err;
  r = run(kTimeGuard + kCompare + "--baseline " + base.path() + " --inject-slowdown 16");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("no baseline for this machine"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cpu GenuineIntel/6/143 vs"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("REGRESSION"), std::string::npos) << r.out;
  // On "that" machine it compares, and catches the slowdown.
  r = run(kTimeGuard + kCompare + "--fake-cpu GenuineIntel/6/143 --baseline " + base.path() + " --inject-slowdown 16");
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("verdict: REGRESSION"), std::string::npos) << r.out;
}

TEST(BenchExe, BaselineStoreKeyedByMachine) {
  const testing::TempFile name(".store");
  const std::string store = name.path();
  std::filesystem::create_directories(store);
  const std::string quick = " -i 16 -w 3 --backend reference --threads 1" + kQuick;
  Result r = run(quick + "--fake-cpu AuthenticAMD/25/17 --save-baseline " + store);
  ASSERT_EQ(r.code, 0) << r.err;
  r = run(quick + "--fake-cpu AuthenticAMD/26/2 --save-baseline " + store);
  ASSERT_EQ(r.code, 0) << r.err;
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(store)) files += e.path().extension() == ".json";
  EXPECT_EQ(files, 2u);
  r = run(quick + "--fake-cpu AuthenticAMD/26/2 --max-slowdown 10 --baseline " + store);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("AuthenticAMD-26-2"), std::string::npos) << r.out;  // the file it picked
  EXPECT_NE(r.out.find("verdict: ok (1 rows compared)"), std::string::npos) << r.out;
  r = run(quick + "--fake-cpu GenuineIntel/6/143 --baseline " + store);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("no baseline for this machine in " + store), std::string::npos) << r.out;
  std::filesystem::remove_all(store);
}

}  // namespace
}  // namespace natten
