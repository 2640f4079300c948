// Host side of the cpu backend's passes: builds the kernel arguments and work units of a
// validated problem and runs them on the backend's threads.
#pragma once

#include <vector>

#include "natten/backend/cpu/common/workspace.hpp"
#include "natten/core/problem.hpp"

namespace natten::cpu {

// What a pass needs besides the problem: the thread count and one workspace per thread.
struct Workers {
  int threads = 1;
  std::vector<Workspace>* workspaces = nullptr;  // at least `threads` of them
};

// out [B, *S, Hq, Dv] (problem dtype), lse [B, *S, Hq] float32; all tensors contiguous.
void run_forward(const Problem& p, const NAInputs& in, Tensor& out, Tensor& lse, const Workers& w);

// grads shaped as the inputs; all tensors contiguous.
void run_backward(const Problem& p, const NAInputs& in, const Tensor& out, const Tensor& lse, const Tensor& d_out,
                  Gradients& grads, const Workers& w);

}  // namespace natten::cpu
