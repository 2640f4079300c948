// natten-bench --op: the ops beyond the fused one (na_qk, na_av, merge, varlen) from flags and INI,
// their exact FLOP counts against brute-force neighbor counts, --dry-run text (FMHA fast path,
// skip reasons), verification against the reference backend, skipped backends and exit codes.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <string>
#include <vector>

#include "cli.hpp"
#include "natten/backend.hpp"
#include "natten/bench/flops.hpp"
#include "natten/bench/report.hpp"
#include "natten/config/case_spec.hpp"
#include "natten/core/error.hpp"
#include "natten/core/split.hpp"
#include "natten/io/ini.hpp"
#include "runner.hpp"
#include "suite.hpp"
#include "support/bench_cases.hpp"
#include "support/brute_force.hpp"
#include "support/random_problem.hpp"

namespace natten {
namespace {

using testing::error_of;
using testing::resolve_text;

bench::Options parse(std::vector<const char*> args) { return testing::parse_bench_args(std::move(args)); }

TEST(BenchOps, IniKeysPerOp) {
  const auto cases = resolve_text(
      "[defaults]\nk = 3\nrpb = true\nparts = 3\ndim = 8\n"
      "[fused]\ninput_size = 8\n"
      "[qk]\nop = na_qk\ninput_size = 8,9\ncausal = 1,0\n"
      "[av]\nop = na_av\ninput_size = 8\nadd_kv = 2\n"
      "[m]\nop = merge\ninput_size = 4,5\nheads = 3\n"
      "[v]\nop = varlen\nvarlen_sizes = 6x6;4x5\n"
      "[vp]\nop = varlen\ninput_size = 8,8\nvarlen_sizes = 6x6;4x5;8x3\n");
  ASSERT_EQ(cases.size(), 6u);
  EXPECT_EQ(cases[0].op, "na");
  EXPECT_FALSE(cases[0].rpb);  // rpb from [defaults] reaches na_qk cases only
  EXPECT_EQ(cases[1].op, "na_qk");
  EXPECT_TRUE(cases[1].rpb);
  EXPECT_TRUE(cases[1].spec.params.causal[0]);
  EXPECT_EQ(cases[2].op, "na_av");
  EXPECT_EQ(cases[2].spec.extra_kv, 2);
  EXPECT_EQ(cases[3].op, "merge");
  EXPECT_EQ(cases[3].parts, 3);
  EXPECT_EQ(cases[3].spec.heads_q, 3);
  EXPECT_EQ(cases[3].spec.spatial[1], 5);
  const config::ResolvedCase& v = cases[4];
  EXPECT_EQ(v.op, "varlen");
  EXPECT_EQ(v.spec.batch, 2);  // one sample each
  EXPECT_EQ(v.spec.spatial[0], 6);  // padded = per-axis maximum
  EXPECT_EQ(v.spec.spatial[1], 6);
  ASSERT_EQ(v.varlen_sizes.size(), 2u);
  EXPECT_EQ(v.varlen_sizes[1], (Extent{4, 5, 1}));
  EXPECT_EQ(cases[5].spec.spatial[0], 8);  // input_size given: the padded extent
  EXPECT_EQ(cases[5].spec.batch, 3);
}

TEST(BenchOps, IniErrorsPerOp) {
  struct Bad {
    const char* text;
    const char* expect;
  } bad[] = {
      {"[a]\nop = na_fancy\ninput_size = 8\nk = 3\n", "t.ini:2: key 'op': unknown op 'na_fancy' (expected na, na_qk, na_av, merge or varlen)"},
      {"[a]\nop = na_av\ninput_size = 8\nk = 3\nrpb = true\n", "t.ini:5: key 'rpb': does not apply to op na_av in section [a]"},
      {"[a]\nop = merge\ninput_size = 8\nk = 3\n", "t.ini:4: key 'k': does not apply to op merge in section [a]"},
      {"[a]\ninput_size = 8\nk = 3\nparts = 3\n", "t.ini:4: key 'parts': does not apply to op na in section [a]"},
      {"[a]\nop = merge\ninput_size = 8\nparts = 1\n", "t.ini:4: key 'parts': 1 is out of range [2, 1024]"},
      {"[a]\nop = varlen\ninput_size = 8\nk = 3\n", "t.ini:1: case [a] has no 'varlen_sizes' (op varlen needs one extent per sample)"},
      {"[a]\ninput_size = 8\nk = 3\nvarlen_sizes = 8\n", "t.ini:4: key 'varlen_sizes': does not apply to op na in section [a]"},
      {"[a]\nop = varlen\nk = 3\nvarlen_sizes = 6x6;;4x4\n", "t.ini:4: key 'varlen_sizes': empty sample in '6x6;;4x4'"},
      {"[a]\nop = varlen\nk = 3\nvarlen_sizes = 6x6;4\n", "t.ini:4: key 'varlen_sizes': samples of '6x6;4' have different numbers of axes"},
      {"[a]\nop = varlen\nk = 3\nvarlen_sizes = 6x6;4x2\n", "t.ini:1: case [a]: varlen sample 4x2: kernel_size[1] * dilation[1] = 3 * 1 exceeds input size 2"},
      {"[a]\nop = varlen\nk = 3\ninput_size = 5,5\nvarlen_sizes = 6x6\n", "t.ini:5: key 'varlen_sizes': sample 0 (6x6) exceeds the padded input_size 5x5"},
      {"[a]\nop = varlen\nk = 3\nbatch = 3\nvarlen_sizes = 6x6;5x5\n", "t.ini:4: key 'batch': 3 does not match the 2 samples of varlen_sizes"},
  };
  for (const Bad& b : bad) {
    const std::string msg = error_of([&] { resolve_text(b.text); });
    EXPECT_NE(msg.find(b.expect), std::string::npos) << b.text << " -> " << msg;
  }
}

TEST(BenchOps, FlagsReachEveryOp) {
  auto c = bench::assemble_cases(parse({"--op", "varlen", "--varlen-sizes", "6x6", "4x5", "-w", "3"}))[0];
  EXPECT_EQ(c.op, "varlen");
  EXPECT_EQ(c.varlen_sizes.size(), 2u);
  c = bench::assemble_cases(parse({"--op", "varlen", "--varlen-sizes", "6x6;4x5;5x5", "-w", "3"}))[0];
  EXPECT_EQ(c.spec.batch, 3);
  c = bench::assemble_cases(parse({"--op", "na_qk", "--rpb", "-i", "8", "-w", "3"}))[0];
  EXPECT_TRUE(c.rpb);
  c = bench::assemble_cases(parse({"--op", "merge", "--parts", "4", "-i", "8", "8"}))[0];
  EXPECT_EQ(c.parts, 4);
  // The standard suite's window is ignored by merge; an explicit -w is an error there.
  EXPECT_EQ(bench::assemble_cases(parse({"--op", "merge", "--rank", "2"})).size(), 3u);
  EXPECT_NE(error_of([] { bench::assemble_cases(parse({"--op", "merge", "-i", "8", "-w", "3"})); })
                .find("--window-size: does not apply to op merge"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse({"--op", "fused"}); }).find("--op: unknown op 'fused' (expected na, na_qk, na_av, merge or varlen)"), std::string::npos);
}

// (query, key) pairs by brute force: every query's neighbor list plus the additional tokens,
// summed over batch and heads.
double brute_pairs(const Problem& p) {
  double pairs = 0;
  for (std::int64_t q = 0; q < p.tokens(); ++q)
    pairs += static_cast<double>(testing::brute_neighbors(p, q).size() + static_cast<std::size_t>(p.extra_kv));
  return pairs * static_cast<double>(p.batch) * p.heads_q;
}

TEST(BenchOps, FlopCountsMatchBruteForce) {
  std::mt19937_64 rng(17);
  testing::SweepLimits lim;
  lim.max_tokens = 60;
  for (int i = 0; i < 40; ++i) {
    const Problem p = testing::random_problem(rng, DType::f32, lim);
    const double pairs = brute_pairs(p);
    EXPECT_DOUBLE_EQ(bench::qk_flops(p, false), pairs * 2.0 * p.dim) << p.str();
    EXPECT_DOUBLE_EQ(bench::qk_flops(p, true), pairs * 4.0 * p.dim) << p.str();
    EXPECT_DOUBLE_EQ(bench::av_flops(p, false), pairs * 2.0 * p.dim_v) << p.str();
    EXPECT_DOUBLE_EQ(bench::av_flops(p, true), pairs * 4.0 * p.dim_v) << p.str();
  }
  // varlen: each sample at its own extents, counted alone.
  ProblemSpec s;
  s.params = NAParams::uniform(2, 3);
  s.batch = 2;
  s.spatial = {7, 6, 1};
  s.heads_q = s.heads_kv = 2;
  s.dim = 4;
  const VarlenProblem v{make_problem(s), {Extent{7, 6, 1}, Extent{3, 5, 1}}};
  double want = 0;
  for (std::int64_t b = 0; b < 2; ++b) want += brute_pairs(v.sample(b)) * (2.0 * 4 + 2.0 * 4);
  EXPECT_DOUBLE_EQ(bench::varlen_flops(v, false), want);
  EXPECT_LT(bench::varlen_flops(v, false), bench::forward_flops(v.padded));
  // merge: 2 FLOPs forward, 4 backward per (row, part, element); bytes by hand.
  MergeProblem m;
  m.dtype = DType::f16;
  m.parts = 3;
  m.rows = 10;
  m.dim = 8;
  EXPECT_DOUBLE_EQ(bench::merge_flops(m, false), 10.0 * 3 * 8 * 2);
  EXPECT_DOUBLE_EQ(bench::merge_flops(m, true), 10.0 * 3 * 8 * 4);
  const double part = 10.0 * 8 * 2 + 10.0 * 4;  // fp16 output + float32 logsumexp
  EXPECT_DOUBLE_EQ(bench::merge_bytes(m, false), 4 * part);
  EXPECT_DOUBLE_EQ(bench::merge_bytes(m, true), 2 * 3 * part + part + 10.0 * 8 * 2);
  // qk bytes: q, k, rpb read; the attention written (W = 9 slots).
  ProblemSpec q;
  q.params = NAParams::uniform(1, 3);
  q.spatial = {5, 1, 1};
  q.heads_q = q.heads_kv = 1;
  q.dim = 2;
  const Problem qp = make_problem(q);
  EXPECT_DOUBLE_EQ(bench::qk_bytes(qp, true, false), 4.0 * (5 * 2 + 5 * 2 + 5 + 5 * 3));
  EXPECT_DOUBLE_EQ(bench::av_bytes(qp, false), 4.0 * (5 * 3 + 5 * 2 + 5 * 2));
}

// A backend with only the fused pair: every other op must be a clear skip, never a fallback.
class FusedOnly final : public Backend {
 public:
  std::string name() const override { return "fusedonly"; }
  std::string description() const override { return "test double"; }
  std::string why_unsupported(Op, const Problem&) const override { return ""; }
  void forward(const Problem& p, const NAInputs& in, Tensor& out, Tensor& lse) override { ref_->forward(p, in, out, lse); }
  void backward(const Problem& p, const NAInputs& in, const Tensor& out, const Tensor& lse, const Tensor& d_out,
                Gradients& g) override {
    ref_->backward(p, in, out, lse, d_out, g);
  }

