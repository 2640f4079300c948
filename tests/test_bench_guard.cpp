// natten-bench reports and the baseline guard: JSON round trips, comparisons both ways, noise
// allowance, machine-independent yardsticks, and a verification failure from a wrong backend.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <cmath>
#include <cstdint>
#include <thread>
#include <utility>
#include <vector>

#include "natten/bench/guard.hpp"
#include "natten/bench/report.hpp"
#include "natten/core/error.hpp"
#include "natten/io/files.hpp"
#include "natten/io/json.hpp"
#include "runner.hpp"
#include "suite.hpp"
#include "support/bench_cases.hpp"
#include "support/temp_file.hpp"

namespace natten {
namespace {

using bench::Baseline;
using bench::GuardEntry;
using bench::GuardOptions;

TEST(BenchJson, RoundTripAndEscapes) {
  Json j = Json::object();
  j.set("s", "a\"b\\c\n\t\x01 é");
  j.set("n", 0.1 + 0.2);
  j.set("big", std::int64_t{1} << 40);
  j.set("neg", -1.5e-300);
  j.set("nan", std::nan(""));
  j.set("b", true);
  Json a = Json::array();
  a.push(1);
  a.push(Json());
  a.push(Json::object());
  j.set("a", a);
  const Json r = Json::parse(j.dump(), "mem");
  EXPECT_EQ(r.at("s", "").as_string("s"), "a\"b\\c\n\t\x01 é");
  EXPECT_EQ(r.at("n", "").as_number("n"), 0.1 + 0.2);  // shortest round-trip formatting
  EXPECT_EQ(r.at("big", "").as_number("big"), static_cast<double>(std::int64_t{1} << 40));
  EXPECT_EQ(r.at("neg", "").as_number("neg"), -1.5e-300);
  EXPECT_EQ(r.at("nan", "").as_string("nan"), "nan");  // visible, not null
  EXPECT_TRUE(r.at("b", "").as_bool("b"));
  EXPECT_EQ(r.at("a", "").elements().size(), 3u);
  EXPECT_EQ(Json::parse(R"("\u00e9\ud83d\ude00")", "mem").as_string("x"), "é\xF0\x9F\x98\x80");
  // Invalid UTF-8 becomes U+FFFD: a stray byte, a truncated sequence (one for the whole maximal
  // subpart, Unicode's recommended practice), an overlong form (one per byte: C0 starts nothing).
  EXPECT_EQ(Json(std::string("a\xFF" "b\xE2\x82" "c\xC0\xAF")).dump(), "\"a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c\xEF\xBF\xBD\xEF\xBF\xBD\"");
}

TEST(BenchJson, IntegersKeepAllSixtyFourBits) {
  const std::int64_t seed = (std::int64_t{1} << 53) + 1;  // the first integer a double cannot hold
  Json j = Json::object();
  j.set("seed", seed);
  j.set("min", INT64_MIN);
  j.set("x", 2.0);
  const std::string text = j.dump(0);
  EXPECT_EQ(text, "{\"seed\":9007199254740993,\"min\":-9223372036854775808,\"x\":2.0}");
  const Json r = Json::parse(text, "mem");
  EXPECT_EQ(r.at("seed", "").as_int("seed"), seed);
  EXPECT_EQ(r.at("min", "").as_int("min"), INT64_MIN);
  EXPECT_TRUE(r.at("seed", "").is_integer());
  EXPECT_FALSE(r.at("x", "").is_integer());
  EXPECT_EQ(r.at("x", "").as_number("x"), 2.0);
  EXPECT_THROW(r.at("x", "").as_int("x"), Error);  // a double is never silently truncated
  // Seeds are unsigned: all 64 bits survive too; past them a number is read as a double.
  const Json u = Json::parse(Json(UINT64_MAX).dump(), "mem");
  EXPECT_EQ(u.as_uint("u"), UINT64_MAX);
  EXPECT_THROW(u.as_int("u"), Error);
  EXPECT_THROW(Json(std::int64_t{-1}).as_uint("n"), Error);
  EXPECT_FALSE(Json::parse("18446744073709551616", "mem").is_integer());
}

TEST(BenchJson, MalformedInputNamesLineAndColumn) {
  const auto msg = [](const char* text) {
    try {
      Json::parse(text, "f.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  // The position is the offending character's, on its own line (columns restart after '\n').
  EXPECT_NE(msg("{\n  \"a\": 1,\n  \"b\" 2}").find("f.json: line 3 column 7: "), std::string::npos);
  EXPECT_NE(msg("{\n  \"a\": 1,\n  \"b\" 2}").find("expected ':'"), std::string::npos);
  EXPECT_NE(msg("[1,\n]").find("f.json: line 2 column 1: "), std::string::npos);
  EXPECT_NE(msg("[1, 2").find("f.json: line 1 column 6: "), std::string::npos);  // just past the end
  EXPECT_NE(msg("[1, 2").find("expected ']'"), std::string::npos);
  EXPECT_NE(msg("{\"a\":1,\n\"a\":2}").find("f.json: line 2 column 3: duplicate member 'a'"), std::string::npos);
  EXPECT_NE(msg("01x").find("line 1 column 2: "), std::string::npos);
  EXPECT_NE(msg("\"abc").find("missing closing quote"), std::string::npos);
  EXPECT_NE(msg("").find("f.json: line 1 column 1: "), std::string::npos);
  EXPECT_NE(msg("").find("unexpected end of input"), std::string::npos);
  EXPECT_NE(msg("[-]").find("invalid number"), std::string::npos);
  EXPECT_NE(msg("{\"a\": 1} // note").find("line 1 column 10: "), std::string::npos);  // no comments
  std::string deep(100, '[');
  EXPECT_NE(msg(deep.c_str()).find("f.json: line 1 column 65: nesting too deep"), std::string::npos);
}

GuardEntry entry(const std::string& name, const std::string& backend, double median, double noise = 0.01) {
  GuardEntry e;
  e.case_name = name;
  e.backend = backend;
  e.op = "forward";
  e.problem = "P";
  e.median = median;
  e.min = median * 0.9;
  e.rel_noise = noise;
  e.flops = 1e9;
  e.peak_gflops = 100;
  return e;
}

bench::Fingerprint machine(const std::string& model = "17") {
  bench::Fingerprint f;
  f.cpu_vendor = "AuthenticAMD";
  f.cpu_family = "25";
  f.cpu_model = model;
  f.simd_target = "AVX3";
  f.compiler = "GNU 12.2.0";
  f.flags = "-O3 -DNDEBUG";
  f.build_type = "Release";
  return f;
}

Baseline baseline_of(std::vector<GuardEntry> entries) {
  Baseline b;
  b.path = "base.json";
  b.cpu_model = "cpu";
  b.fingerprint = machine();
  b.entries = std::move(entries);
  return b;
}

bench::GuardReport compare(const std::vector<GuardEntry>& now, const Baseline& base, const GuardOptions& opt = {}) {
  return bench::compare_runs(now, machine(), base, opt);
}

TEST(BenchGuard, SlowerFailsFasterPassesWithinNoiseIsOk) {
  const Baseline base = baseline_of({entry("a", "x", 1.0), entry("b", "x", 1.0), entry("c", "x", 1.0)});
  GuardOptions opt;  // 1.10x, allowance 2 * (0.01 + 0.01) -> allowed 1.144
  const auto r = compare({entry("a", "x", 1.30), entry("b", "x", 0.70), entry("c", "x", 1.12)}, base, opt);
  ASSERT_EQ(r.rows.size(), 3u);
  EXPECT_TRUE(r.regression);
  EXPECT_EQ(r.rows[0].verdict, "REGRESSION");
  EXPECT_NEAR(r.rows[0].ratio, 1.30, 1e-12);
  EXPECT_NEAR(r.rows[0].allowed, 1.10 * 1.04, 1e-12);
  EXPECT_EQ(r.rows[1].verdict, "faster");
  EXPECT_EQ(r.rows[2].verdict, "ok");
  // The same runs the other way round: the old run is the slow one now.
  const auto back = compare({entry("a", "x", 1.0)}, baseline_of({entry("a", "x", 1.30)}), opt);
  EXPECT_FALSE(back.regression);
  EXPECT_EQ(back.rows[0].verdict, "faster");
}

TEST(BenchGuard, NoiseWidensTheAllowanceUpToACap) {
  const Baseline base = baseline_of({entry("a", "x", 1.0, 0.05)});
  // Allowance 2 * (0.05 + 0.05) = 0.2: 1.25x slower is within 1.10 * 1.2 = 1.32.
  EXPECT_FALSE(compare({entry("a", "x", 1.25, 0.05)}, base).regression);
  // Enormous noise cannot excuse everything: capped at 1.10 * 1.5 = 1.65.
  const auto r = compare({entry("a", "x", 1.7, 5.0)}, base);
  EXPECT_TRUE(r.regression);
  EXPECT_NEAR(r.rows[0].allowed, 1.65, 1e-12);
}

TEST(BenchGuard, AnotherMachineHasNoBaseline) {
  // Twice as slow, but measured on another CPU model: never compared, never a regression.
  const Baseline base = baseline_of({entry("a", "x", 1.0)});
  auto r = bench::compare_runs({entry("a", "x", 2.0)}, machine("2"), base, GuardOptions{});
  EXPECT_FALSE(r.failed());
  EXPECT_TRUE(r.rows.empty());
  EXPECT_NE(r.no_baseline_for_machine.find("no baseline for this machine: base.json was recorded on another "
                                           "(cpu AuthenticAMD/25/17 vs AuthenticAMD/25/2)"),
            std::string::npos)
      << r.no_baseline_for_machine;
  EXPECT_NE(bench::guard_table(r, "base.json", GuardOptions{}).find("verdict: ok (nothing to compare on this machine)"),
            std::string::npos);
  // Another SIMD target or compiler is another machine too.
  bench::Fingerprint avx2 = machine();
  avx2.simd_target = "AVX2";
  r = bench::compare_runs({entry("a", "x", 2.0)}, avx2, base, GuardOptions{});
  EXPECT_NE(r.no_baseline_for_machine.find("SIMD target AVX3 vs AVX2"), std::string::npos);
  // A report from before fingerprints says so.
  Baseline old = base;
  old.fingerprint.reset();
  r = compare({entry("a", "x", 2.0)}, old);
  EXPECT_FALSE(r.failed());
  EXPECT_NE(r.no_baseline_for_machine.find("records no machine fingerprint"), std::string::npos);
}

TEST(BenchGuard, PeakAndReferenceRatiosAreDiagnosticsOnly) {
  GuardEntry b = entry("a", "fast", 1.0);
  b.reference_median = 100.0;
  b.reference_min = 90.0;
  // Same time, but the peak measured 25% higher and the reference backend 2x faster this run:
  // the diagnostics move, the verdict does not.
  GuardEntry n = entry("a", "fast", 1.0);
  n.peak_gflops = 125;
  n.reference_median = 50.0;
  n.reference_min = 45.0;
  const auto r = compare({n}, baseline_of({b}));
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(r.rows[0].verdict, "ok");
  EXPECT_NEAR(*r.rows[0].ratio_vs_peak, 1.25, 1e-12);
  EXPECT_NEAR(*r.rows[0].ratio_vs_reference, 2.0, 1e-12);
  EXPECT_FALSE(compare({entry("a", "fast", 1.0)}, baseline_of({entry("a", "fast", 1.0)})).rows[0].ratio_vs_reference);
}

TEST(BenchGuard, MinStatistic) {
  GuardOptions opt;
  opt.stat = bench::GuardStat::min;
  GuardEntry n = entry("a", "x", 3.0);  // median 3x slower, best sample fine
  n.min = 0.95;
  const auto r = compare({n}, baseline_of({entry("a", "x", 1.0)}), opt);  // baseline min 0.9
  EXPECT_NEAR(r.rows.at(0).ratio, 0.95 / 0.9, 1e-12);
  EXPECT_FALSE(r.regression);
  EXPECT_TRUE(compare({n}, baseline_of({entry("a", "x", 1.0)})).regression);  // median: caught
}

TEST(BenchGuard, MissingRowsAndChangedProblemsFail) {
  GuardEntry changed = entry("c", "x", 9.0);
  changed.problem = "Q";
  GuardEntry other_threads = entry("d", "x", 1.0);
  other_threads.threads = 2;
  const Baseline base = baseline_of({entry("gone", "x", 1.0), entry("c", "x", 1.0), entry("d", "x", 1.0), entry("e", "x", 1.0)});
  auto r = compare({entry("new", "x", 9.0), changed, other_threads, entry("e", "x", 1.0)}, base);
  EXPECT_FALSE(r.regression);
  EXPECT_TRUE(r.failed());
  ASSERT_EQ(r.rows.size(), 1u);  // e
  ASSERT_EQ(r.notes.size(), 2u);
  EXPECT_NE(r.notes[0].find("new / x / forward (1 thread): not in the baseline"), std::string::npos) << r.notes[0];
  EXPECT_NE(r.notes[1].find("d / x / forward (2 threads): not in the baseline"), std::string::npos) << r.notes[1];
  ASSERT_EQ(r.errors.size(), 3u);
  EXPECT_NE(r.errors[0].find("problem changed (P -> Q)"), std::string::npos);
  EXPECT_NE(r.errors[1].find("gone / x / forward (1 thread): in the baseline but not timed"), std::string::npos);
  EXPECT_NE(r.errors[2].find("d / x / forward (1 thread): in the baseline but not timed"), std::string::npos);
  GuardOptions lenient;
  lenient.allow_missing = true;
  r = compare({entry("e", "x", 1.0), changed}, base, lenient);
  EXPECT_EQ(r.errors.size(), 1u);  // the changed problem stays an error
  // Nothing in common: an error, not "ok (0 comparisons)".
  r = compare({entry("new", "x", 1.0)}, baseline_of({}), lenient);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("nothing was compared"), std::string::npos);
}

TEST(BenchGuard, StorePicksTheBaselineOfThisMachine) {
  const testing::TempFile name(".store");
  const std::string dir = name.path();
  std::filesystem::create_directories(dir);
  const auto save = [&](const bench::Fingerprint& f, double median) {
    bench::RunReport rep;
    rep.fingerprint = f;
    bench::CaseResult c;
    c.case_name = "a";
    c.backend = "x";
    c.time.median = c.time.min = median;
    rep.results.push_back(c);
    write_output("test", dir + "/" + bench::baseline_file_name(f), bench::report_json(rep).dump());
  };
  save(machine("17"), 1.0);
  save(machine("2"), 2.0);
  const std::optional<Baseline> b = bench::select_baseline(dir, machine("2"));
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->entries.at(0).median, 2.0);
  EXPECT_FALSE(bench::select_baseline(dir, machine("99")).has_value());
  EXPECT_NE(bench::no_baseline_in_store(dir, machine("99")).no_baseline_for_machine.find("no baseline for this machine in"),
            std::string::npos);
  std::filesystem::remove_all(dir);
}

using testing::quick_options;

config::ResolvedCase tiny_case(bool backward) {
  config::CaseDef d{"tiny", "test", {}};
  config::set_key(d.settings, "input_size", "6,5", "test");
  config::set_key(d.settings, "window_size", "3", "test");
  config::set_key(d.settings, "heads", "2", "test");
  config::set_key(d.settings, "dim", "4", "test");
  config::set_key(d.settings, "add_kv", "2", "test");
  config::set_key(d.settings, "threads", "1", "test");
  config::set_key(d.settings, "backward", backward ? "true" : "false", "test");
  config::set_key(d.settings, "backend", "reference,twin", "test");
  return config::resolve_case(d);
}

// A backend that delegates to the reference one, optionally corrupting one output element.
class Twin final : public Backend {
 public:
  explicit Twin(bool corrupt) : ref_(make_backend("reference")), corrupt_(corrupt) {}
  std::string name() const override { return "twin"; }
  std::string description() const override { return "test double"; }
  std::string why_unsupported(Op op, const Problem& p) const override {
    return op == Op::backward && p.extra_kv > 5 ? "too many extra tokens" : "";
  }
  void forward(const Problem& p, const NAInputs& in, Tensor& out, Tensor& lse) override {
    ref_->forward(p, in, out, lse);
    if (corrupt_) out.set(3, out.get(3) + 0.01f);
  }
  void backward(const Problem& p, const NAInputs& in, const Tensor& out, const Tensor& lse, const Tensor& d_out,
                Gradients& g) override {
    ref_->backward(p, in, out, lse, d_out, g);
    if (corrupt_) g.additional_value.set(0, g.additional_value.get(0) * 1.5f + 0.1f);
  }

 private:
  std::unique_ptr<Backend> ref_;
  bool corrupt_;
};

bench::BackendFactory factory_with_twin(bool corrupt) {
  return [corrupt](std::string_view name) -> std::unique_ptr<Backend> {
    if (name == "twin") return std::make_unique<Twin>(corrupt);
    return make_backend(name);
  };
}

TEST(BenchRun, VerifiesTimesAndDerives) {
  const bench::RunReport rep = bench::run_cases({tiny_case(true)}, quick_options(), factory_with_twin(false));
  ASSERT_EQ(rep.results.size(), 4u);  // (reference, twin) x (forward, backward)
  ASSERT_EQ(rep.peaks.size(), 1u);
  for (const bench::CaseResult& r : rep.results) {
    EXPECT_EQ(r.status, bench::Status::timed) << r.backend << " " << r.op << " " << r.detail;
    EXPECT_EQ(r.verification.status, r.backend == "reference" ? "oracle" : "ok");
    EXPECT_GT(r.time.median, 0);
    EXPECT_NEAR(r.gflops, r.flops / r.time.median * 1e-9, 1e-9 * r.gflops);
    EXPECT_GT(r.pct_peak, 0);
    EXPECT_EQ(r.speedup_vs_reference.has_value(), r.backend == "twin");
  }
  // The JSON report reads back as a baseline with every timed result.
  const Json j = bench::report_json(rep);
  const Baseline b = bench::parse_baseline(Json::parse(j.dump(), "mem"), "mem");
  EXPECT_EQ(b.entries.size(), 4u);
  EXPECT_TRUE(b.entries[1].reference_median.has_value());
  // The seed (the case name's 64-bit FNV-1a hash: past 2^53 for almost every name) is an exact
  // JSON integer.
  const Json reread = Json::parse(j.dump(), "mem");
  const Json& problem = reread.at("results", "").elements().at(0).at("problem", "");
  EXPECT_EQ(problem.at("seed", "").as_uint("seed"), rep.results[0].seed);
}

TEST(BenchRun, WrongBackendFailsVerificationAndIsNotTimed) {
  const bench::RunReport rep = bench::run_cases({tiny_case(true)}, quick_options(), factory_with_twin(true));
  ASSERT_EQ(rep.results.size(), 4u);
  const bench::CaseResult& fwd = rep.results[1];
  EXPECT_EQ(fwd.backend, "twin");
  EXPECT_EQ(fwd.status, bench::Status::failed);
  EXPECT_NE(fwd.detail.find("output: 1 of"), std::string::npos) << fwd.detail;
  EXPECT_EQ(fwd.time.count, 0);
  const bench::CaseResult& bwd = rep.results[3];
  EXPECT_EQ(bwd.status, bench::Status::failed);
  EXPECT_NE(bwd.detail.find("grad_additional_value"), std::string::npos) << bwd.detail;
  // --no-verify times it anyway and says verification was skipped.
  bench::Options o = quick_options();
  o.verify = false;
  const bench::RunReport unchecked = bench::run_cases({tiny_case(false)}, o, factory_with_twin(true));
  EXPECT_EQ(unchecked.results[1].status, bench::Status::timed);
  EXPECT_EQ(unchecked.results[1].verification.status, "skipped");
}

TEST(BenchRun, InjectedSlowdownMultipliesTheTimedWork) {
  bench::Options o = quick_options();
  o.policy.min_reps = 20;
  o.policy.max_time = 0.5;
  auto c = tiny_case(false);
  c.backends = {"reference"};
  const double base = bench::run_cases({c}, o).results[0].time.min;
  o.inject_slowdown = 4;
  const double slow = bench::run_cases({c}, o).results[0].time.min;
  EXPECT_GT(slow / base, 2.5);
}

// A backend whose calls sleep the given milliseconds in turn: the run must say its numbers are
// untrustworthy.
class Jittery final : public Backend {
 public:
  explicit Jittery(std::vector<int> sleeps_ms) : sleeps_ms_(std::move(sleeps_ms)) {}
  std::string name() const override { return "twin"; }
  std::string description() const override { return "test double"; }
  std::string why_unsupported(Op, const Problem&) const override { return ""; }
  void forward(const Problem& p, const NAInputs& in, Tensor& out, Tensor& lse) override {
    ref_->forward(p, in, out, lse);
    // Steps of 5 ms dwarf the scheduling noise of a loaded machine, so the verdict is stable.
    std::this_thread::sleep_for(std::chrono::milliseconds(sleeps_ms_[calls_++ % sleeps_ms_.size()]));
  }
  void backward(const Problem&, const NAInputs&, const Tensor&, const Tensor&, const Tensor&, Gradients&) override {}

 private:
  std::unique_ptr<Backend> ref_ = make_backend("reference");
  std::vector<int> sleeps_ms_;
  std::size_t calls_ = 0;
};

TEST(BenchRun, NoisyTimingsAreFlagged) {
  bench::Options o = quick_options();
  o.verify = false;
  o.policy.min_reps = 10;
  o.policy.max_time = 0.1;
  auto c = tiny_case(false);
  c.backends = {"twin"};
  const auto warnings = [&](const std::vector<int>& sleeps_ms) {
    const bench::RunReport rep = bench::run_cases({c}, o, [sleeps_ms](std::string_view) -> std::unique_ptr<Backend> {
      return std::make_unique<Jittery>(sleeps_ms);
    });
    EXPECT_NE(bench::report_table(rep).find("%!"), std::string::npos);
    std::string all;
    for (const std::string& w : rep.results.at(0).warnings) all += w + "\n";
    return all;
  };
  // 0, 5, 10, 15 ms: a wide spread.
  EXPECT_NE(warnings({0, 5, 10, 15}).find("relative noise"), std::string::npos);
  // 0 and 5 ms: two modes; the MAD of a two-mode sample can be near zero, the min/median check is
  // not. Two slow calls to each fast one put the median in the slow mode whatever the sample count
  // (with equal halves an odd count puts it in the fast one half of the time: a flaky test).
  EXPECT_NE(warnings({0, 5, 5}).find("bimodal timings"), std::string::npos);
}

TEST(BenchReport, WritersCoverEveryResult) {
  const bench::RunReport rep = bench::run_cases({tiny_case(false)}, quick_options(), factory_with_twin(true));
  const std::string table = bench::report_table(rep);
  EXPECT_NE(table.find("FAILED: verification: output"), std::string::npos) << table;
  EXPECT_NE(table.find("oracle"), std::string::npos);
  const std::string csv = bench::report_csv(rep);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3);  // header + 2 rows
  EXPECT_NE(csv.find("tiny,twin,forward,failed"), std::string::npos) << csv;
  const std::string md = bench::report_markdown(rep);
  EXPECT_NE(md.find("| case | problem | backend |"), std::string::npos) << md;
  // Atomic write: a file in a missing directory is an error and leaves nothing behind.
  EXPECT_THROW(write_output("--json", "/nonexistent-dir/x.json", "{}"), Error);
  testing::TempFile out(".json");
  write_output("--json", out.path(), bench::report_json(rep).dump());
  EXPECT_EQ(bench::read_baseline(out.path()).entries.size(), 1u);  // the failed twin is not a baseline entry
}

TEST(BenchBaseline, BadFilesAreClearErrors) {
  const auto msg = [](const std::string& text) {
    testing::TempFile f(".json", text);
    try {
      bench::read_baseline(f.path());
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(msg("{").find("line 1 column 2"), std::string::npos);
  EXPECT_NE(msg("[]").find("expected a JSON object"), std::string::npos);
  EXPECT_NE(msg(R"({"schema": "other/2"})").find("schema 'other/2' is not 'natten-bench/2'"), std::string::npos);
  EXPECT_NE(msg(R"({"schema": "natten-bench/1", "machine": {"cpu_model": "x"}, "results": [{"status": "timed"}]})")
                .find("results[0]: missing member 'case'"),
            std::string::npos);
  EXPECT_NE(msg(R"({"schema": "natten-bench/1", "machine": {"cpu_model": 3}})").find("machine.cpu_model: expected a string"),
            std::string::npos);
  EXPECT_THROW(bench::read_baseline("/nonexistent/base.json"), Error);
}

}  // namespace
}  // namespace natten
