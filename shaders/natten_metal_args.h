// Kernel arguments shared by the Metal shaders and the C++ launch planner.
//
// Written in the common subset of C++17 and the Metal Shading Language (like natten/window.h):
// plain structs of 32-bit ints and floats, so the layout is the same on both sides (every field is
// 4-byte aligned; static_asserts on the C++ side pin the sizes). The host passes one of these by
// value with setBytes at the buffer index the kernel declares for it.
#ifndef NATTEN_METAL_ARGS_H
#define NATTEN_METAL_ARGS_H

#include "natten/window.h"

// Apple GPUs execute 32-lane simdgroups; the kernels put one query (or key) on each simdgroup and
// spread the head dimension over its lanes.
#define NATTEN_SIMD_WIDTH 32
// Output columns each lane accumulates per pass; a pass covers NATTEN_SIMD_WIDTH * this many
// columns and wider heads take several passes (no per-thread array grows with the head dim).
#define NATTEN_COLS_PER_LANE 4
#define NATTEN_COLS_PER_PASS (NATTEN_SIMD_WIDTH * NATTEN_COLS_PER_LANE)

// Fused neighborhood attention: forward, delta, dQ and dK/dV kernels.
struct NattenFusedArgs {
  NattenAxis axis[3];  // axes >= rank are trivial (length 1, kernel 1)
  int batch;
  int heads_q;
  int heads_kv;
  int dim;       // query/key head dim
  int dim_v;     // value head dim
  int extra_kv;  // additional KV tokens every query attends to (0 = none)
  int tokens;    // product of the spatial extents
  float scale;
  // Query tile (key tile for the dK/dV kernel) of one threadgroup, in dilation-group positions per
  // axis; one simdgroup per tile position.
  int tile[3];
  int tiles_per_group[3];  // ceil(longest group length / tile) per axis
  // Largest box of group positions staged in threadgroup memory at once, per axis. chunk[0] == 0
  // means nothing is staged: the kernel reads every operand from device memory (heads too wide
  // for the threadgroup-memory budget).
  int chunk[3];
  int extra_keys_mode;  // dK/dV kernel: 1 = the keys are the additional KV tokens
  int rows;             // delta kernel: B * tokens * heads_q
};

// Split ops (qk with optional relative positional bias, av) and their backward kernels. Semantics
// of natten/core/split.hpp: qk does not scale, attention has `window` slots then `extra_kv`
// columns, slots a causal window lacks hold -infinity (qk) and get zero gradient.
struct NattenSplitArgs {
  NattenAxis axis[3];
  int batch;
  int heads_q;
  int heads_kv;
  int dim;       // head dim the kernel reduces over or writes (q/k for qk, v for av)
  int tokens;    // product of the spatial extents
  int window;    // prod(kernel): window slots per query
  int extra_kv;  // additional KV tokens (columns after the window)
  int columns;   // window + extra_kv: last extent of the attention tensor
  int has_rpb;
  int rpb_extent[3];    // 2 * kernel - 1 per axis (1 for axes >= rank)
  int extra_keys_mode;  // gather kernels: 1 = the keys/values are the additional KV tokens
  int work;             // work items (the grid is rounded up to whole threadgroups)
};

#endif  // NATTEN_METAL_ARGS_H
