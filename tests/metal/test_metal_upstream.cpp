// The emulated Metal kernels on upstream NATTEN's own outputs, through natten-check's op table and
// default tolerances: the fused op and the split ops on every reference file
// (tests/data/upstream, and ../shared/natten-refs when present; tests/support/ref_files.hpp).
// Cases too large to emulate quickly are named and skipped (they are covered on hardware by
// natten-check, and here by the same kernels on smaller shapes).
#include <gtest/gtest.h>

#include "emulated_executor.hpp"
#include "metal_checks.hpp"
#include "natten/backend.hpp"
#include "natten/core/neighborhood.hpp"
#include "natten/io/ref_case.hpp"
#include "natten/op/op_table.hpp"
#include "support/ref_files.hpp"

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
  const std::vector<std::string> files = natten::testing::upstream_ref_files(natten::testing::RefKind::fused);
  ASSERT_GE(files.size(), 2u);  // the shipped ones at least
  auto metal = emulation::make_emulated_backend(natten_emu::ThreadOrder::shuffled, 11);
  const auto too_large = [](const ParityCase& c) {
    const RefCase& r = std::get<RefCase>(c.data);
    const Problem p = validate_forward(r.params, r.inputs);
    return attended_pairs(p) * p.batch * p.heads_q > kMaxEmulatedPairs;
  };
  for (const std::string& path : files) {
    SCOPED_TRACE(path);
    const natten::testing::UpstreamRun run = natten::testing::expect_upstream_file(*metal, path, {"output"}, too_large);
    EXPECT_GE(run.checked, 10);
    if (!run.skipped.empty())
      std::printf("[   NOTE   ] %s: too large to emulate here, not checked:%s\n", path.c_str(), run.skipped.c_str());
  }
}

// Every na_qk / na_av case of upstream NATTEN 0.14.6 (the shared file is heads-first: exercises the
// permute on load and the backend's contiguous inputs), forward and backward. The cases are small
// (<= 2 x 3 x 15 x 14 tokens), so all of them run, also in the sanitizer build.
TEST(MetalUpstreamParity, EmulatedSplitKernelsMatchUpstream) {
  const std::vector<std::string> files = natten::testing::upstream_ref_files(natten::testing::RefKind::split);
  ASSERT_GE(files.size(), 1u);  // the shipped one at least
  auto metal = emulation::make_emulated_backend(natten_emu::ThreadOrder::reverse, 12);
  const auto unexpected = [](const ParityCase& c) {
    EXPECT_TRUE(c.op_name() == "na_qk" || c.op_name() == "na_av") << c.op_name();
    // Forward and backward in every case: its expected gradients are present.
    EXPECT_TRUE(c.expected().count(c.op_name() == "na_qk" ? "grad_query" : "grad_attention")) << c.name();
    return false;
  };
  for (const std::string& path : files) {
    SCOPED_TRACE(path);
    EXPECT_GE(natten::testing::expect_upstream_file(*metal, path, {"attention", "output"}, unexpected).checked, 10);
  }
}

}  // namespace
}  // namespace natten::metal
