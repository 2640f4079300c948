// Parity of every registered backend with upstream NATTEN on every fused-op reference file
// (tests/data/upstream, and ../shared/natten-refs when present; tests/support/ref_files.hpp),
// through natten-check's op table and default tolerances per dtype.
#include <gtest/gtest.h>

#include "natten/backend.hpp"
#include "support/ref_files.hpp"
#include "support/upstream_parity.hpp"

namespace natten {
namespace {

class UpstreamParity : public ::testing::TestWithParam<std::string> {};

TEST_P(UpstreamParity, EveryCaseMatchesUpstream) {
  const std::vector<std::string> files = testing::upstream_ref_files(testing::RefKind::fused);
  ASSERT_GE(files.size(), 2u);  // the shipped ones at least
  std::unique_ptr<Backend> backend = make_backend(GetParam());
  for (const std::string& path : files) {
    SCOPED_TRACE(path);
    // The backward is fed upstream's own output and logsumexp (case_ops), isolating it from forward error.
    EXPECT_GE(testing::expect_upstream_file(*backend, path, {"output"}).checked, 10);
  }
}

INSTANTIATE_TEST_SUITE_P(AllBackends, UpstreamParity, ::testing::ValuesIn(available_backends()),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace natten
