#include "natten/bench/peak.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace natten::bench {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Runs the kernel on `threads` threads released together; returns the wall time of the slowest.
double timed_parallel_run(int threads, long long iterations) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<float> sink(static_cast<std::size_t>(threads));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) {
    pool.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      sink[static_cast<std::size_t>(t)] = run_fma_kernel(iterations);
    });
  }
  while (ready.load() < threads - 1) std::this_thread::yield();
  const auto t0 = Clock::now();
  go.store(true, std::memory_order_release);
  sink[0] = run_fma_kernel(iterations);
  for (std::thread& th : pool) th.join();
  const double dt = seconds_since(t0);
  // Make the results observable so the loops cannot be dropped.
  volatile float keep = 0;
  for (float s : sink) keep = keep + s;
  return dt;
}

}  // namespace

PeakResult measure_fma_peak(int threads, double trial_seconds, int trials) {
  threads = std::max(threads, 1);
  const auto t_start = Clock::now();
  // Calibrate the iteration count on one thread so each trial runs about trial_seconds.
  long long iterations = 1 << 14;
  double dt = timed_parallel_run(1, iterations);
  while (dt < trial_seconds / 4 && iterations < (1LL << 40)) {
    iterations *= 2;
    dt = timed_parallel_run(1, iterations);
  }
  iterations = std::max(1LL, static_cast<long long>(static_cast<double>(iterations) * trial_seconds / std::max(dt, 1e-9)));

  PeakResult r;
  r.threads = threads;
  r.isa = fma_kernel_target();
  r.lanes = fma_kernel_lanes();
  const double flops = fma_kernel_flops(iterations) * threads;
  for (int i = 0; i < std::max(trials, 1); ++i) r.gflops = std::max(r.gflops, flops / timed_parallel_run(threads, iterations) * 1e-9);
  r.seconds = seconds_since(t_start);
  return r;
}

}  // namespace natten::bench
