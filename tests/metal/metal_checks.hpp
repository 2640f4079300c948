// Comparisons shared by the emulated-kernel tests: tolerances per dtype and tensor as natten-check
// uses them, the thread orders every sweep cycles through, and the sweep limits that keep the
// emulation quick (it also runs in the sanitizer build).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "emu/executor.hpp"
#include "natten/parity/compare.hpp"
#include "support/random_problem.hpp"

namespace natten::metal {

inline constexpr natten_emu::ThreadOrder kOrders[] = {natten_emu::ThreadOrder::forward,
                                                      natten_emu::ThreadOrder::reverse,
                                                      natten_emu::ThreadOrder::shuffled};

inline natten::testing::SweepLimits small_limits() {
  natten::testing::SweepLimits lim;
  lim.max_tokens = 40;
  lim.max_dim = 10;
  return lim;
}

// `ours` within the default tolerance of `ref` for this dtype and tensor (equal infinities match).
inline void expect_close(const Tensor& ours, const Tensor& ref, DType dtype, const std::string& tensor,
                         const char* ref_name = "reference") {
  const TensorComparison c = compare_tensors(ours, ref, default_tolerance(dtype, tensor));
  EXPECT_EQ(c.failures, 0) << tensor << ": " << c.failures << " of " << c.count << " outside tolerance, max abs error "
                           << c.max_abs_error << " at " << c.worst_index << " (ours " << c.worst_ours << ", "
                           << ref_name << " " << c.worst_reference << ")";
}

// Every expected tensor of an upstream case; float32 tensors named in `bounded` are also held to
// max abs error <= 1e-5 (the bound on forward results).
inline void expect_upstream_parity(const std::map<std::string, Tensor>& ours,
                                   const std::map<std::string, Tensor>& expected, DType dtype,
                                   const std::set<std::string>& bounded) {
  for (const auto& [tensor, want] : expected) {
    ASSERT_TRUE(ours.count(tensor)) << tensor;
    expect_close(ours.at(tensor), want, dtype, tensor, "upstream");
    if (dtype == DType::f32 && bounded.count(tensor)) {
      EXPECT_LE(compare_tensors(ours.at(tensor), want, default_tolerance(dtype, tensor)).max_abs_error, 1e-5) << tensor;
    }
  }
}

}  // namespace natten::metal
