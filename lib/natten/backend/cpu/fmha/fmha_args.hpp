// The FMHA fast path of the cpu backend: plain attention of every query over every token (plus
// the additional KV tokens), taken when every window covers the whole token grid
// (natten::why_not_full_attention). No window bookkeeping: keys are transposed once per unit so
// that the logits of a block of queries are a small dense matrix product (broadcast-FMA, no
// reduction trees), followed by an online softmax over key blocks.
#pragma once

#include <cstdint>

#include "natten/backend/cpu/common/passes.hpp"
#include "natten/backend/cpu/common/workspace.hpp"
#include "natten/core/dtype.hpp"

namespace natten::cpu {

struct FmhaArgs {
  std::int64_t batch = 1, tokens = 1, extra = 0;
  int heads_q = 1, heads_kv = 1, dim = 1, dim_v = 1;
  float scale = 1.0f;
  const void* query = nullptr;
  const void* key = nullptr;
  const void* value = nullptr;
  const void* additional_key = nullptr;
  const void* additional_value = nullptr;
  void* output = nullptr;  // forward writes, backward reads
  float* lse = nullptr;    // idem
  // Backward only.
  const void* d_output = nullptr;
  float* delta = nullptr;  // [B, T, Hq] rowsum(dO * O), written by the query pass
  void* d_query = nullptr;
  void* d_key = nullptr;
  void* d_value = nullptr;
  void* d_additional_key = nullptr;
  void* d_additional_value = nullptr;
  int group() const { return heads_q / heads_kv; }
};

constexpr int kFmhaQueryBlock = 64;  // queries per unit: each unit converts every key once

// Unit = (batch, block of kFmhaQueryBlock queries), every head.
void fmha_forward_unit(DType t, const FmhaArgs& a, std::int64_t unit, Workspace& ws);

// Backward: the query pass (unit as forward) writes delta and dQ; the key pass (unit = (batch,
// block of kFmhaKeyBlock keys of the T + N keys)) gathers dK and dV over every query.
constexpr int kFmhaKeyBlock = 64;
void fmha_backward_query_unit(DType t, const FmhaArgs& a, std::int64_t unit, Workspace& ws);
void fmha_backward_key_unit(DType t, const FmhaArgs& a, std::int64_t unit, Workspace& ws);

void run_fmha_forward(const Problem& p, const NAInputs& in, Tensor& out, Tensor& lse, const Workers& w);

void run_fmha_backward(const Problem& p, const NAInputs& in, const Tensor& out, const Tensor& lse, const Tensor& d_out,
                       Gradients& grads, const Workers& w);

}  // namespace natten::cpu
