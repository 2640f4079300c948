#include "runner.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <map>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "natten/backend.hpp"
#include "natten/bench/flops.hpp"
#include "natten/bench/inputs.hpp"
#include "natten/bench/report.hpp"
#include "natten/bench/verify.hpp"
#include "natten/core/neighborhood.hpp"
#include "natten/core/error.hpp"
#include "progress.hpp"
#include "suite.hpp"

namespace natten::bench {
namespace {

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::vector<Op> ops_of(const config::ResolvedCase& c) {
  return c.backward ? std::vector<Op>{Op::forward, Op::backward} : std::vector<Op>{Op::forward};
}

int case_threads(const config::ResolvedCase& c) { return resolve_threads(c.threads.value_or(0)); }

// The reference backend's work to verify a case (its forward, and backward when timed).
double verification_gflop(const Problem& p, bool backward) {
  return (forward_flops(p) + (backward ? forward_flops(p) + backward_flops(p) : 0.0)) * 1e-9;
}

struct Step {
  int index = 0, total = 0;
  std::string label() const { return fmt::format("[{}/{}]", index, total); }
};

// Times one backend on one op; fills the timing fields of `r`.
void time_case(Backend& b, const FusedPlan& plan, const Problem& p, const NAInputs& in, std::uint64_t seed,
               const Options& o, CaseResult& r, Progress& progress, const std::string& label) {
  std::function<void()> call;
  Tensor out = Tensor::empty(p.output_shape(), p.dtype);
  Tensor lse = Tensor::empty(p.lse_shape(), DType::f32);
  Tensor d_out;
  Gradients grads;
  if (plan.op == Op::forward || plan.op == Op::fmha_forward) {
    call = [&] {
      for (int k = 0; k < o.inject_slowdown; ++k) run_forward(b, plan, p, in, out, lse);
      b.synchronize();
    };
  } else {
    // The backward consumes the forward's output and logsumexp: computed once here, untimed.
    run_forward(b, plan_fused(b, Op::forward, p, o.fast_path), p, in, out, lse);
    b.synchronize();
    d_out = make_output_grad(p, seed);
    grads = allocate_gradients(p);
    call = [&] {
      for (int k = 0; k < o.inject_slowdown; ++k) run_backward(b, plan, p, in, out, lse, d_out, grads);
      b.synchronize();
    };
  }
  const Measurement m = measure(call, o.policy, [&](const Measurement& now) {
    const Summary s = summarize(now.samples);
    progress.status(fmt::format("{} timing: {} samples, median {}, noise {:.1f}%", label, now.samples.size(),
                                format_seconds(s.median), 100.0 * s.rel_noise));
  });
  r.time = summarize(m.samples);
  r.batch = m.batch;
  r.warmup_calls = m.warmup_calls;
  r.sampling_seconds = m.sampling_seconds;
  r.stop_reason = m.stop_reason;
}

void derive(CaseResult& r, const std::map<int, PeakResult>& peaks, const Options& o) {
  const double t = r.time.median;
  r.gflops = t > 0 ? r.flops / t * 1e-9 : 0.0;
  r.gbps = t > 0 ? r.bytes / t * 1e-9 : 0.0;
  const auto it = peaks.find(r.threads);
  if (it != peaks.end() && it->second.gflops > 0) {
    r.peak_gflops = it->second.gflops;
    r.pct_peak = 100.0 * r.gflops / r.peak_gflops;
  }
  const double noisy = std::max(2.0 * o.policy.noise_target, 0.05);
  if (r.time.rel_noise > noisy)
    r.warnings.push_back(fmt::format(
        "relative noise {:.1f}% (target {:.1f}%): the machine is busy or the kernel's time varies; close other "
        "programs or raise --max-time",
        100.0 * r.time.rel_noise, 100.0 * o.policy.noise_target));
  if (r.time.count < o.policy.min_reps)
    r.warnings.push_back(fmt::format("only {} samples within --max-time {} s (--min-reps {}): statistics are weak",
                                     r.time.count, o.policy.max_time, o.policy.min_reps));
  if (r.time.count >= 5 && r.time.min < 0.5 * r.time.median)
    r.warnings.push_back(fmt::format("fastest sample {} is under half the median {}: bimodal timings",
                                     format_seconds(r.time.min), format_seconds(r.time.median)));
}

// One case's shared state: its problem, inputs, and the reference results (computed on first need
// and shared by every backend verified against them).
struct CaseContext {
  const config::ResolvedCase& spec;
  Problem problem;
  NAInputs inputs;
  int threads;
  double verify_gflop;
  std::optional<ReferenceResults> reference;