 private:
  std::unique_ptr<Backend> ref_ = make_backend("reference");
};

// Every op by delegation to the reference backend, optionally corrupting the av output.
class AllOps final : public Backend {
 public:
  explicit AllOps(bool corrupt) : corrupt_(corrupt) {}
  std::string name() const override { return "allops"; }
  std::string description() const override { return "test double"; }
  bool implements(Op op) const override { return op != Op::fmha_forward && op != Op::fmha_backward; }
  std::string why_unsupported(Op op, const Problem& p) const override { return ref_->why_unsupported(op, p); }
  void forward(const Problem& p, const NAInputs& in, Tensor& out, Tensor& lse) override { ref_->forward(p, in, out, lse); }
  void backward(const Problem& p, const NAInputs& in, const Tensor& out, const Tensor& lse, const Tensor& d_out,
                Gradients& g) override {
    ref_->backward(p, in, out, lse, d_out, g);
  }
  void qk_forward(const Problem& p, const SplitQKInputs& in, Tensor& a) override { ref_->qk_forward(p, in, a); }
  void qk_backward(const Problem& p, const SplitQKInputs& in, const Tensor& da, SplitQKGrads& g) override {
    ref_->qk_backward(p, in, da, g);
  }
  void av_forward(const Problem& p, const SplitAVInputs& in, Tensor& out) override {
    ref_->av_forward(p, in, out);
    if (corrupt_) out.set(0, out.get(0) + 0.5f);
  }
  void av_backward(const Problem& p, const SplitAVInputs& in, const Tensor& d, SplitAVGrads& g) override {
    ref_->av_backward(p, in, d, g);
  }
  void merge_forward(const MergeProblem& m, const std::vector<Tensor>& o, const std::vector<Tensor>& l, Tensor& out,
                     Tensor& lse) override {
    ref_->merge_forward(m, o, l, out, lse);
  }
  void merge_backward(const MergeProblem& m, const std::vector<Tensor>& o, const std::vector<Tensor>& l,
                      const Tensor& out, const Tensor& lse, const Tensor& d_out, const Tensor& d_lse,
                      std::vector<Tensor>& d_o, std::vector<Tensor>& d_l) override {
    ref_->merge_backward(m, o, l, out, lse, d_out, d_lse, d_o, d_l);
  }
  void varlen_forward(const VarlenProblem& v, const NAInputs& in, Tensor& out, Tensor& lse) override {
    ref_->varlen_forward(v, in, out, lse);
  }
  void varlen_backward(const VarlenProblem& v, const NAInputs& in, const Tensor& out, const Tensor& lse,
                       const Tensor& d_out, Gradients& g) override {
    ref_->varlen_backward(v, in, out, lse, d_out, g);
  }

