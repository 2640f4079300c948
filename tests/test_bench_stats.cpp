// natten-bench statistics, timing loop and FLOP/byte counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>

#include <hwy/targets.h>

#include "natten/bench/flops.hpp"
#include "natten/bench/peak.hpp"
#include "natten/bench/stats.hpp"
#include "natten/bench/timing.hpp"
#include "natten/core/neighborhood.hpp"
#include "support/random_problem.hpp"

namespace natten {
namespace {

using bench::summarize;

TEST(BenchStats, KnownSamples) {
  // 1..10 shuffled: quantiles by linear interpolation (numpy's default).
  const bench::Summary s = summarize({7, 3, 10, 1, 9, 2, 8, 4, 6, 5});
  EXPECT_EQ(s.count, 10);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 10);
  EXPECT_DOUBLE_EQ(s.mean, 5.5);
  EXPECT_DOUBLE_EQ(s.median, 5.5);
  EXPECT_DOUBLE_EQ(s.p10, 1.9);
  EXPECT_DOUBLE_EQ(s.p90, 9.1);
  EXPECT_DOUBLE_EQ(s.q1, 3.25);
  EXPECT_DOUBLE_EQ(s.q3, 7.75);
  EXPECT_DOUBLE_EQ(s.iqr, 4.5);
  EXPECT_DOUBLE_EQ(s.mad, 2.5);  // deviations 0.5,0.5,1.5,1.5,...,4.5 -> median 2.5
  EXPECT_DOUBLE_EQ(s.rel_noise, 1.4826 * 2.5 / 5.5);
}

TEST(BenchStats, EdgeCases) {
  EXPECT_EQ(summarize({}).count, 0);
  const bench::Summary one = summarize({2.0});
  EXPECT_DOUBLE_EQ(one.median, 2.0);
  EXPECT_DOUBLE_EQ(one.p10, 2.0);
  EXPECT_DOUBLE_EQ(one.rel_noise, 0.0);
  const bench::Summary same = summarize({3, 3, 3, 3});
  EXPECT_DOUBLE_EQ(same.mad, 0.0);
  EXPECT_DOUBLE_EQ(same.iqr, 0.0);
}

TEST(BenchStats, RobustToOutliersAndCalibratedOnGaussianNoise) {
  std::mt19937_64 rng(1);
  std::normal_distribution<double> noise(1.0, 0.01);
  std::vector<double> x(20000);
  for (double& v : x) v = noise(rng);
  const bench::Summary g = summarize(x);
  EXPECT_NEAR(g.rel_noise, 0.01, 0.0005);  // 1.4826 MAD estimates sigma
  EXPECT_NEAR(g.median, 1.0, 0.001);
  // 10% huge outliers (preemption) barely move the median and the noise estimate.
  for (std::size_t i = 0; i < x.size(); i += 10) x[i] = 50.0;
  const bench::Summary o = summarize(x);
  EXPECT_NEAR(o.median, 1.0, 0.002);
  EXPECT_LT(o.rel_noise, 0.013);
  EXPECT_GT(o.mean, 5.0);
}

TEST(BenchTiming, StopsAtNoiseTargetRepCapOrBudget) {
  int calls = 0;
  const auto tick = [&] { ++calls; };
  bench::TimingPolicy p;
  p.warmup_reps = 3;
  p.warmup_time = 0;
  p.min_reps = 5;
  p.min_time = 0;
  p.max_time = 10;
  p.noise_target = 1e9;  // any noise is fine: stops as soon as min_reps samples exist
  p.min_sample_time = 0;
  bench::Measurement m = bench::measure(tick, p);
  EXPECT_EQ(m.warmup_calls, 3);
  EXPECT_EQ(m.samples.size(), 5u);
  EXPECT_EQ(m.stop_reason, "noise target");
  EXPECT_EQ(calls, 3 + 5);

  p.noise_target = 1e-12;
  p.max_reps = 40;
  const auto sleepy = [] { std::this_thread::sleep_for(std::chrono::microseconds((std::rand() % 7) * 20)); };
  m = bench::measure(sleepy, p);
  EXPECT_EQ(m.samples.size(), 40u);
  EXPECT_EQ(m.stop_reason, "repetition cap");

  p.max_reps = 1000000;
  p.max_time = 0.05;
  const auto slow = [] { std::this_thread::sleep_for(std::chrono::milliseconds(20)); };
  m = bench::measure(slow, p);
  EXPECT_EQ(m.stop_reason, "time budget");
  EXPECT_GE(m.samples.size(), 1u);
  EXPECT_LE(m.samples.size(), 4u);
  for (double s : m.samples) EXPECT_GE(s, 0.019);
}

TEST(BenchTiming, BatchesVeryShortCalls) {
  int calls = 0;
  bench::TimingPolicy p;
  p.warmup_reps = 10;
  p.warmup_time = 0.001;
  p.min_reps = 3;
  p.min_time = 0;
  p.noise_target = 1e9;
  p.min_sample_time = 1e-3;
  const bench::Measurement m = bench::measure([&] { ++calls; }, p);
  EXPECT_GT(m.batch, 100);  // an empty call takes nanoseconds
  EXPECT_EQ(static_cast<std::int64_t>(calls), m.warmup_calls + static_cast<std::int64_t>(m.samples.size()) * m.batch);
}

// The device reader is read once per sample, after the timed calls: each device sample is that
// sample's device seconds divided by its calls; the warmup's is dropped.
TEST(BenchTiming, DeviceTimePerSample) {
  int calls = 0, pending = 0;
  bench::TimingPolicy p;
  p.warmup_reps = 3;
  p.warmup_time = 0;
  p.min_reps = 4;
  p.min_time = 0;
  p.noise_target = 1e9;
  p.min_sample_time = 1e-3;  // batches the empty calls
  const bench::Measurement m = bench::measure([&] { ++calls, ++pending; }, p, {}, [&]() -> std::optional<double> {
    const double d = 2e-6 * pending;  // 2 us of "device time" per call
    pending = 0;
    return d;
  });
  ASSERT_EQ(m.device_samples.size(), m.samples.size());
  for (double d : m.device_samples) EXPECT_DOUBLE_EQ(d, 2e-6);
  // One call without a device time: no device samples at all.
  int n = 0;
  const bench::Measurement none =
      bench::measure([] {}, p, {}, [&]() -> std::optional<double> { return ++n == 3 ? std::nullopt : std::optional<double>(1.0); });
  EXPECT_TRUE(none.device_samples.empty());
  EXPECT_TRUE(bench::measure([] {}, p).device_samples.empty());
}

// FLOP and byte counts come from attended_pairs(); check them against a brute-force count of the
// neighbors for_each_neighbor visits, on random problems (borders, causal, stride, dilation,
// additional KV, GQA, Dv != D).
TEST(BenchFlops, MatchBruteForceNeighborCounts) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    testing::SweepLimits lim;
    lim.max_tokens = 300;
    const Problem p = testing::random_problem(rng, DType::f32, lim);
    std::int64_t pairs = 0;
    for (std::int64_t q = 0; q < p.tokens(); ++q) {
      for_each_neighbor(p, q, [&](std::int64_t) { ++pairs; });
      pairs += p.extra_kv;
    }
    const double hb = static_cast<double>(p.heads_q) * static_cast<double>(p.batch);
    EXPECT_DOUBLE_EQ(bench::forward_flops(p), static_cast<double>(pairs) * hb * (2.0 * p.dim + 2.0 * p.dim_v)) << p.str();
    EXPECT_DOUBLE_EQ(bench::backward_flops(p), static_cast<double>(pairs) * hb * (6.0 * p.dim + 4.0 * p.dim_v)) << p.str();
  }
}

