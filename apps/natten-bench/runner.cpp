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
void time_case(Backend& b, const Problem& p, const NAInputs& in, Op op, std::uint64_t seed, const Options& o,
               CaseResult& r, Progress& progress, const std::string& label) {
  std::function<void()> call;
  Tensor out = Tensor::empty(p.output_shape(), p.dtype);
  Tensor lse = Tensor::empty(p.lse_shape(), DType::f32);
  Tensor d_out;
  Gradients grads;
  if (op == Op::forward) {
    call = [&] {
      for (int k = 0; k < o.inject_slowdown; ++k) b.forward(p, in, out, lse);
      b.synchronize();
    };
  } else {
    // The backward consumes the forward's output and logsumexp: computed once here, untimed.
    b.forward(p, in, out, lse);
    b.synchronize();
    d_out = make_output_grad(p, seed);
    grads = allocate_gradients(p);
    call = [&] {
      for (int k = 0; k < o.inject_slowdown; ++k) b.backward(p, in, out, lse, d_out, grads);
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
  int total = 0;
  for (const config::ResolvedCase& c : cases) {
    try {
      backends.push_back(case_backends(c, [&](const std::string& n) { factory(n); }));
    } catch (const Error& e) {
      throw Error(fmt::format("case '{}' ({}): {}", c.name, c.origin, e.what()));
    }
    total += static_cast<int>(backends.back().size() * ops_of(c).size());
  }

  std::map<int, PeakResult> peaks;
  for (const config::ResolvedCase& c : cases) {
    const int t = case_threads(c);
    if (peaks.count(t)) continue;
    progress.status(fmt::format("measuring the fp32 FMA peak on {} thread{}", t, t == 1 ? "" : "s"));
    peaks[t] = measure_fma_peak(t);
    progress.done(fmt::format("fp32 FMA peak: {:.1f} GFLOP/s on {} thread{} ({}, {} lanes)", peaks[t].gflops, t,
                              t == 1 ? "" : "s", peaks[t].isa, peaks[t].lanes));
    rep.peaks.push_back(peaks[t]);
  }

  Step step{0, total};
  for (std::size_t ci = 0; ci < cases.size(); ++ci) {
    const config::ResolvedCase& c = cases[ci];
    const Problem p = make_problem(c.spec);
    const NAInputs in = make_inputs(p, c.seed);
    const int threads = case_threads(c);
    const double verify_gflop = verification_gflop(p, c.backward);
    std::optional<ReferenceResults> ref;  // computed on first need, shared by backends

    for (Op op : ops_of(c)) {
      const std::size_t first = rep.results.size();
      for (const std::string& name : backends[ci]) {
        ++step.index;
        const std::string label = fmt::format("{} {} {} {}", step.label(), c.name, name, op_name(op));
        CaseResult r;
        r.case_name = c.name;
        r.backend = name;
        r.op = std::string(op_name(op));
        r.problem = p;
        r.seed = c.seed;
        r.threads = threads;
        r.flops = op == Op::forward ? forward_flops(p) : backward_flops(p);
        r.bytes = op == Op::forward ? forward_bytes(p) : backward_bytes(p);
        std::unique_ptr<Backend> b = factory(name);
        b->set_threads(threads);
        const std::string why = b->why_unsupported(op, p);
        if (!why.empty()) {
          r.status = Status::unsupported;
          r.detail = why;
          progress.done(fmt::format("{}: unsupported: {}", label, why));
          rep.results.push_back(r);
          continue;
        }
        if (name == "reference") {
          r.verification.status = "oracle";
        } else if (!o.verify) {
          r.verification.detail = "--no-verify";
        } else if (verify_gflop > o.verify_max_gflop) {
          r.verification.detail = fmt::format("the reference backend would need {:.3g} GFLOP (--verify-max-gflop {})",
                                              verify_gflop, o.verify_max_gflop);
          progress.done(fmt::format("{}: verification skipped: {}", label, r.verification.detail));
        } else {
          progress.status(fmt::format("{} verifying against the reference backend", label));
          if (!ref) ref = reference_results(p, in, c.backward, c.seed);
          r.verification = op == Op::forward ? verify_forward(*b, p, in, *ref) : verify_backward(*b, p, in, *ref);
          if (r.verification.status == "failed") {
            r.status = Status::failed;
            r.detail = "verification: " + r.verification.detail;
            progress.warn(fmt::format("{} {} {}: does not match the reference backend: {}", c.name, name, op_name(op),
                                      r.verification.detail));
            rep.results.push_back(r);
            continue;
          }
        }
        try {
          time_case(*b, p, in, op, c.seed, o, r, progress, label);
        } catch (const std::exception& e) {
          r.status = Status::failed;
          r.detail = fmt::format("backend error while timing: {}", e.what());
          progress.warn(fmt::format("{} {} {}: {}", c.name, name, op_name(op), r.detail));
          rep.results.push_back(r);
          continue;
        }
        derive(r, peaks, o);
        for (const std::string& w : r.warnings) progress.warn(fmt::format("{} {} {}: {}", c.name, name, op_name(op), w));
        progress.done(fmt::format("{}: median {} ({} samples), {:.3g} GFLOP/s, {:.1f}% of peak", label,
                                  format_seconds(r.time.median), r.time.count, r.gflops, r.pct_peak));
        rep.results.push_back(r);
      }
      // The yardstick for other backends: the reference backend on the same case and op.
      const auto ref_it = std::find_if(rep.results.begin() + static_cast<std::ptrdiff_t>(first), rep.results.end(),
                                       [](const CaseResult& r) { return r.backend == "reference" && r.status == Status::timed; });
      if (ref_it != rep.results.end()) {
        const double ref_median = ref_it->time.median, ref_min = ref_it->time.min, ref_noise = ref_it->time.rel_noise;
        for (std::size_t i = first; i < rep.results.size(); ++i) {
          CaseResult& r = rep.results[i];
          if (r.status != Status::timed || r.backend == "reference") continue;
          r.reference_median = ref_median;
          r.reference_min = ref_min;
          r.reference_rel_noise = ref_noise;
          r.speedup_vs_reference = ref_median / r.time.median;
        }
      }
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
          const std::string why = b->why_unsupported(op, p);
          line += fmt::format("{}{}: {}", line.empty() ? "" : "; ", op_name(op), why.empty() ? "supported" : "unsupported: " + why);
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
