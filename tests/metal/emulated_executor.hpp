// The Metal backend with its GPU replaced by the shader emulator: the same MetalBackend, the same
// launch plans, the kernels compiled from shaders/*.metal running on CPU fibers.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "emu/executor.hpp"
#include "natten/backend/metal/metal_backend.hpp"

namespace natten::metal::emulation {

class EmulatedExecutor final : public KernelExecutor {
 public:
  explicit EmulatedExecutor(natten_emu::ThreadOrder order, std::uint64_t seed = 1) : order_(order), seed_(seed) {}
  std::string device_name() const override;
  // Copies every buffer into a guarded allocation (outputs and scratch poisoned with 0xFF, i.e.
  // NaN), runs the launches, fails if a guard byte changed (an out-of-bounds write), and copies
  // the written buffers back.
  void execute(const LaunchSequence& seq, const BufferTable& buffers) override;

 private:
  natten_emu::ThreadOrder order_;
  std::uint64_t seed_;
};

std::unique_ptr<MetalBackend> make_emulated_backend(natten_emu::ThreadOrder order, std::uint64_t seed = 1,
                                                    PlanOptions options = {});

// Kernels launched by this process so far (the coverage check reads it at exit).
const std::set<std::string>& launched_kernels();

// Checks a plan's bindings for internal consistency (unique indices within Metal's table, every
// role present). Throws std::runtime_error naming the problem.
void check_plan_shape(const LaunchPlan& plan);

}  // namespace natten::metal::emulation
