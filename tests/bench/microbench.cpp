// natten-microbench: google-benchmark timings of the cpu backend on the standard suite (the shapes
// the Apple ports publish: 1D L=256 and 1024, 2D 32x32, 64x64 and 32x32 causal, 3D 16x16x16;
// B=1, H=4, D=32, fp32; K=7, and K=3 for 3D), forward and backward, on 1 and 2 threads, with
// GFLOP/s and % of the FMA peak measured at start-up on the same number of threads.
//
// FLOPs count only attended (query, key) pairs (attended_pairs: borders, causal and stride change
// it) times batch and heads: forward 2*D (QK) + 2*Dv (PV) per pair; backward 2*D (QK recompute)
// + 2*Dv (dP = dO.V) + 2*D (dQ) + 2*D (dK) + 2*Dv (dV) per pair, 2.5x the forward when D = Dv.
// exp, max and the softmax bookkeeping are not counted. The backward kernels recompute QK and
// dO.V once more in their key pass; that extra work is not counted either (it is overhead).
//
// Usage: natten-microbench [google-benchmark flags], e.g. --benchmark_repetitions=5
//        --benchmark_report_aggregates_only=true, --benchmark_filter=64x64.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "fma_peak.hpp"
#include "natten/backend.hpp"
#include "natten/core/neighborhood.hpp"

namespace natten::bench {
namespace {

struct Case {
  const char* name;
  int rank;
  std::array<std::int64_t, kMaxRank> size;
  int kernel;
  bool causal;
};

const Case kSuite[] = {
    {"1d_256_k7", 1, {256, 1, 1}, 7, false},       {"1d_1024_k7", 1, {1024, 1, 1}, 7, false},
    {"2d_32x32_k7", 2, {32, 32, 1}, 7, false},     {"2d_64x64_k7", 2, {64, 64, 1}, 7, false},
    {"2d_32x32_k7_causal", 2, {32, 32, 1}, 7, true}, {"3d_16x16x16_k3", 3, {16, 16, 16}, 3, false},
};

std::map<int, double> g_peak;  // threads -> GFLOP/s, measured once before the benchmarks

Problem make_case(const Case& c) {
  ProblemSpec s;
  s.params = NAParams::uniform(c.rank, c.kernel, 1, 1, c.causal);
  s.spatial = c.size;
  s.batch = 1;
  s.heads_q = s.heads_kv = 4;
  s.dim = 32;
  return make_problem(s);
}

Tensor random_tensor(std::mt19937_64& rng, const Shape& shape) {
  std::vector<float> v(static_cast<std::size_t>(numel(shape)));
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (float& x : v) x = u(rng);
  return Tensor::from_floats(shape, DType::f32, v.data());
}

double pair_flops(const Problem& p, bool backward) {
  const double per_pair = backward ? 6.0 * p.dim + 4.0 * p.dim_v : 2.0 * p.dim + 2.0 * p.dim_v;
  return static_cast<double>(attended_pairs(p)) * static_cast<double>(p.batch * p.heads_q) * per_pair;
}

void run_case(benchmark::State& state, const Case& c, bool backward, int threads) {
  const Problem p = make_case(c);
  std::mt19937_64 rng(7);
  NAInputs in;
  in.query = random_tensor(rng, p.query_shape());
  in.key = random_tensor(rng, p.kv_shape(p.dim));
  in.value = random_tensor(rng, p.kv_shape(p.dim_v));
  std::unique_ptr<Backend> cpu = make_backend("cpu");
  cpu->set_threads(threads);
  Tensor out = Tensor::empty(p.output_shape(), p.dtype);
  Tensor lse = Tensor::empty(p.lse_shape(), DType::f32);
  cpu->forward(p, in, out, lse);
  const Tensor d_out = random_tensor(rng, p.output_shape());
  Gradients g = allocate_gradients(p);
  for (auto _ : state) {
    if (backward) {
      cpu->backward(p, in, out, lse, d_out, g);
    } else {
      cpu->forward(p, in, out, lse);
    }
    benchmark::ClobberMemory();
  }
  const double flops = pair_flops(p, backward);
  state.counters["GFLOPs"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  const double peak = g_peak.count(threads) ? g_peak[threads] : 0.0;
  if (peak > 0.0) {
    state.counters["pct_peak"] =
        benchmark::Counter(flops * 1e-9 * 100.0 / peak, benchmark::Counter::kIsIterationInvariantRate);
  }
}

void peak_benchmark(benchmark::State& state, int threads) {
  double gflops = 0.0;
  for (auto _ : state) gflops = fma_peak_gflops(threads);
  state.counters["GFLOPs"] = gflops;
}

}  // namespace
}  // namespace natten::bench

int main(int argc, char** argv) {
  using namespace natten::bench;
  benchmark::Initialize(&argc, argv);
  // Peak first, best of a few short runs per thread count (the machine may be shared).
  for (int threads : {1, 2}) {
    double best = 0.0;
    for (int i = 0; i < 5; ++i) best = std::max(best, fma_peak_gflops(threads));
    g_peak[threads] = best;
    std::fprintf(stderr, "fp32 FMA peak, %d thread(s): %.1f GFLOP/s\n", threads, best);
  }
  for (int threads : {1, 2}) {
    benchmark::RegisterBenchmark(("fma_peak/threads:" + std::to_string(threads)).c_str(), peak_benchmark, threads)
        ->Iterations(3)
        ->UseRealTime();
  }
  for (const Case& c : kSuite) {
    for (bool backward : {false, true}) {
      for (int threads : {1, 2}) {
        const std::string name = std::string(backward ? "backward/" : "forward/") + c.name +
                                 "/threads:" + std::to_string(threads);
        benchmark::RegisterBenchmark(name.c_str(), run_case, c, backward, threads)
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond)
            ->MinTime(0.2);
      }
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