  explicit CaseContext(const config::ResolvedCase& c)
      : spec(c),
        problem(make_problem(c.spec)),
        inputs(make_inputs(problem, c.seed)),
        threads(case_threads(c)),
        verify_gflop(verification_gflop(problem, c.backward)) {}
};

// Support check, verification, timing and derived numbers for one backend on one op.
CaseResult run_one(CaseContext& ctx, Backend& b, Op op, const Options& o, const std::map<int, PeakResult>& peaks,
                   Progress& progress, const std::string& label) {
  const Problem& p = ctx.problem;
  CaseResult r;
  r.case_name = ctx.spec.name;
  r.backend = b.name();
  r.op = std::string(op_name(op));
  r.problem = p;
  r.seed = ctx.spec.seed;
  r.threads = ctx.threads;
  r.flops = op == Op::forward ? forward_flops(p) : backward_flops(p);
  r.bytes = op == Op::forward ? forward_bytes(p) : backward_bytes(p);
  const std::string who = fmt::format("{} {} {}", r.case_name, r.backend, r.op);

  const FusedPlan plan = plan_fused(b, op, p, o.fast_path);
  r.kernel = describe(plan);
  const std::string why = unsupported_reason(b, plan.op, p);
  if (!why.empty()) {
    r.status = Status::unsupported;
    r.detail = why;
    progress.done(fmt::format("{}: unsupported: {}", label, why));
    return r;
  }
  if (r.backend == "reference") {
    r.verification.status = "oracle";
  } else if (!o.verify) {
    r.verification.detail = "--no-verify";
  } else if (ctx.verify_gflop > o.verify_max_gflop) {
    r.verification.detail = fmt::format("the reference backend would need {:.3g} GFLOP (--verify-max-gflop {})",
                                        ctx.verify_gflop, o.verify_max_gflop);
    progress.done(fmt::format("{}: verification skipped: {}", label, r.verification.detail));
  } else {
    progress.status(fmt::format("{} verifying against the reference backend", label));
    if (!ctx.reference) ctx.reference = reference_results(p, ctx.inputs, ctx.spec.backward, ctx.spec.seed);
    r.verification = op == Op::forward ? verify_forward(b, p, ctx.inputs, *ctx.reference, o.fast_path)
                                       : verify_backward(b, p, ctx.inputs, *ctx.reference, o.fast_path);
    if (r.verification.status == "failed") {
      r.status = Status::failed;
      r.detail = "verification: " + r.verification.detail;
      progress.warn(fmt::format("{}: does not match the reference backend: {}", who, r.verification.detail));
      return r;
    }
  }
  try {
    time_case(b, plan, p, ctx.inputs, ctx.spec.seed, o, r, progress, label);
  } catch (const std::exception& e) {
    r.status = Status::failed;
    r.detail = fmt::format("backend error while timing: {}", e.what());
    progress.warn(fmt::format("{}: {}", who, r.detail));
    return r;
  }
  derive(r, peaks, o);
  for (const std::string& w : r.warnings) progress.warn(fmt::format("{}: {}", who, w));
  progress.done(fmt::format("{}: median {} ({} samples), {:.3g} GFLOP/s, {:.1f}% of peak", label,
                            format_seconds(r.time.median), r.time.count, r.gflops, r.pct_peak));
  return r;
}

// The yardstick for the other backends of one case and op: the reference backend's times.
void attach_reference_times(std::vector<CaseResult>::iterator first, std::vector<CaseResult>::iterator last) {
  const auto ref = std::find_if(first, last, [](const CaseResult& r) {
    return r.backend == "reference" && r.status == Status::timed;
  });
  if (ref == last) return;
  for (auto it = first; it != last; ++it) {
    if (it->status != Status::timed || it->backend == "reference") continue;
    it->reference_median = ref->time.median;
    it->reference_min = ref->time.min;
    it->reference_rel_noise = ref->time.rel_noise;
    it->speedup_vs_reference = ref->time.median / it->time.median;
  }
}

}  // namespace

RunReport run_cases(const std::vector<config::ResolvedCase>& cases, const Options& o, const BackendFactory& factory) {
  Progress progress(o.quiet);
  RunReport rep;
  rep.created = utc_now();
  rep.command_line = o.command_line;
  rep.machine = machine_info();
  rep.build = build_info();
  rep.policy = o.policy;

  // Every backend name is checked before any work, so a typo fails at once (exit 2).
  std::vector<std::vector<std::string>> backends;
  Step step;
  for (const config::ResolvedCase& c : cases) {
    try {
      backends.push_back(case_backends(c, [&](const std::string& n) { factory(n); }));
    } catch (const Error& e) {
      throw Error(fmt::format("case '{}' ({}): {}", c.name, c.origin, e.what()));
    }
    step.total += static_cast<int>(backends.back().size() * ops_of(c).size());
  }

  std::map<int, PeakResult> peaks;  // by thread count
  for (const config::ResolvedCase& c : cases) {
    const int t = case_threads(c);
    if (peaks.count(t)) continue;
    progress.status(fmt::format("measuring the fp32 FMA peak on {} thread{}", t, t == 1 ? "" : "s"));
    const PeakResult& pk = peaks[t] = measure_fma_peak(t);
    progress.done(fmt::format("fp32 FMA peak: {:.1f} GFLOP/s on {} thread{} ({}, {} lanes)", pk.gflops, t,
                              t == 1 ? "" : "s", pk.isa, pk.lanes));
    rep.peaks.push_back(pk);
  }

  for (std::size_t ci = 0; ci < cases.size(); ++ci) {
    CaseContext ctx(cases[ci]);
    for (Op op : ops_of(cases[ci])) {
      const std::size_t first = rep.results.size();
      for (const std::string& name : backends[ci]) {
        ++step.index;
        const std::string label = fmt::format("{} {} {} {}", step.label(), cases[ci].name, name, op_name(op));
        const std::unique_ptr<Backend> b = factory(name);
        b->set_threads(ctx.threads);
        rep.results.push_back(run_one(ctx, *b, op, o, peaks, progress, label));
      }
      attach_reference_times(rep.results.begin() + static_cast<std::ptrdiff_t>(first), rep.results.end());
    }
  }
  return rep;
}

std::string describe_cases(const std::vector<config::ResolvedCase>& cases, const Options& o) {
  std::string out;
  const std::vector<BackendInfo> registry = list_backends();
  for (const config::ResolvedCase& c : cases) {
    const Problem p = make_problem(c.spec);
    out += fmt::format("case {} ({})\n", c.name, c.origin);
    out += fmt::format("  problem   {}\n", p.str());
    out += fmt::format("  pairs     {} attended (query, key) pairs per head and batch element\n", attended_pairs(p));
    for (Op op : ops_of(c)) {
      const double f = op == Op::forward ? forward_flops(p) : backward_flops(p);
      const double by = op == Op::forward ? forward_bytes(p) : backward_bytes(p);
      out += fmt::format("  {:<9} {:.4g} GFLOP, {:.4g} MB compulsory traffic, {:.3g} FLOP/byte\n", op_name(op), f * 1e-9,
                         by * 1e-6, f / by);
    }
    const double vg = verification_gflop(p, c.backward);
    if (!o.verify) out += "  verify    skipped (--no-verify)\n";
    else if (vg > o.verify_max_gflop) out += fmt::format("  verify    skipped: reference needs {:.3g} GFLOP (limit {})\n", vg, o.verify_max_gflop);
    else out += fmt::format("  verify    against the reference backend ({:.3g} GFLOP there)\n", vg);
    for (const BackendInfo& info : registry) {
      std::string line;
      if (!info.available) {
        line = "not available here: " + info.unavailable_reason;
      } else {
        const std::unique_ptr<Backend> b = make_backend(info.name);
        for (Op op : ops_of(c)) {
          const FusedPlan plan = plan_fused(*b, op, p, o.fast_path);
          const std::string why = unsupported_reason(*b, plan.op, p);
          line += fmt::format("{}{}: {}", line.empty() ? "" : "; ", op_name(op),
                              why.empty() ? "runs " + describe(plan) : "unsupported: " + why);
        }
      }
      out += fmt::format("  {:<9} {}\n", info.name, line);
    }
    std::string names;
    try {
      for (const std::string& n : case_backends(c, [](const std::string& x) { make_backend(x); })) names += (names.empty() ? "" : ", ") + n;
    } catch (const Error& e) {
      throw Error(fmt::format("case '{}' ({}): {}", c.name, c.origin, e.what()));
    }
    out += fmt::format("  would time {} on {} thread(s)\n\n", names, case_threads(c));
  }
  return out;
}

}  // namespace natten::bench
