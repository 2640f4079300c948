// Shared pieces of the tests that run on every available backend.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <string>

#include "natten/backend.hpp"
#include "natten/core/error.hpp"

namespace natten::testing {

// Parameterized over available_backends(); a test skips the ops its backend does not implement:
//   void SetUp() override { SKIP_UNLESS_IMPLEMENTED(Op::merge_forward, Op::merge_backward); }
class BackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  // Empty when the backend implements every op; otherwise a line naming the first missing one.
  std::string missing(std::initializer_list<Op> ops) const {
    for (Op op : ops) {
      if (!backend_->implements(op)) return "backend " + GetParam() + " does not implement " + std::string(op_name(op));
    }
    return {};
  }
  std::unique_ptr<Backend> backend_ = make_backend(GetParam());
};

#define SKIP_UNLESS_IMPLEMENTED(...)                                         \
  do {                                                                      \
    if (const std::string why = missing({__VA_ARGS__}); !why.empty()) GTEST_SKIP() << why; \
  } while (0)

#define INSTANTIATE_FOR_ALL_BACKENDS(suite)                                                 \
  INSTANTIATE_TEST_SUITE_P(AllBackends, suite, ::testing::ValuesIn(::natten::available_backends()), \
                           [](const auto& param_info) { return param_info.param; })

// Runs f and expects natten::Error whose message contains `needle`.
template <typename F>
void expect_error_containing(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error, expected one containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

}  // namespace natten::testing
