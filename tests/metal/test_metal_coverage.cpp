// Fails the emulation suite when a kernel defined in shaders/ was never launched by it: every
// kernel must be exercised (and the tests that launch it compare its results with the reference).
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "emu/executor.hpp"
#include "emulated_executor.hpp"

namespace {

class KernelCoverage : public ::testing::Environment {
 public:
  void TearDown() override {
    // A filtered run exercises a subset on purpose.
    if (::testing::GTEST_FLAG(filter) != "*") return;
    std::string missing;
    int shader_kernels = 0;
    for (const natten_emu::KernelInfo& k : natten_emu::emulated_kernels()) {
      if (std::strstr(k.source, "/shaders/") == nullptr) continue;  // emulator self-test kernels
      ++shader_kernels;
      if (natten::metal::emulation::launched_kernels().count(k.name) == 0) missing += std::string(" ") + k.name;
    }
    EXPECT_GT(shader_kernels, 0) << "no kernels were compiled from shaders/";
    EXPECT_TRUE(missing.empty()) << "kernels in shaders/ that no test launched:" << missing;
  }
};

const auto* const kRegistered = ::testing::AddGlobalTestEnvironment(new KernelCoverage);

}  // namespace
