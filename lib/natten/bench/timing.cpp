#include "natten/bench/timing.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "natten/bench/stats.hpp"
#include "natten/core/error.hpp"

namespace natten::bench {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

}  // namespace

void validate_policy(const TimingPolicy& p) {
  if (p.warmup_reps < 0) fail("--warmup: {} must be >= 0", p.warmup_reps);
  if (!(p.warmup_time >= 0)) fail("--warmup-time: {} must be >= 0", p.warmup_time);
  if (p.min_reps < 1) fail("--min-reps: {} must be >= 1", p.min_reps);
  if (p.max_reps < p.min_reps) fail("--max-reps: {} must be >= --min-reps {}", p.max_reps, p.min_reps);
  if (!(p.min_time >= 0)) fail("--min-time: {} must be >= 0", p.min_time);
  if (!(p.max_time > 0) || p.max_time < p.min_time)
    fail("--max-time: {} must be > 0 and >= --min-time {}", p.max_time, p.min_time);
  if (!(p.noise_target > 0)) fail("--noise-target: {} must be > 0", p.noise_target);
}

Measurement measure(const std::function<void()>& call, const TimingPolicy& policy,
                    const std::function<void(const Measurement&)>& progress, const DeviceReader& device) {
  Measurement m;
  const auto w0 = Clock::now();
  while (m.warmup_calls < policy.warmup_reps || since(w0) < policy.warmup_time) {
    call();
    ++m.warmup_calls;
  }
  m.warmup_seconds = since(w0);
  bool device_known = static_cast<bool>(device);
  if (device_known) device();  // drop the warmup's device time
  if (m.warmup_calls > 0) {
    const double per_call = m.warmup_seconds / static_cast<double>(m.warmup_calls);
    if (per_call < policy.min_sample_time)
      m.batch = static_cast<int>(std::min(1e6, std::ceil(policy.min_sample_time / std::max(per_call, 1e-9))));
  }

  const auto s0 = Clock::now();
  auto last_progress = s0;
  std::size_t next_noise_check = static_cast<std::size_t>(policy.min_reps);
  while (true) {
    const auto t0 = Clock::now();
    for (int i = 0; i < m.batch; ++i) call();
    const auto t1 = Clock::now();
    m.samples.push_back(std::chrono::duration<double>(t1 - t0).count() / m.batch);
    if (device_known) {
      const std::optional<double> d = device();
      device_known = d.has_value();
      if (device_known) m.device_samples.push_back(*d / m.batch);
    }
    const double elapsed = std::chrono::duration<double>(t1 - s0).count();
    const std::size_t n = m.samples.size();
    if (progress && std::chrono::duration<double>(t1 - last_progress).count() > 0.2) {
      m.sampling_seconds = elapsed;
      progress(m);
      last_progress = Clock::now();
    }
    if (elapsed >= policy.max_time) {
      m.stop_reason = "time budget";
      break;
    }
    if (n >= static_cast<std::size_t>(policy.max_reps)) {
      m.stop_reason = "repetition cap";
      break;
    }
    // The noise check sorts the samples: do it at geometrically spaced counts, not every sample.
    if (n >= next_noise_check && elapsed >= policy.min_time) {
      next_noise_check = n + std::max<std::size_t>(1, n / 8);
      if (summarize(m.samples).rel_noise <= policy.noise_target) {
        m.stop_reason = "noise target";
        break;
      }
    }
  }
  m.sampling_seconds = since(s0);
  if (!device_known) m.device_samples.clear();  // some call did not report: none is trustworthy
  return m;
}

}  // namespace natten::bench
