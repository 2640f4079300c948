// merge_attentions on the cpu backend (core/merge.hpp): the kernel arguments (merge_kernel.cpp)
// and the host entry points (merge.cpp). Rows are independent; a unit is a run of rows.
#pragma once

#include <cstdint>
#include <vector>

#include "natten/backend/cpu/common/passes.hpp"
#include "natten/core/merge.hpp"

namespace natten::cpu {

struct MergeArgs {
  int parts = 0, dim = 0;
  std::int64_t rows = 0;
  const void* const* outputs = nullptr;  // parts x [rows, dim] in the outputs' dtype
  const float* const* lses = nullptr;    // parts x [rows]
  void* output = nullptr;                // merged [rows, dim]
  float* lse = nullptr;                  // merged [rows]
  // Backward only.
  const void* merged_output = nullptr;  // the forward's output
  const void* d_output = nullptr;
  const float* d_lse = nullptr;          // may be null: no gradient into the merged lse
  void* const* d_outputs = nullptr;
  float* const* d_lses = nullptr;
};

constexpr std::int64_t kMergeRowsPerUnit = 128;

// Rows [first, first + count) on the calling thread (SIMD along the head dim).
void merge_forward_rows(DType t, const MergeArgs& a, std::int64_t first, std::int64_t count, Workspace& ws);
void merge_backward_rows(DType t, const MergeArgs& a, std::int64_t first, std::int64_t count, Workspace& ws);

void run_merge_forward(const MergeProblem& m, const std::vector<Tensor>& outputs, const std::vector<Tensor>& lses,
                       Tensor& output, Tensor& lse, const Workers& w);
void run_merge_backward(const MergeProblem& m, const std::vector<Tensor>& outputs, const std::vector<Tensor>& lses,
                        const Tensor& output, const Tensor& d_output, const Tensor& d_lse, std::vector<Tensor>& d_outputs,
                        std::vector<Tensor>& d_lses, const Workers& w);

}  // namespace natten::cpu
