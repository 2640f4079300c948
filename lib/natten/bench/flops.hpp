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
//
// The other ops, on the same pairs (W + N attention columns per query: window slots and
// additional tokens; qk writes every column, causal slots without a key included):
//   na_qk    forward  pairs * 2*D  [q.k]             backward pairs * 4*D  [dQ += dA*k, dK += dA*q]
//            reads q, k (+ rpb, additional k); writes attention. Backward also reads d_attention and
//            writes dq, dk (+ d_rpb, additional dk). The bias add is not counted.
//   na_av    forward  pairs * 2*Dv [o += a*v]        backward pairs * 4*Dv [dA = dO.v, dV += a*dO]
//            reads attention, v (+ additional v); writes out. Backward also reads d_out and writes
//            d_attention, dv (+ additional dv).
//   merge    elementwise over rows (token, head) x parts x D: forward 2 per element (w_i * O_i
//            accumulated), backward 4 (w_i * dO; dO . (O_i - O) as a subtract and a multiply-add).
//            Memory-bound: GB/s is its figure of merit. Forward reads every part's output and
//            logsumexp, writes the merged pair; backward reads the parts, the merged pair and dO
//            (no gradient into the merged logsumexp) and writes every part's dO_i and dL_i.
//   varlen   the fused op's counts summed over the samples, each at its own extents (padding is
//            neither computed nor counted).
#pragma once

#include <cstdint>

#include "natten/core/merge.hpp"
#include "natten/core/problem.hpp"
#include "natten/core/varlen.hpp"

namespace natten::bench {

double forward_flops(const Problem& p);
double backward_flops(const Problem& p);
double forward_bytes(const Problem& p);
double backward_bytes(const Problem& p);

// Split ops; `p` is the op's problem (validate_qk / validate_av: dim = dim_v = its head dim).
double qk_flops(const Problem& p, bool backward);
double qk_bytes(const Problem& p, bool rpb, bool backward);
double av_flops(const Problem& p, bool backward);
double av_bytes(const Problem& p, bool backward);
double merge_flops(const MergeProblem& m, bool backward);
double merge_bytes(const MergeProblem& m, bool backward);
double varlen_flops(const VarlenProblem& v, bool backward);
double varlen_bytes(const VarlenProblem& v, bool backward);

}  // namespace natten::bench
