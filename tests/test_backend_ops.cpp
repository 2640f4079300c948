// One harness checking every op of every backend against the reference backend on randomized
// sweeps (in the spirit of ggml's test-backend-ops). A backend that declines a problem must say
// why; it may not return a wrong answer.
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>

#include "natten/backend.hpp"
#include "natten/parity/compare.hpp"
#include "support/random_problem.hpp"

namespace natten {
namespace {

struct OpCase {
  const char* name;
  Op op;
  // Runs `op` on `backend` and on the reference for one random problem; returns tensors to compare
  // (ours, reference) by name, or an empty map when the backend declines the problem.
  std::function<std::map<std::string, std::pair<Tensor, Tensor>>(Backend&, Backend&, const Problem&, std::mt19937_64&)> run;
};

std::map<std::string, std::pair<Tensor, Tensor>> run_forward(Backend& b, Backend& ref, const Problem& p,
                                                             std::mt19937_64& rng) {
  const NAInputs in = testing::random_inputs(rng, p);
  const ForwardResult ours = na_forward(b, p.params, in);
  const ForwardResult want = na_forward(ref, p.params, in);
  return {{"output", {ours.output, want.output}}, {"logsumexp", {ours.lse, want.lse}}};
}

std::map<std::string, std::pair<Tensor, Tensor>> run_backward(Backend& b, Backend& ref, const Problem& p,
                                                              std::mt19937_64& rng) {
  const NAInputs in = testing::random_inputs(rng, p);
  const ForwardResult fwd = na_forward(ref, p.params, in);
  const Tensor d_out = testing::random_tensor(rng, p.output_shape(), p.dtype);
  const Gradients ours = na_backward(b, p.params, in, fwd.output, fwd.lse, d_out);
  const Gradients want = na_backward(ref, p.params, in, fwd.output, fwd.lse, d_out);
  std::map<std::string, std::pair<Tensor, Tensor>> r{{"grad_query", {ours.query, want.query}},
                                                     {"grad_key", {ours.key, want.key}},
                                                     {"grad_value", {ours.value, want.value}}};
  if (p.extra_kv > 0) {
    r["grad_additional_key"] = {ours.additional_key, want.additional_key};
    r["grad_additional_value"] = {ours.additional_value, want.additional_value};
  }
  return r;
}

const OpCase kOps[] = {
    {"forward", Op::forward, &run_forward},
    {"backward", Op::backward, &run_backward},
};

int sweep_size() { return std::getenv("NATTEN_TEST_QUICK") != nullptr ? 12 : 60; }

struct Param {
  std::string backend;
  DType dtype;
};

class BackendOps : public ::testing::TestWithParam<Param> {};

TEST_P(BackendOps, EveryOpMatchesReference) {
  const Param param = GetParam();
  std::unique_ptr<Backend> backend = make_backend(param.backend);
  std::unique_ptr<Backend> ref = make_backend("reference");
  std::mt19937_64 rng(2024);
  for (const OpCase& op : kOps) {
    int ran = 0;
    for (int iter = 0; iter < sweep_size(); ++iter) {
      const Problem p = testing::random_problem(rng, param.dtype);
      const std::string why = backend->why_unsupported(op.op, p);
      if (!why.empty()) continue;  // declining is allowed, with a reason; counted below
      ++ran;
      for (const auto& [tensor, pair] : op.run(*backend, *ref, p, rng)) {
        const TensorComparison c = compare_tensors(pair.first, pair.second, default_tolerance(param.dtype, tensor));
        ASSERT_EQ(c.failures, 0) << op.name << " " << tensor << " on " << p.str() << ": max abs error "
                                 << c.max_abs_error << " at " << c.worst_index << " (ours " << c.worst_ours
                                 << ", reference " << c.worst_reference << ")";
      }
    }
    // A backend that claims an op must run it on most random problems.
    EXPECT_GT(ran, sweep_size() / 2) << param.backend << " declined most " << op.name << " problems";
  }
}

std::vector<Param> params() {
  std::vector<Param> out;
  for (const std::string& b : available_backends()) {
    if (b == "reference") continue;  // the oracle itself is checked against brute force elsewhere
    for (DType t : {DType::f32, DType::f16, DType::bf16}) out.push_back({b, t});
  }
  return out;
}

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BackendOps);
INSTANTIATE_TEST_SUITE_P(Available, BackendOps, ::testing::ValuesIn(params()), [](const auto& param_info) {
  return param_info.param.backend + "_" + std::string(dtype_name(param_info.param.dtype));
});

}  // namespace
}  // namespace natten
