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
#include "natten/bench/report.hpp"
#include "natten/core/neighborhood.hpp"
#include "natten/core/error.hpp"
#include "progress.hpp"
#include "natten/op/op_table.hpp"
#include "suite.hpp"

namespace natten::bench {
namespace {

int case_threads(const config::ResolvedCase& c) { return app::resolve_threads(c.threads.value_or(config::kCaseDefaults.threads)); }

struct Step {
  int index = 0, total = 0;
  std::string label() const { return fmt::format("[{}/{}]", index, total); }
};

// Times the prepared call on `b`; fills the timing fields of `r`.
void time_case(Backend& b, Workload& w, bool backward, const Options& o, CaseResult& r, Progress& progress,
               const std::string& label) {
  const std::function<void()> kernel = w.prepare(b, backward);
  // Device time, where the backend reports it: summed over the calls of a sample, read after
  // each backend call (GPU backends complete their command buffer within the call).
  double device_seconds = 0;
  bool device_known = true;
  const std::function<void()> call = [&] {
    for (int k = 0; k < o.inject_slowdown; ++k) {
      kernel();
      const std::optional<double> d = b.last_device_seconds();
      device_known = device_known && d.has_value();
      if (d) device_seconds += *d;
    }
    b.synchronize();
  };
  const DeviceReader device = [&]() -> std::optional<double> {
    const std::optional<double> d = device_known ? std::optional<double>(device_seconds) : std::nullopt;
    device_seconds = 0;
    device_known = true;
    return d;
  };
  const Measurement m = measure(call, o.policy, [&](const Measurement& now) {
    const Summary s = summarize(now.samples);
    progress.status(fmt::format("{} timing: {} samples, median {}, noise {:.1f}%", label, now.samples.size(),
                                format_seconds(s.median), 100.0 * s.rel_noise));
  }, device);
  // Samples pool over --repetitions (each call of time_case is one repetition).
  const bool device_everywhere = m.device_samples.size() == m.samples.size() && r.device_samples.size() == r.samples.size();
  r.samples.insert(r.samples.end(), m.samples.begin(), m.samples.end());
  if (device_everywhere) r.device_samples.insert(r.device_samples.end(), m.device_samples.begin(), m.device_samples.end());
  else r.device_samples.clear();
  r.time = summarize(r.samples);
  r.device_time.reset();
  if (!r.device_samples.empty() && r.device_samples.size() == r.samples.size()) r.device_time = summarize(r.device_samples);
  r.repetition_medians.push_back(summarize(m.samples).median);
  r.batch = m.batch;
  r.warmup_calls += m.warmup_calls;
  r.sampling_seconds += m.sampling_seconds;
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

// Support check, verification, timing and derived numbers for one backend on one direction.
CaseResult run_one(const config::ResolvedCase& spec, Workload& w, Backend& b, bool backward, const Options& o,
                   const std::map<int, PeakResult>& peaks, Progress& progress, const std::string& label) {
  CaseResult r;
  r.case_name = spec.name;
  r.backend = b.name();
  r.op = w.row_op(backward);
  r.case_op = spec.op;
  r.op_detail = w.op_detail();
  r.problem = w.problem();
  r.problem_str = w.problem_str();
  r.seed = spec.seed;
  r.threads = case_threads(spec);
  r.flops = w.flops(backward);
  r.bytes = w.bytes(backward);
  r.kernel = w.kernel(b, backward);
  const std::string who = fmt::format("{} {} {}", r.case_name, r.backend, r.op);

  const std::string why = w.unsupported(b, backward);
  if (!why.empty()) {
    r.status = Status::unsupported;
    r.detail = why;
    progress.done(fmt::format("{}: skip: {}", label, why));
    return r;
  }
  const double verify_gflop = w.verify_gflop(spec.backward);
  if (r.backend == "reference") {
    r.verification.status = "oracle";
  } else if (!o.verify) {
    r.verification.detail = "--no-verify";
  } else if (verify_gflop > o.verify_max_gflop) {
    r.verification.detail = fmt::format("the reference backend would need {:.3g} GFLOP (--verify-max-gflop {})",
                                        verify_gflop, o.verify_max_gflop);
    progress.done(fmt::format("{}: verification skipped: {}", label, r.verification.detail));
  } else {
    progress.status(fmt::format("{} verifying against the reference backend", label));
    r.verification = w.verify(b, backward);
    if (r.verification.status == "failed") {
      r.status = Status::failed;
      r.detail = "verification: " + r.verification.detail;
      progress.warn(fmt::format("{}: does not match the reference backend: {}", who, r.verification.detail));
      return r;
    }
  }
  try {
    time_case(b, w, backward, o, r, progress, label);
  } catch (const std::exception& e) {
    r.status = Status::failed;
    r.detail = fmt::format("backend error while timing: {}", e.what());
    progress.warn(fmt::format("{}: {}", who, r.detail));
    return r;
  }
  derive(r, peaks, o);
  for (const std::string& warning : r.warnings) progress.warn(fmt::format("{}: {}", who, warning));
  progress.done(fmt::format("{}: median {} ({} samples{}), {:.3g} GFLOP/s, {:.3g} GB/s, {:.1f}% of peak", label,
                            format_seconds(r.time.median), r.time.count,
                            r.device_time ? ", device " + format_seconds(r.device_time->median) : "", r.gflops,
                            r.gbps, r.pct_peak));
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

std::vector<bool> directions_of(const config::ResolvedCase& c) {
  return c.backward ? std::vector<bool>{false, true} : std::vector<bool>{false};
}

RunReport run_cases(const std::vector<config::ResolvedCase>& cases, const Options& o, const BackendFactory& factory) {
  Progress progress(o.quiet);
  RunReport rep;
  rep.created = app::utc_now();
  rep.command_line = o.command_line;
  rep.machine = app::machine_info();
  rep.build = app::build_info();
  rep.fingerprint = machine_fingerprint();
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
    step.total += static_cast<int>(backends.back().size() * directions_of(c).size()) * o.repetitions;
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

  // --repetitions: the whole run again (fresh workloads, same inputs); the first repetition
  // verifies, later ones only time, and every row's statistics pool all its samples.
  std::vector<std::pair<std::size_t, std::size_t>> groups;  // [first, last) rows of one case and direction
  for (int repetition = 0; repetition < o.repetitions; ++repetition) {
    std::size_t row = 0;
    for (std::size_t ci = 0; ci < cases.size(); ++ci) {
      const std::unique_ptr<Workload> w = make_workload(cases[ci], o.fast_path);
      for (bool backward : directions_of(cases[ci])) {
        const std::size_t first = row;
        for (const std::string& name : backends[ci]) {
          ++step.index;
          std::string label = fmt::format("{} {} {} {}", step.label(), cases[ci].name, name, w->row_op(backward));
          if (o.repetitions > 1) label += fmt::format(" (repetition {}/{})", repetition + 1, o.repetitions);
          const std::unique_ptr<Backend> b = factory(name);
          b->set_threads(case_threads(cases[ci]));
          if (repetition == 0) {
            rep.results.push_back(run_one(cases[ci], *w, *b, backward, o, peaks, progress, label));
          } else if (CaseResult& r = rep.results[row]; r.status == Status::timed) {
            time_case(*b, *w, backward, o, r, progress, label);
            progress.done(fmt::format("{}: median {}", label, format_seconds(r.repetition_medians.back())));
          }
          ++row;
        }
        if (repetition == 0) groups.emplace_back(first, row);
      }
    }
  }
  for (CaseResult& r : rep.results) {
    if (r.status != Status::timed || o.repetitions == 1) continue;
    r.warnings.clear();
    derive(r, peaks, o);
  }
  for (const auto& [first, last] : groups)
    attach_reference_times(rep.results.begin() + static_cast<std::ptrdiff_t>(first),
                           rep.results.begin() + static_cast<std::ptrdiff_t>(last));
  return rep;
}

std::string describe_cases(const std::vector<config::ResolvedCase>& cases, const Options& o,
                           const BackendFactory& factory) {
  std::string out;
  const std::vector<BackendInfo> registry = list_backends();
  for (const config::ResolvedCase& c : cases) {
    std::vector<std::string> names;
    try {
      names = case_backends(c, [&](const std::string& x) { factory(x); });
    } catch (const Error& e) {
      throw Error(fmt::format("case '{}' ({}): {}", c.name, c.origin, e.what()));
    }
    const std::unique_ptr<Workload> w = make_workload(c, o.fast_path);
    out += fmt::format("case {} ({})\n", c.name, c.origin);
    out += fmt::format("  op        {}{}\n", c.op, w->op_detail().empty() ? "" : " (" + w->op_detail() + ")");
    out += fmt::format("  problem   {}\n", w->problem_str());
    if (c.op == "na" || c.op == "na_qk" || c.op == "na_av") {
      out += fmt::format("  pairs     {} attended (query, key) pairs per head and batch element\n",
                         attended_pairs(w->problem()));
    }
    for (bool backward : directions_of(c)) {
      const double f = w->flops(backward), by = w->bytes(backward);
      out += fmt::format("  {:<9} {:.4g} GFLOP, {:.4g} MB compulsory traffic, {:.3g} FLOP/byte\n", w->row_op(backward),
                         f * 1e-9, by * 1e-6, f / by);
    }
    const double vg = w->verify_gflop(c.backward);
    if (!o.verify) out += "  verify    skipped (--no-verify)\n";
    else if (vg > o.verify_max_gflop) out += fmt::format("  verify    skipped: reference needs {:.3g} GFLOP (limit {})\n", vg, o.verify_max_gflop);
    else out += fmt::format("  verify    against the reference backend ({:.3g} GFLOP there)\n", vg);
    // Every registered backend, then any other the case names (a test's own).
    const auto support = [&](const std::string& n) {
      const std::unique_ptr<Backend> b = factory(n);
      std::string line;
      for (bool backward : directions_of(c)) {
        const std::string why = w->unsupported(*b, backward);
        line += fmt::format("{}{}: {}", line.empty() ? "" : "; ", w->row_op(backward),
                            why.empty() ? "runs " + w->kernel(*b, backward) : "skip: " + why);
      }
      out += fmt::format("  {:<9} {}\n", n, line);
    };
    for (const BackendInfo& info : registry) {
      if (info.available) support(info.name);
      else out += fmt::format("  {:<9} unavailable here: {}\n", info.name, info.unavailable_reason);
    }
    for (const std::string& n : names) {
      const bool registered = std::any_of(registry.begin(), registry.end(), [&](const BackendInfo& i) { return i.name == n; });
      if (!registered) support(n);
    }
    std::string joined;
    for (const std::string& n : names) joined += (joined.empty() ? "" : ", ") + n;
    out += fmt::format("  would time {} on {} thread(s)\n\n", joined, case_threads(c));
  }
  return out;
}

}  // namespace natten::bench