TEST(BenchFlops, HandCountedExamples) {
  // 1D L=5 K=3: windows {0,1,2},{0,1,2},{1,2,3},{2,3,4},{2,3,4} -> 15 pairs; causal: 1,2,3,3,3 = 12.
  ProblemSpec s;
  s.params = NAParams::uniform(1, 3);
  s.spatial = {5, 1, 1};
  s.heads_q = s.heads_kv = 1;
  s.dim = 4;
  EXPECT_DOUBLE_EQ(bench::forward_flops(make_problem(s)), 15.0 * (8 + 8));
  s.params.causal[0] = true;
  EXPECT_DOUBLE_EQ(bench::forward_flops(make_problem(s)), 12.0 * (8 + 8));
  // Bytes: q, k, v, out (5 tokens x 4 dims, fp16 = 2 bytes) + lse (5 x fp32).
  s.dtype = DType::f16;
  EXPECT_DOUBLE_EQ(bench::forward_bytes(make_problem(s)), 2.0 * 4 * 20 + 4.0 * 5);
  EXPECT_DOUBLE_EQ(bench::backward_bytes(make_problem(s)), 2.0 * (2 * 60 + 2 * 20) + 4.0 * 5);
}

TEST(BenchPeak, KernelCountsAndDispatches) {
  EXPECT_GE(bench::fma_kernel_lanes(), 1);
  EXPECT_FALSE(bench::fma_kernel_target().empty());
  EXPECT_DOUBLE_EQ(bench::fma_kernel_flops(1000), 2.0 * 12 * bench::fma_kernel_lanes() * 1000);
  EXPECT_TRUE(std::isfinite(bench::run_fma_kernel(1000)));
  const bench::PeakResult r = bench::measure_fma_peak(1, 0.001, 3);
  EXPECT_GT(r.gflops, 0.1);
  EXPECT_EQ(r.threads, 1);
}

// The peak must work without AVX-512: run the kernel on every SIMD target compiled in and
// supported by this CPU (e.g. AVX3, AVX2, SSE4, SSSE3, EMU128 on x86), as the dispatcher would
// pick it on an older CPU.
TEST(BenchPeak, EveryCompiledTargetRuns) {
  const std::vector<std::int64_t> targets = hwy::SupportedAndGeneratedTargets();
  ASSERT_FALSE(targets.empty());
  int widest = 0;
  for (const std::int64_t t : targets) {
    hwy::SetSupportedTargetsForTest(t);
    EXPECT_EQ(bench::fma_kernel_target(), hwy::TargetName(t));
    EXPECT_TRUE(std::isfinite(bench::run_fma_kernel(100)));
    EXPECT_GT(bench::measure_fma_peak(1, 0.0005, 2).gflops, 0.01) << hwy::TargetName(t);
    widest = std::max(widest, bench::fma_kernel_lanes());
  }
  hwy::SetSupportedTargetsForTest(0);  // back to the real CPU
  EXPECT_EQ(bench::fma_kernel_lanes(), widest);  // the dispatcher picks the widest
}

}  // namespace
}  // namespace natten
