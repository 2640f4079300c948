// Every validation rule fires with a message naming the argument and the value.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "natten/backend.hpp"
#include "natten/core/error.hpp"

namespace natten {
namespace {

ProblemSpec good_spec() {
  ProblemSpec s;
  s.params = NAParams::uniform(2, 3);
  s.spatial = {8, 9, 1};
  s.heads_q = 4;
  s.heads_kv = 2;
  s.dim = 8;
  return s;
}

NAInputs inputs_for(const Problem& p) {
  NAInputs in;
  in.query = Tensor::zeros(p.query_shape(), p.dtype);
  in.key = Tensor::zeros(p.kv_shape(p.dim), p.dtype);
  in.value = Tensor::zeros(p.kv_shape(p.dim_v), p.dtype);
  return in;
}

void expect_error(const std::function<void()>& f, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning '" << fragment << "'";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(fragment), std::string::npos) << "message: " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "multi-line message: " << msg;
  }
}

void expect_spec_error(const std::function<void(ProblemSpec&)>& mutate, const std::string& fragment) {
  ProblemSpec s = good_spec();
  mutate(s);
  expect_error([&] { make_problem(s); }, fragment);
}

TEST(Validation, GoodSpecPasses) { EXPECT_NO_THROW(make_problem(good_spec())); }

TEST(Validation, ParameterRules) {
  expect_spec_error([](ProblemSpec& s) { s.params.rank = 4; }, "rank: 4");
  expect_spec_error([](ProblemSpec& s) { s.params.rank = 0; }, "rank: 0");
  expect_spec_error([](ProblemSpec& s) { s.params.kernel[1] = 1; }, "kernel_size[1] = 1: must be >= 2");
  expect_spec_error([](ProblemSpec& s) { s.params.kernel[0] = 9; }, "kernel_size[0] * dilation[0] = 9 * 1 exceeds input size 8");
  expect_spec_error([](ProblemSpec& s) { s.params.dilation[1] = 4; }, "kernel_size[1] * dilation[1] = 3 * 4 exceeds input size 9");
  expect_spec_error([](ProblemSpec& s) { s.params.dilation[0] = 0; }, "dilation[0] = 0");
  expect_spec_error([](ProblemSpec& s) { s.params.stride[1] = 4; }, "stride[1] = 4: must be <= kernel_size[1] = 3");
  expect_spec_error([](ProblemSpec& s) { s.params.stride[0] = 0; }, "stride[0] = 0");
  expect_spec_error([](ProblemSpec& s) { s.params.scale = 0.0; }, "scale = 0");
  expect_spec_error([](ProblemSpec& s) { s.params.scale = INFINITY; }, "scale = inf");
}

TEST(Validation, ShapeRules) {
  expect_spec_error([](ProblemSpec& s) { s.heads_q = 3; }, "query heads 3 is not a multiple of key/value heads 2");
  expect_spec_error([](ProblemSpec& s) { s.batch = 0; }, "batch size is 0");
  expect_spec_error([](ProblemSpec& s) { s.dim = 0; }, "head dim is 0");
  expect_spec_error([](ProblemSpec& s) { s.spatial[0] = 0; }, "input size along axis 0 is 0");
  expect_spec_error([](ProblemSpec& s) { s.spatial = {1 << 20, 1 << 20, 1}; s.heads_q = 64; s.heads_kv = 64; },
                    "more than");
  expect_spec_error([](ProblemSpec& s) { s.spatial[1] = std::int64_t{1} << 40; }, "too large");
}

TEST(Validation, NotErrorsUpstream) {
  // Even K with causal, stride with causal or dilation, L % d != 0, L % s != 0 are all fine.
  ProblemSpec s = good_spec();
  s.params.kernel = {4, 2, 1};
  s.params.causal = {true, true, false};
  s.params.stride = {3, 2, 1};
  s.params.dilation = {2, 3, 1};
  EXPECT_NO_THROW(make_problem(s));
}

TEST(Validation, TensorRules) {
  const Problem p = make_problem(good_spec());
  const NAParams params = p.params;
  auto with = [&](const std::function<void(NAInputs&)>& mutate) {
    NAInputs in = inputs_for(p);
    mutate(in);
    return in;
  };
  expect_error([&] { validate_forward(params, with([](NAInputs& in) { in.key = Tensor(); })); }, "query, key and value are required");
  expect_error([&] { validate_forward(params, with([](NAInputs& in) { in.query = Tensor::zeros({1, 8, 4, 8}, DType::f32); })); },
               "query: expected 5 axes");
  expect_error([&] { validate_forward(params, with([](NAInputs& in) { in.key = Tensor::zeros({2, 8, 9, 2, 8}, DType::f32); })); },
               "batch: query 1, key 2");
  expect_error([&] { validate_forward(params, with([](NAInputs& in) { in.value = Tensor::zeros({1, 8, 8, 2, 8}, DType::f32); })); },
               "spatial size along axis 1");
  expect_error([&] { validate_forward(params, with([](NAInputs& in) { in.key = Tensor::zeros({1, 8, 9, 2, 4}, DType::f32); })); },
               "head dim: query 8 and key 4 differ");
  expect_error([&] { validate_forward(params, with([](NAInputs& in) { in.value = Tensor::zeros({1, 8, 9, 1, 8}, DType::f32); })); },
               "heads: key 2 and value 1 differ");
  expect_error([&] { validate_forward(params, with([](NAInputs& in) { in.value = in.value.to(DType::f16); })); },
               "value: dtype float16 differs from query dtype float32");
  expect_error([&] { validate_forward(params, with([](NAInputs& in) { in.additional_key = Tensor::zeros({1, 2, 2, 8}, DType::f32); })); },
               "additional_key and additional_value must be given together");
  expect_error([&] {
    validate_forward(params, with([](NAInputs& in) {
      in.additional_key = Tensor::zeros({1, 2, 2, 8}, DType::f32);
      in.additional_value = Tensor::zeros({1, 3, 2, 8}, DType::f32);
    }));
  }, "additional_value: expected shape [1, 2, 2, 8], got [1, 3, 2, 8]");
  // Value head dim may differ from the query/key head dim.
  EXPECT_NO_THROW(validate_forward(params, with([](NAInputs& in) { in.value = Tensor::zeros({1, 8, 9, 2, 5}, DType::f32); })));
}

TEST(Validation, BackwardRules) {
  const Problem p = make_problem(good_spec());
  const NAInputs in = inputs_for(p);
  const Tensor out = Tensor::zeros(p.output_shape(), p.dtype);
  const Tensor lse = Tensor::zeros(p.lse_shape(), DType::f32);
  EXPECT_NO_THROW(validate_backward(p.params, in, out, lse, out));
  expect_error([&] { validate_backward(p.params, in, out, Tensor::zeros(p.lse_shape(), DType::f16), out); },
               "logsumexp: dtype float16 must be float32");
  expect_error([&] { validate_backward(p.params, in, out, Tensor::zeros({1, 8, 9}, DType::f32), out); },
               "logsumexp: expected shape [1, 8, 9, 4]");
  expect_error([&] { validate_backward(p.params, in, out, lse, Tensor::zeros({1, 8, 9, 4, 7}, DType::f32)); },
               "grad_output: expected shape");
  expect_error([&] { validate_backward(p.params, in, out, lse, Tensor()); }, "backward needs output, logsumexp and grad_output");
}

TEST(Registry, UnknownBackendNamesTheKnownOnes) {
  expect_error([] { make_backend("cuda"); }, "backend: unknown 'cuda' (known: reference");
  const auto names = available_backends();
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names.front(), "reference");
  for (const BackendInfo& b : list_backends()) {
    if (!b.available) {
      EXPECT_FALSE(b.unavailable_reason.empty()) << b.name;
    }
  }
}

}  // namespace
}  // namespace natten
