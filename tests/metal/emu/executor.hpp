// Runs an emulated kernel dispatch on the CPU: every threadgroup's threads are cooperative fibers
// with real barrier and simdgroup-collective semantics.
//
// What it checks while running (each failure throws DispatchError naming kernel, threadgroup,
// thread and source line):
//   - barrier divergence: a thread finishes, or waits at a different barrier, while others wait;
//   - collectives in divergent control flow: a simdgroup whose lanes are not all at the same
//     simd_* call (some finished, at a barrier, or at another collective);
//   - deadlock-free progress (a fiber that never yields cannot be caught; kernels have no spins).
// Threads run in forward, reverse or shuffled order (reshuffled at every scheduling round), and
// threadgroups in the same order, so a missing barrier shows up as a read of stale or poisoned
// threadgroup memory: every threadgroup buffer starts filled with 0xFF bytes (NaN as float).
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime_api.hpp"

namespace natten_emu {

enum class ThreadOrder { forward, reverse, shuffled };
const char* order_name(ThreadOrder o);

class DispatchError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Dispatch {
  std::string kernel;  // for messages
  KernelEntry entry = nullptr;
  void* buffers[kMaxBuffers] = {};
  std::vector<std::size_t> threadgroup_bytes;  // by [[threadgroup(n)]] index
  unsigned threadgroups[3] = {1, 1, 1};
  unsigned threads[3] = {1, 1, 1};
  ThreadOrder order = ThreadOrder::forward;
  std::uint64_t seed = 1;
};

void run(const Dispatch& d);

// The kernels compiled from shaders/*.metal (generated tables, see tests/metal/CMakeLists.txt).
const std::vector<KernelInfo>& emulated_kernels();
KernelEntry find_kernel(const std::string& name);  // nullptr when unknown

}  // namespace natten_emu
