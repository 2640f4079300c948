// Parity of every registered backend with upstream NATTEN, on ../shared/natten-refs/natten-refs-v1.h5
// (read in place). Tolerances per dtype are those natten-check uses by default.
#include <gtest/gtest.h>

#include "natten/backend.hpp"
#include "natten/io/ref_case.hpp"
#include "natten/parity/compare.hpp"
#include "support/random_problem.hpp"

namespace natten {
namespace {

class UpstreamParity : public ::testing::TestWithParam<std::string> {};

TEST_P(UpstreamParity, EveryCaseMatchesUpstream) {
  const std::string path = testing::shared_ref_file("natten-refs-v1.h5");
  if (path.empty()) GTEST_SKIP() << "natten-refs-v1.h5 not found under " << NATTEN_REFS_DIR << "; skipping parity";
  const h5::File file = h5::File::open(path);
  const h5::Group root = file.root();
  const std::vector<std::string> cases = list_ref_cases(root);
  ASSERT_GE(cases.size(), 10u);
  std::unique_ptr<Backend> backend = make_backend(GetParam());
  for (const std::string& name : cases) {
    SCOPED_TRACE(name);
    const RefCase c = load_ref_case(root, name);
    const ForwardResult fwd = na_forward(*backend, c.params, c.inputs);
    std::map<std::string, Tensor> ours{{"output", fwd.output}, {"logsumexp", fwd.lse}};
    if (c.has_backward()) {
      // The backward consumes upstream's own output and logsumexp, isolating it from forward error.
      const Gradients g = na_backward(*backend, c.params, c.inputs, c.expected.at("output").to(c.dtype),
                                      c.expected.at("logsumexp"), c.grad_output);
      ours["grad_query"] = g.query;
      ours["grad_key"] = g.key;
      ours["grad_value"] = g.value;
      if (g.additional_key.defined()) {
        ours["grad_additional_key"] = g.additional_key;
        ours["grad_additional_value"] = g.additional_value;
      }
    }
    for (const auto& [tensor, expected] : c.expected) {
      ASSERT_TRUE(ours.count(tensor)) << tensor;
      const Tolerance tol = default_tolerance(c.dtype, tensor);
      const TensorComparison cmp = compare_tensors(ours.at(tensor), expected, tol);
      EXPECT_EQ(cmp.failures, 0) << tensor << ": max abs error " << cmp.max_abs_error << " at " << cmp.worst_index
                                 << " (ours " << cmp.worst_ours << ", upstream " << cmp.worst_reference << ")";
      if (c.dtype == DType::f32 && tensor == "output") {
        EXPECT_LE(cmp.max_abs_error, 1e-5);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllBackends, UpstreamParity, ::testing::ValuesIn(available_backends()),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace natten
