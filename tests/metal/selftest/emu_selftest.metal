// Kernels for the emulator's own tests (tests/metal/test_emulator_selftest.cpp): correct uses of
// the collectives, and deliberate mistakes the executor must catch. Not part of the library.
#include <metal_stdlib>
using namespace metal;

// out[t] = {simd_sum, simd_max, simd_shuffle(from lane 31 - lane)} of in[t] within its simdgroup.
kernel void selftest_collectives(device const float* in [[buffer(0)]], device float* out [[buffer(1)]],
                                 uint tid [[thread_index_in_threadgroup]], uint lane [[thread_index_in_simdgroup]]) {
  const float x = in[tid];
  out[3 * tid + 0] = simd_sum(x);
  out[3 * tid + 1] = simd_max(x);
  out[3 * tid + 2] = simd_shuffle(x, ushort(31 - lane));
}

// Each thread reads its neighbour's slot after a barrier: correct in every order.
kernel void selftest_neighbour_with_barrier(device float* out [[buffer(0)]], threadgroup float* slots [[threadgroup(0)]],
                                            uint tid [[thread_index_in_threadgroup]],
                                            uint3 threads [[threads_per_threadgroup]]) {
  slots[tid] = float(tid);
  threadgroup_barrier(mem_flags::mem_threadgroup);
  out[tid] = slots[(tid + 1) % threads.x];
}

// The same without the barrier: a thread runs until it blocks, so in some order a thread reads its
// neighbour's slot before the neighbour wrote it (poison).
kernel void selftest_neighbour_without_barrier(device float* out [[buffer(0)]],
                                               threadgroup float* slots [[threadgroup(0)]],
                                               uint tid [[thread_index_in_threadgroup]],
                                               uint3 threads [[threads_per_threadgroup]]) {
  slots[tid] = float(tid);
  out[tid] = slots[(tid + 1) % threads.x];
}

// Thread 0 leaves before the barrier the others wait at.
kernel void selftest_barrier_divergence(device float* out [[buffer(0)]], uint tid [[thread_index_in_threadgroup]]) {
  if (tid == 0) return;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  out[tid] = 1.0f;
}

// Half of a simdgroup calls simd_sum.
kernel void selftest_divergent_collective(device float* out [[buffer(0)]], uint lane [[thread_index_in_simdgroup]]) {
  if (lane < 16) out[lane] = simd_sum(1.0f);
}
