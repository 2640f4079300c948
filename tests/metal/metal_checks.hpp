// Comparisons shared by the emulated-kernel tests: tolerances per dtype and tensor as natten-check
// uses them, the thread orders every sweep cycles through, and the sweep limits that keep the
// emulation quick (it also runs in the sanitizer build).
#pragma once

#include <gtest/gtest.h>

#include "emu/executor.hpp"
#include "natten/parity/compare.hpp"
#include "support/random_problem.hpp"
#include "support/upstream_parity.hpp"

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

// Comparisons with natten-check's default tolerances (tests/support/upstream_parity.hpp).
using natten::testing::expect_close;
using natten::testing::expect_upstream_parity;

}  // namespace natten::metal
