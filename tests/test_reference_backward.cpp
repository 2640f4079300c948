// The reference backward against central finite differences of the double brute-force forward,
// for query, key, value and additional KV, on randomized sweeps.
#include <gtest/gtest.h>

#include <cmath>

#include "natten/backend.hpp"
#include "support/brute_force.hpp"
#include "support/random_problem.hpp"

namespace natten {
namespace {

// loss = sum(out * d_out): its gradient is what the backward computes for a given d_out.
double loss(const Problem& p, const testing::DoubleTensors& x, const std::vector<double>& d_out) {
  const testing::DoubleForward f = testing::brute_forward(p, x);
  double s = 0.0;
  for (std::size_t i = 0; i < f.out.size(); ++i) s += f.out[i] * d_out[i];
  return s;
}

void expect_gradient(const char* name, const Problem& p, testing::DoubleTensors& x, std::vector<double>& slot,
                     const Tensor& analytic, const std::vector<double>& d_out) {
  ASSERT_EQ(static_cast<std::int64_t>(slot.size()), analytic.numel()) << name;
  const double eps = 1e-5;
  for (std::size_t i = 0; i < slot.size(); ++i) {
    const double saved = slot[i];
    slot[i] = saved + eps;
    const double up = loss(p, x, d_out);
    slot[i] = saved - eps;
    const double down = loss(p, x, d_out);
    slot[i] = saved;
    const double numeric = (up - down) / (2 * eps);
    const double got = analytic.get(static_cast<std::int64_t>(i));
    ASSERT_NEAR(got, numeric, 2e-6 + 1e-5 * std::fabs(numeric)) << p.str() << " " << name << " element " << i;
  }
}

TEST(ReferenceBackward, MatchesCentralFiniteDifferences) {
  std::mt19937_64 rng(99);
  testing::SweepLimits lim;
  lim.max_tokens = 30;
  lim.max_dim = 5;
  auto backend = make_backend("reference");
  int with_extra = 0;
  for (int iter = 0; iter < 40; ++iter) {
    const Problem p = testing::random_problem(rng, DType::f32, lim);
    with_extra += p.extra_kv > 0;
    const NAInputs in = testing::random_inputs(rng, p);
    const Tensor d_out = testing::random_tensor(rng, p.output_shape(), DType::f32);
    testing::DoubleTensors x = testing::to_doubles(in);
    const testing::DoubleForward f = testing::brute_forward(p, x);
    std::vector<float> out_f(f.out.begin(), f.out.end()), lse_f(f.lse.begin(), f.lse.end());
    const Tensor out = Tensor::from_floats(p.output_shape(), DType::f32, out_f.data());
    const Tensor lse = Tensor::from_floats(p.lse_shape(), DType::f32, lse_f.data());
    const Gradients g = na_backward(*backend, p.params, in, out, lse, d_out);
    const std::vector<double> dO = d_out.to_doubles();
    expect_gradient("grad_query", p, x, x.q, g.query, dO);
    expect_gradient("grad_key", p, x, x.k, g.key, dO);
    expect_gradient("grad_value", p, x, x.v, g.value, dO);
    if (p.extra_kv > 0) {
      expect_gradient("grad_additional_key", p, x, x.ak, g.additional_key, dO);
      expect_gradient("grad_additional_value", p, x, x.av, g.additional_value, dO);
    }
  }
  EXPECT_GT(with_extra, 3);  // the sweep really covered additional KV
}

}  // namespace
}  // namespace natten