 private:
  std::unique_ptr<Backend> ref_ = make_backend("reference");
  bool corrupt_;
};

bench::BackendFactory doubles(bool corrupt) {
  return [corrupt](std::string_view name) -> std::unique_ptr<Backend> {
    if (name == "fusedonly") return std::make_unique<FusedOnly>();
    if (name == "allops") return std::make_unique<AllOps>(corrupt);
    return make_backend(name);
  };
}

bench::Options quick() { return testing::quick_options(2, 0.01); }

const char* kEveryOp =
    "[defaults]\nk = 3\ndim = 4\nheads = 2\nbackward = true\nthreads = 1\nbackend = reference,allops,fusedonly\n"
    "[qk]\nop = na_qk\ninput_size = 6,5\nrpb = true\ncausal = 1,0\nadd_kv = 2\n"
    "[av]\nop = na_av\ninput_size = 7\nadd_kv = 1\n"
    "[m]\nop = merge\ninput_size = 3,4\nparts = 3\n"
    "[v]\nop = varlen\nvarlen_sizes = 6x5;3x4\n";

TEST(BenchOps, EveryOpVerifiesTimesOrSkips) {
  const bench::RunReport rep = bench::run_cases(resolve_text(kEveryOp), quick(), doubles(false));
  ASSERT_EQ(rep.results.size(), 4u * 2 * 3);  // cases x directions x backends
  const std::vector<std::string> ops = {"na_qk",          "na_qk_backward", "na_av",          "na_av_backward",
                                        "merge",          "merge_backward", "varlen_forward", "varlen_backward"};
  for (std::size_t i = 0; i < rep.results.size(); ++i) {
    const bench::CaseResult& r = rep.results[i];
    EXPECT_EQ(r.op, ops[i / 3]) << i;
    EXPECT_GT(r.flops, 0) << r.op;
    EXPECT_GT(r.bytes, 0) << r.op;
    if (r.backend == "fusedonly") {
      EXPECT_EQ(r.status, bench::Status::unsupported) << r.op;
      EXPECT_EQ(r.detail, r.op + " not implemented by backend fusedonly");
      continue;
    }
    EXPECT_EQ(r.status, bench::Status::timed) << r.backend << " " << r.op << " " << r.detail;
    EXPECT_EQ(r.verification.status, r.backend == "reference" ? "oracle" : "ok") << r.op;
    EXPECT_GT(r.time.median, 0);
    EXPECT_EQ(r.speedup_vs_reference.has_value(), r.backend == "allops");
  }
  EXPECT_EQ(rep.results[0].op_detail, "rpb");
  EXPECT_EQ(rep.results[12].op_detail, "parts 3");
  EXPECT_EQ(rep.results[18].op_detail, "varlen 6x5;3x4");
  EXPECT_NE(rep.results[0].problem_str.find("na_qk"), std::string::npos);
  const std::string table = bench::report_table(rep);
  EXPECT_NE(table.find("skip: merge_backward not implemented by backend fusedonly"), std::string::npos) << table;
  EXPECT_NE(table.find("GB/s"), std::string::npos);
}

TEST(BenchOps, WrongSplitResultFailsVerification) {
  const auto cases = resolve_text(kEveryOp);
  auto c = cases[1];
  c.backends = {"allops"};
  const bench::RunReport rep = bench::run_cases({c}, quick(), doubles(true));
  ASSERT_EQ(rep.results.size(), 2u);
  EXPECT_EQ(rep.results[0].status, bench::Status::failed);
  EXPECT_NE(rep.results[0].detail.find("verification: output: 1 of"), std::string::npos) << rep.results[0].detail;
  EXPECT_EQ(rep.results[1].status, bench::Status::timed);  // its backward is right
}

TEST(BenchOps, DryRunDescribesThePlanAndSkips) {
  bench::Options o = quick();
  const auto cases = resolve_text(kEveryOp);
  const std::string text = bench::describe_cases(cases, o, doubles(false));
  EXPECT_NE(text.find("op        na_qk (rpb)"), std::string::npos) << text;
  EXPECT_NE(text.find("allops    na_qk: runs na_qk (attention logits with relative positional bias); na_qk_backward: runs"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("fusedonly na_av: skip: na_av not implemented by backend fusedonly"), std::string::npos) << text;
  EXPECT_NE(text.find("reference merge: runs merge (3 parts merged by logsumexp)"), std::string::npos) << text;
  EXPECT_NE(text.find("varlen_forward (2 samples, each at its own extents)"), std::string::npos) << text;
  // na: whether the FMHA fast path is taken, per backend.
  const auto fused = resolve_text("[f]\ninput_size = 6,6\nk = 6\nbackend = reference,fusedonly\n");
  const std::string f = bench::describe_cases(fused, o, doubles(false));
  EXPECT_NE(f.find("reference forward: runs fmha_forward (fast path: every window covers the whole token grid)"),
            std::string::npos)
      << f;
  EXPECT_NE(f.find("fusedonly forward: runs forward (neighborhood: windows cover every token but fmha_forward not "
                   "implemented by backend fusedonly)"),
            std::string::npos)
      << f;
}

int exit_code(const std::string& args) {
  const std::string cmd = std::string(NATTEN_BENCH_EXE) + " " + args + " >/dev/null 2>&1";
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(BenchOps, ExitCodes) {
  const std::string quick_flags = " --warmup-time 0 --min-reps 2 --min-time 0 --max-time 0.01 -q --threads 1";
  EXPECT_EQ(exit_code("--op bogus -i 8 -w 3 --dry-run"), 2);
  EXPECT_EQ(exit_code("--op merge -i 8 -w 3 --dry-run"), 2);
  EXPECT_EQ(exit_code("--op varlen -w 3 --dry-run"), 2);
  EXPECT_EQ(exit_code("--op na_av --rpb -i 8 -w 3 --dry-run"), 2);
  EXPECT_EQ(exit_code("--op varlen --varlen-sizes 8x8 6x7 -w 3 --backward --dry-run"), 0);
  EXPECT_EQ(exit_code("--op na_qk --rpb -i 8 -w 3 --backward --backend reference" + quick_flags), 0);
  EXPECT_EQ(exit_code("--op merge -i 4 4 --parts 3 --backward --backend reference" + quick_flags), 0);
}

}  // namespace
}  // namespace natten

namespace natten {
namespace {

// A stand-in for a GPU backend: delegates to the reference backend and reports a device time of
// its own per call (as the Metal backend reports command-buffer GPU time), or none every
// `gap`-th call.
class DeviceTimed final : public Backend {
 public:
  DeviceTimed(double seconds, int gap) : seconds_(seconds), gap_(gap) {}
  std::string name() const override { return "gpu"; }
  std::string description() const override { return "test double"; }
  std::string why_unsupported(Op, const Problem&) const override { return ""; }
  void forward(const Problem& p, const NAInputs& in, Tensor& out, Tensor& lse) override {
    ref_->forward(p, in, out, lse);
    ++calls_;
  }
  void backward(const Problem& p, const NAInputs& in, const Tensor& out, const Tensor& lse, const Tensor& d_out,
                Gradients& g) override {
    ref_->backward(p, in, out, lse, d_out, g);
    ++calls_;
  }
  std::optional<double> last_device_seconds() const override {
    if (gap_ > 0 && calls_ % gap_ == 0) return std::nullopt;
    return seconds_ * (calls_ % 2 ? 1.0 : 3.0);  // alternating 1x and 3x: a spread to summarize
  }

