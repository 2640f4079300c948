// Parity of every registered backend with upstream NATTEN, on ../shared/natten-refs/natten-refs-v1.h5
// (read in place), through natten-check's op table and default tolerances per dtype.
#include <gtest/gtest.h>

#include "natten/backend.hpp"
#include "support/random_problem.hpp"
#include "support/upstream_parity.hpp"

namespace natten {
namespace {

class UpstreamParity : public ::testing::TestWithParam<std::string> {};

TEST_P(UpstreamParity, EveryCaseMatchesUpstream) {
  const std::string path = testing::shared_ref_file("natten-refs-v1.h5");
  if (path.empty()) GTEST_SKIP() << "natten-refs-v1.h5 not found under " << NATTEN_REFS_DIR << "; skipping parity";
  std::unique_ptr<Backend> backend = make_backend(GetParam());
  // The backward is fed upstream's own output and logsumexp (case_ops), isolating it from forward error.
  EXPECT_GE(testing::expect_upstream_file(*backend, path, {"output"}).checked, 10);
}

INSTANTIATE_TEST_SUITE_P(AllBackends, UpstreamParity, ::testing::ValuesIn(available_backends()),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace natten
