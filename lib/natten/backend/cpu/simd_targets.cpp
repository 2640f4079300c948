// The SIMD-target switch of simd_targets.hpp. Highway keeps one process-wide choice of target
// for every HWY_DYNAMIC_DISPATCH, so restricting the supported set here redirects every kernel
// family at once. HWY_TARGETS (the targets compiled in) is the same in every kernel file: they
// are all built with natten_hwy's flags (root CMakeLists.txt).
#include "natten/backend/cpu/simd_targets.hpp"

#include <cstdint>

#include <hwy/highway.h>
#include <hwy/targets.h>

#include "natten/core/error.hpp"

namespace natten::cpu {
namespace {

// Targets compiled in and supported here, as bits; the lowest set bit is the best target.
std::int64_t usable_target_bits() { return hwy::SupportedTargets() & HWY_TARGETS; }

}  // namespace

std::vector<std::string> usable_simd_targets() {
  std::vector<std::string> out;
  for (std::int64_t t = usable_target_bits(); t != 0; t &= t - 1) out.push_back(hwy::TargetName(t & -t));
  return out;
}

void force_simd_target(const std::string& name) {
  hwy::SetSupportedTargetsForTest(0);  // back to every supported target
  if (name.empty()) return;
  for (std::int64_t t = usable_target_bits(); t != 0; t &= t - 1) {
    if (name == hwy::TargetName(t & -t)) {
      hwy::SetSupportedTargetsForTest(t & -t);
      return;
    }
  }
  fail("cpu backend: SIMD target '{}' is not usable here", name);
}

std::string simd_target() {
  const std::int64_t usable = usable_target_bits();
  return hwy::TargetName(usable & -usable);
}

}  // namespace natten::cpu