 private:
  std::unique_ptr<Backend> ref_ = make_backend("reference");
  double seconds_;
  int gap_;
  long calls_ = 0;
};

TEST(BenchDeviceTime, RecordedBesideWallTime) {
  auto c = resolve_text("[tiny]\ninput_size = 6,5\nk = 3\nheads = 2\ndim = 4\nthreads = 1\nbackend = gpu\n")[0];
  bench::Options o = quick();
  o.policy.min_reps = 6;
  o.policy.max_time = 0.05;
  o.policy.min_sample_time = 0;  // one call per sample: an even batch would average 1 and 3 ms away
  const auto run = [&](int gap) {
    return bench::run_cases({c}, o, [gap](std::string_view) -> std::unique_ptr<Backend> {
      return std::make_unique<DeviceTimed>(1e-3, gap);
    });
  };
  const bench::RunReport rep = run(0);
  const bench::CaseResult& r = rep.results.at(0);
  ASSERT_EQ(r.status, bench::Status::timed) << r.detail;
  ASSERT_TRUE(r.device_time.has_value());
  EXPECT_EQ(r.device_time->count, r.time.count);  // one device sample per wall sample
  // Samples are 1 ms or 3 ms per call (or their mean over a batch): the statistics say so.
  EXPECT_GE(r.device_time->min, 1e-3 - 1e-12);
  EXPECT_LE(r.device_time->max, 3e-3 + 1e-12);
  EXPECT_GT(r.device_time->max, r.device_time->min);
  const Json j = bench::report_json(rep);
  const Json& res = j.at("results", "").elements().at(0);
  EXPECT_DOUBLE_EQ(res.at("device_time_s", "").at("median", "").as_number(""), r.device_time->median);
  EXPECT_FALSE(res.at("device_rel_noise", "").is_null());
  const std::string table = bench::report_table(rep);
  EXPECT_NE(table.find("device"), std::string::npos);
  EXPECT_NE(table.find(bench::format_seconds(r.device_time->median)), std::string::npos) << table;
  EXPECT_NE(bench::report_csv(rep).find(",device_median_s,"), std::string::npos);

  // A backend that does not report every call gets no device statistics (and null in JSON).
  const bench::RunReport partial = run(3);
  EXPECT_FALSE(partial.results.at(0).device_time.has_value());
  EXPECT_TRUE(bench::report_json(partial).at("results", "").elements().at(0).at("device_time_s", "").is_null());
  // CPU backends report none: the column shows '-'.
  auto cpu = c;
  cpu.backends = {"reference"};
  EXPECT_FALSE(bench::run_cases({cpu}, o).results.at(0).device_time.has_value());
}

}  // namespace
}  // namespace natten
