// The reference fused attention (softmax over an explicit key list per query, forward and
// backward), shared by the neighborhood, varlen and plain-attention (FMHA) entry points: they
// differ only in which queries exist and which keys each one attends.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "natten/core/problem.hpp"

namespace natten::reference {

// Token indices refer to the [B, T, H, D] storage of the problem's tensors.
struct Attendance {
  std::function<std::int64_t(std::int64_t b)> query_count;
  std::function<std::int64_t(std::int64_t b, std::int64_t i)> query_token;
  std::function<void(std::int64_t b, std::int64_t i, std::vector<std::int64_t>& keys)> keys;  // appends
};

// Neighborhood attention of `p` (window rule of natten/window.h).
Attendance neighborhood_attendance(const Problem& p);
// Every query attends every token (the definition of plain attention, without the window rule).
Attendance dense_attendance(const Problem& p);

// `p` gives storage shapes, heads, dims, additional KV and scale. Queries that `att` leaves out
// keep zero output, logsumexp and gradients; their rows are never read.
void attention_forward(const Problem& p, const Attendance& att, const NAInputs& in, Tensor& out, Tensor& lse);
void attention_backward(const Problem& p, const Attendance& att, const NAInputs& in, const Tensor& out,
                        const Tensor& lse, const Tensor& d_out, Gradients& grads);

}  // namespace natten::reference
