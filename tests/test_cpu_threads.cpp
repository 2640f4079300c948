// The cpu backend gives bit-identical results on any number of threads, every SIMD target it can
// dispatch to on this machine agrees with the reference backend, and bad thread counts are
// refused.
#include <cstdio>

#include "natten/backend/cpu/simd_targets.hpp"
#include "natten/core/error.hpp"
#include "test_cpu_support.hpp"

namespace natten::testing {
namespace {

Problem mixed_problem(DType dtype) {
  ProblemSpec s;
  s.dtype = dtype;
  s.params = NAParams::uniform(2, 5);
  s.params.stride = {2, 1, 1};
  s.params.dilation = {1, 2, 1};
  s.params.causal = {false, true, false};
  s.spatial = {19, 23, 1};
  s.batch = 2;
  s.heads_q = 4;
  s.heads_kv = 2;
  s.dim = 12;
  s.dim_v = 20;
  s.extra_kv = 3;
  return make_problem(s);
}

bool bitwise_equal(const Tensor& a, const Tensor& b) { return max_abs_diff(a, b) == 0.0; }

TEST(CpuThreads, SameBitsOnOneTwoAndThreeThreads) {
  for (DType dtype : {DType::f32, DType::bf16}) {
    const Problem p = mixed_problem(dtype);
    std::mt19937_64 rng(5);
    const NAInputs in = random_inputs(rng, p);
    const Tensor d_out = random_tensor(rng, p.output_shape(), p.dtype);
    std::unique_ptr<Backend> cpu = make_backend("cpu");
    ForwardResult first;
    Gradients first_g;
    for (int threads : {1, 2, 3}) {
      cpu->set_threads(threads);
      const ForwardResult f = na_forward(*cpu, params_of(p), in);
      const Gradients g = na_backward(*cpu, params_of(p), in, f.output, f.lse, d_out);
      if (threads == 1) {
        first = f;
        first_g = g;
        continue;
      }
      SCOPED_TRACE(::testing::Message() << dtype_name(dtype) << " threads=" << threads);
      EXPECT_TRUE(bitwise_equal(f.output, first.output));
      EXPECT_TRUE(bitwise_equal(f.lse, first.lse));
      EXPECT_TRUE(bitwise_equal(g.query, first_g.query));
      EXPECT_TRUE(bitwise_equal(g.key, first_g.key));
      EXPECT_TRUE(bitwise_equal(g.value, first_g.value));
      EXPECT_TRUE(bitwise_equal(g.additional_key, first_g.additional_key));
      EXPECT_TRUE(bitwise_equal(g.additional_value, first_g.additional_value));
    }
  }
}

TEST(CpuThreads, NegativeThreadCountIsRefused) {
  std::unique_ptr<Backend> cpu = make_backend("cpu");
  EXPECT_THROW(cpu->set_threads(-1), Error);
  cpu->set_threads(0);  // all hardware threads
}

// Every SIMD path compiled in and runnable here (AVX-512, AVX2, SSE4, scalar on x86) gives the
// reference results, so machines without AVX-512 (and the portable fallback) are covered.
TEST(CpuSimdTargets, EveryUsableTargetMatchesReference) {
  const std::vector<std::string> targets = cpu::usable_simd_targets();
  ASSERT_FALSE(targets.empty());
  std::string names;
  for (const std::string& t : targets) names += " " + t;
  std::printf("usable SIMD targets:%s\n", names.c_str());  // scripts/test-arm64.sh shows it
  for (const std::string& target : targets) {
    SCOPED_TRACE(target);
    cpu::force_simd_target(target);
    EXPECT_NE(make_backend("cpu")->description().find(target), std::string::npos);
    std::mt19937_64 rng(11);
    for (DType dtype : {DType::f32, DType::f16, DType::bf16}) {
      check_against_reference(mixed_problem(dtype), rng, /*backward=*/true);
      for (int i = 0; i < 10; ++i) check_against_reference(random_problem(rng, dtype), rng, /*backward=*/true);
    }
  }
  cpu::force_simd_target("");
  EXPECT_THROW(cpu::force_simd_target("NO_SUCH_TARGET"), Error);
}

}  // namespace
}  // namespace natten::testing
