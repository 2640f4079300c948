// Which SIMD targets the cpu backend's kernels can run on this machine, and a switch that makes
// them run on a lower one: tests use it to prove every compiled path (AVX2, SSE4, emulation)
// on a machine whose best target is AVX-512.
#pragma once

#include <string>
#include <vector>

namespace natten::cpu {

// Targets compiled in and supported by this CPU, best first (e.g. "AVX3", "AVX2", "SSE4", "SCALAR").
std::vector<std::string> usable_simd_targets();
// The target the kernels dispatch to now: the best usable one, or the one forced below.
std::string simd_target();
// Makes the kernels dispatch to `name` (one of usable_simd_targets()); "" restores the best.
// Not thread-safe: call it while no kernel runs.
void force_simd_target(const std::string& name);

}  // namespace natten::cpu
