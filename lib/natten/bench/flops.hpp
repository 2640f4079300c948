// Exact work and compulsory memory traffic of one NA call, from the problem alone.
//
// FLOPs count the matrix-product work over the (query, key) pairs actually attended
// (attended_pairs(): borders, dilation groups, stride and causal masks change it; additional KV
// tokens add pairs), one multiply-add = 2 FLOPs, per query head and batch element:
//   forward  = pairs * (2*D  [S = q.k]  + 2*Dv [o += p*v])
//   backward = pairs * (2*D  [recompute S] + 2*Dv [dP = dO.v] + 2*Dv [dV += p*dO]
//                       + 2*D [dQ += dS*k] + 2*D [dK += dS*q])  =  pairs * (6*D + 4*Dv)
// Softmax exponentials, scaling and the row sums (delta = rowsum(dO*O)) are not counted: this is
// the FlashAttention convention (backward = 2.5 x forward when D = Dv), so numbers compare with
// published attention kernels.
//
// Bytes are the compulsory traffic: each input read once and each output written once, in the
// problem's dtype (logsumexp is float32):
//   forward  reads q, k, v (+ additional k, v); writes out, lse
//   backward reads q, k, v (+ additional k, v), out, d_out, lse; writes dq, dk, dv (+ additional)
#pragma once

#include <cstdint>

#include "natten/core/problem.hpp"

namespace natten::bench {

double forward_flops(const Problem& p);
double backward_flops(const Problem& p);
double forward_bytes(const Problem& p);
double backward_bytes(const Problem& p);

}  // namespace natten::bench
