// Launch planning for the Metal kernels in shaders/: which kernel, which tensor at which buffer
// index, the kernel arguments, the grid, the threadgroup size and its threadgroup memory.
//
// Plain C++ with no Metal dependency: the Linux build compiles and tests every plan (the shader
// emulation in tests/metal runs them), and the Apple executor (metal_executor.mm) only turns a
// plan into Metal calls. Everything a kernel needs to know is decided here.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "natten/core/problem.hpp"

namespace natten::metal {

// The tensors a launch reads or writes; the executor maps each role to a device buffer.
enum class Role {
  query,
  key,
  value,
  additional_key,
  additional_value,
  output,
  lse,
  d_output,
  delta,  // scratch: rowsum(dO * O), float32 [B, tokens, Hq]
  d_query,
  d_key,
  d_value,
  d_additional_key,
  d_additional_value,
  attention,  // split ops: [B, tokens, Hq, prod(K)]
  d_attention,
  rpb,  // relative positional bias [Hq, 2K0-1, 2K1-1, 2K2-1], float32
  d_rpb,
};
const char* role_name(Role r);

// Tensor `role` bound at [[buffer(index)]], which the kernel names `param` (checked against the
// shader source by tests/metal).
struct Binding {
  int index;
  std::string param;
  Role role;
};

struct LaunchPlan {
  std::string kernel;  // function name in the .metallib
  std::vector<Binding> buffers;
  int args_index = -1;  // [[buffer(n)]] of the argument struct, passed with setBytes
  std::string args_param;
  std::vector<std::uint8_t> args;
  std::array<unsigned, 3> threadgroups{1, 1, 1};  // dispatchThreadgroups: threadgroups per grid
  std::array<unsigned, 3> threads{1, 1, 1};       // threads per threadgroup
  std::vector<std::size_t> threadgroup_memory;    // bytes per [[threadgroup(n)]], multiples of 16
};

// Scratch buffers a sequence needs besides the caller's tensors.
struct Scratch {
  Role role;
  std::size_t bytes;
};

// Launches run in order; each sees the writes of the previous ones.
struct LaunchSequence {
  std::vector<Scratch> scratch;
  std::vector<LaunchPlan> launches;
};

struct PlanOptions {
  // Threadgroup memory one threadgroup may use for staging (Apple GPUs offer 32 KiB; half of it
  // leaves room for two resident threadgroups per core).
  std::size_t threadgroup_memory_budget = 16 * 1024;
  int queries_per_threadgroup = 8;  // one simdgroup each
};

std::string dtype_suffix(DType t);  // "f32", "f16", "bf16"

// Empty when the Metal kernels can run `problem`, else why not (index ranges only: no caps on
// kernel size, head dim or any NA parameter).
std::string why_unplannable(const Problem& problem);

LaunchSequence plan_forward(const Problem& problem, const PlanOptions& options = {});
LaunchSequence plan_backward(const Problem& problem, const PlanOptions& options = {});

// Split ops (natten/core/split.hpp semantics). qk: the problem's dim is the q/k head dim; av: its
// dim_v is the value head dim. Additional KV columns come from problem.extra_kv.
std::string why_split_unplannable(const Problem& problem);
LaunchSequence plan_qk(const Problem& problem, bool has_rpb);
LaunchSequence plan_qk_backward(const Problem& problem, bool has_rpb);
LaunchSequence plan_av(const Problem& problem);
LaunchSequence plan_av_backward(const Problem& problem);

}  // namespace natten::metal
