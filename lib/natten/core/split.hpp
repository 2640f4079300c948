// The split (unfused) neighborhood-attention ops of upstream NATTEN's 0.14-0.17 API: `qk` computes
// the attention logits of every query against its window, `av` applies attention weights to the
// values. A caller runs softmax (or anything else) in between.
//
// Layout is heads last, like the fused op:
//   query [B, *S, Hq, D], key [B, *S, Hkv, D], value [B, *S, Hkv, Dv],
//   attention [B, *S, Hq, W + N] with W = prod(kernel_size) window slots, then N additional KV tokens,
//   rpb [Hq, 2*K0-1 (, 2*K1-1 (, 2*K2-1))] in the problem's dtype, output [B, *S, Hq, Dv].
//
// Semantics (kept from upstream 0.14, extended by the same window rule to what 0.14 lacks):
// - qk does NOT scale: attention = q . k (+ rpb). Callers pre-scale the query, as upstream's
//   modules do (`q = q * scale`). `NAParams::scale` must therefore be unset (or 1).
// - Window slot order: row-major over the window, first axis slowest, each axis from its window
//   start upward (slot index per axis = key position - window start, in dilation-group positions).
// - Bias index per axis: (key - query) / dilation + K - 1, in [0, 2K-2].
// - Causal axes: the window of query j ends at j, so some slots have no key. qk writes -infinity
//   there (softmax gives them weight 0); av never reads them and their d_attention is 0.
// - Stride: a query uses its stride-group leader's window, as in the fused op (slots and bias
//   indices are relative to that window and to the query itself).
// - GQA: query head h reads KV head h / (Hq / Hkv); the bias is per query head.
// - Additional KV tokens (upstream 0.17 `additional_keys` / `additional_values`): qk appends
//   q . k_extra as the last N columns of `attention` (no bias); av adds their weighted values.
#pragma once

#include <cstdint>

#include "natten/core/problem.hpp"

namespace natten {

struct SplitQKInputs {
  Tensor query, key;
  Tensor rpb;             // optional relative positional bias
  Tensor additional_key;  // optional [B, N, Hkv, D]
};
struct SplitQKGrads {
  Tensor query, key, rpb, additional_key;  // rpb / additional_key only when present in the inputs
};

struct SplitAVInputs {
  Tensor attention, value;
  Tensor additional_value;  // optional [B, N, Hkv, Dv]; attention then has W + N columns
};
struct SplitAVGrads {
  Tensor attention, value, additional_value;
};

// W = prod(kernel_size): window slots per query (axes beyond the rank count 1).
std::int64_t window_slots(const Problem& p);
Shape attention_shape(const Problem& p);  // [B, *S, Hq, W + extra_kv]
Shape rpb_shape(const Problem& p);        // [Hq, 2K0-1, ...]

// The problem of a qk call: dim = dim_v = the query/key head dim. Validation is the fused op's
// (window, heads, batch, dtypes) plus the rpb shape and the no-scale rule.
Problem validate_qk(const NAParams& params, const SplitQKInputs& in);
Problem validate_qk_backward(const NAParams& params, const SplitQKInputs& in, const Tensor& d_attention);

// The problem of an av call: heads_q from attention, heads_kv and dim = dim_v from value.
Problem validate_av(const NAParams& params, const SplitAVInputs& in);
Problem validate_av_backward(const NAParams& params, const SplitAVInputs& in, const Tensor& d_output);

// Gradient tensors (zeroed) shaped and typed like the inputs present in `in`.
SplitQKGrads allocate_qk_grads(const Problem& p, const SplitQKInputs& in);
SplitAVGrads allocate_av_grads(const Problem& p, const SplitAVInputs& in);

}  // namespace natten
