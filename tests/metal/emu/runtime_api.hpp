// The interface between emulated kernels (MSL compiled as C++ by clang-16) and the threadgroup
// executor (executor.cpp, compiled with the project's compiler). Plain C++ types only, so the two
// sides may come from different compilers.
#pragma once

#include <cstddef>

namespace natten_emu {

constexpr int kMaxBuffers = 31;            // Metal's buffer argument table
constexpr int kMaxThreadgroupBuffers = 8;  // [[threadgroup(n)]] indices the emulator serves
constexpr unsigned kSimdWidth = 32;        // Apple GPUs

// What one emulated thread sees: the kernel's bound resources and its position attributes.
struct Invocation {
  void* buffers[kMaxBuffers];
  void* threadgroup_memory[kMaxThreadgroupBuffers];
  unsigned threadgroup_position[3];
  unsigned threadgroups_per_grid[3];
  unsigned threads_per_threadgroup[3];
  unsigned thread_index;  // linear index in the threadgroup
  unsigned simd_lane;
  unsigned simdgroup;
  unsigned simd_size;  // lanes in this thread's simdgroup (the last one may be partial)
};

using KernelEntry = void (*)(const Invocation&);

struct KernelInfo {
  const char* name;
  KernelEntry entry;
  const char* source;  // the .metal file that defines it
};

// Blocks the calling thread until every thread of its threadgroup reaches a barrier; all of them
// must reach the same one (same source line), else the dispatch fails.
void barrier(const char* file, int line);

// Lockstep collective of a simdgroup: every lane deposits `size` bytes and blocks until all lanes
// of its simdgroup have arrived at the same collective. Returns the lanes' values (lane-major,
// `size` bytes each, valid until the lane's next collective) and their count; the caller combines
// them and then calls collective_leave().
const void* collective_enter(const void* value, std::size_t size, const char* op, const char* file, int line,
                             unsigned* lanes);
void collective_leave();

}  // namespace natten_emu
