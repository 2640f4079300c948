// The emulated Metal kernels on upstream NATTEN's own outputs (../shared/natten-refs, read in
// place), with natten-check's default tolerances. Cases too large to emulate quickly are named and
// skipped (they are covered on hardware by natten-check, and here by the same kernels on smaller
// shapes).
#include <gtest/gtest.h>

#include "emulated_executor.hpp"
#include "natten/backend.hpp"
#include "natten/core/neighborhood.hpp"
#include "natten/io/ref_case.hpp"
#include "natten/parity/compare.hpp"
#include "support/random_problem.hpp"

namespace natten::metal {
namespace {

// Attended (query, key) pairs times heads the emulator runs per case in a few seconds at most
// (the sanitizer build is ~10x slower: there the 32x32 case is left to the optimized build).
#if defined(__SANITIZE_ADDRESS__)
constexpr std::int64_t kMaxEmulatedPairs = 40000;
#else
constexpr std::int64_t kMaxEmulatedPairs = 250000;
#endif

TEST(MetalUpstreamParity, EmulatedKernelsMatchUpstream) {
  const std::string path = natten::testing::shared_ref_file("natten-refs-v1.h5");
  if (path.empty()) GTEST_SKIP() << "natten-refs-v1.h5 not found under " << NATTEN_REFS_DIR;
  const h5::File file = h5::File::open(path);
  const h5::Group root = file.root();
  auto metal = emulation::make_emulated_backend(natten_emu::ThreadOrder::shuffled, 11);
  int checked = 0;
  std::string skipped;
  for (const std::string& name : list_ref_cases(root)) {
    SCOPED_TRACE(name);
    const RefCase c = load_ref_case(root, name);
    const Problem p = validate_forward(c.params, c.inputs);
    if (attended_pairs(p) * p.batch * p.heads_q > kMaxEmulatedPairs) {
      skipped += " " + name;
      continue;
    }
    ++checked;
    const ForwardResult fwd = na_forward(*metal, c.params, c.inputs);
    std::map<std::string, Tensor> ours{{"output", fwd.output}, {"logsumexp", fwd.lse}};
    if (c.has_backward()) {
      const Gradients g = na_backward(*metal, c.params, c.inputs, c.expected.at("output").to(c.dtype),
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
      const TensorComparison cmp = compare_tensors(ours.at(tensor), expected, default_tolerance(c.dtype, tensor));
      EXPECT_EQ(cmp.failures, 0) << tensor << ": max abs error " << cmp.max_abs_error << " at " << cmp.worst_index
                                 << " (ours " << cmp.worst_ours << ", upstream " << cmp.worst_reference << ")";
      if (c.dtype == DType::f32 && tensor == "output") {
        EXPECT_LE(cmp.max_abs_error, 1e-5);
      }
    }
  }
  EXPECT_GE(checked, 10);
  if (!skipped.empty()) std::printf("[   NOTE   ] too large to emulate here, not checked:%s\n", skipped.c_str());
}

}  // namespace
}  // namespace natten::metal
