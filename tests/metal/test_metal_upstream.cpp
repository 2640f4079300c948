// The emulated Metal kernels on upstream NATTEN's own outputs (../shared/natten-refs, read in
// place), through natten-check's op table and default tolerances: the fused op on
// natten-refs-v1.h5 and the split ops on natten-split-refs-v1.h5. Cases too large to emulate
// quickly are named and skipped (they are covered on hardware by natten-check, and here by the
// same kernels on smaller shapes).
#include <gtest/gtest.h>

#include "emulated_executor.hpp"
#include "metal_checks.hpp"
#include "natten/backend.hpp"
#include "natten/core/neighborhood.hpp"
#include "natten/io/ref_case.hpp"
#include "natten/parity/case_ops.hpp"
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
  auto metal = emulation::make_emulated_backend(natten_emu::ThreadOrder::shuffled, 11);
  const auto too_large = [](const ParityCase& c) {
    const RefCase& r = std::get<RefCase>(c.data);
    const Problem p = validate_forward(r.params, r.inputs);
    return attended_pairs(p) * p.batch * p.heads_q > kMaxEmulatedPairs;
  };
  const natten::testing::UpstreamRun run = natten::testing::expect_upstream_file(*metal, path, {"output"}, too_large);
  EXPECT_GE(run.checked, 10);
  if (!run.skipped.empty()) std::printf("[   NOTE   ] too large to emulate here, not checked:%s\n", run.skipped.c_str());
}

// Every na_qk / na_av case of upstream NATTEN 0.14.6 (heads-first in the file: exercises the
// permute on load and the backend's contiguous inputs), forward and backward. The cases are small
// (<= 2 x 3 x 15 x 14 tokens), so all of them run, also in the sanitizer build.
TEST(MetalUpstreamParity, EmulatedSplitKernelsMatchUpstream) {
  const std::string path = natten::testing::shared_ref_file("natten-split-refs-v1.h5");
  if (path.empty()) GTEST_SKIP() << "natten-split-refs-v1.h5 not found under " << NATTEN_REFS_DIR;
  auto metal = emulation::make_emulated_backend(natten_emu::ThreadOrder::reverse, 12);
  const auto unexpected = [](const ParityCase& c) {
    EXPECT_TRUE(c.op_name() == "na_qk" || c.op_name() == "na_av") << c.op_name();
    // Forward and backward in every case: its expected gradients are present.
    EXPECT_TRUE(c.expected().count(c.op_name() == "na_qk" ? "grad_query" : "grad_attention")) << c.name();
    return false;
  };
  EXPECT_GE(natten::testing::expect_upstream_file(*metal, path, {"attention", "output"}, unexpected).checked, 10);
}

}  // namespace
}  // namespace natten::metal
