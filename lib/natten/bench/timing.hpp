// Timing methodology: warmup, then timed samples until the noise target or the time budget.
//
//  1. Warmup: call until at least `warmup_reps` calls AND `warmup_time` seconds have passed
//     (caches, page faults, thread pools, frequency ramp). Warmup also estimates the call time.
//  2. Samples: each sample times `batch` back-to-back calls with a monotonic clock and records the
//     time per call; batch > 1 only for calls shorter than `min_sample_time`, so clock overhead
//     stays below ~0.1%.
//  3. Stop at the first of: the time budget `max_time` is spent (always after >= 1 sample);
//     `max_reps` samples; or at least `min_reps` samples and `min_time` seconds AND the relative
//     noise (1.4826 MAD / median, see stats.hpp) is at most `noise_target`.
// The callable must do nothing but the work being measured (inputs and outputs pre-allocated,
// device synchronization included, no checks).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace natten::bench {

struct TimingPolicy {
  int warmup_reps = 1;
  double warmup_time = 0.05;  // seconds
  int min_reps = 5;
  int max_reps = 100000;
  double min_time = 0.2;  // seconds of sampling before the noise target may stop it
  double max_time = 1.5;  // seconds of sampling at most
  double noise_target = 0.02;
  double min_sample_time = 20e-6;  // batch calls shorter than this
};

struct Measurement {
  std::vector<double> samples;  // seconds per call, one entry per sample
  // Device seconds per call for the same samples, when the `device` reader of measure() knows
  // them for every call (GPU backends); empty otherwise.
  std::vector<double> device_samples;
  int batch = 1;                // calls per sample
  std::int64_t warmup_calls = 0;
  double warmup_seconds = 0;
  double sampling_seconds = 0;  // wall time of the sampling phase
  std::string stop_reason;      // "noise target", "time budget", "repetition cap"
};

// Returns the device seconds of the calls made since its previous call, or nullopt when any of
// them did not report one. Read outside the timed region, after each sample.
using DeviceReader = std::function<std::optional<double>()>;

// `progress` (optional) is called about every 0.2 s with the samples so far; `device`
// (optional) gives the device time of each sample's calls (Measurement::device_samples).
Measurement measure(const std::function<void()>& call, const TimingPolicy& policy,
                    const std::function<void(const Measurement&)>& progress = {}, const DeviceReader& device = {});

// Throws natten::Error naming the offending field when the policy is inconsistent.
void validate_policy(const TimingPolicy& policy);

}  // namespace natten::bench
