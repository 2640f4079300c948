// Host side of the fused backward: four passes over independent units, each output element
// written by exactly one unit (no atomics, no reduction across threads, deterministic).
//   1. delta = rowsum(dO * O) per query row (float32 scratch [B, tokens, Hq]);
//   2. dQ per query tile (gathering over each query's window);
//   3. dK, dV per key tile (gathering over each key's inverse window, natten_inverse_window);
//   4. dK, dV of additional KV tokens (gathering over every query).
#include <vector>

#include "natten/backend/cpu/fused/kernels.hpp"
#include "natten/backend/cpu/common/parallel.hpp"
#include "natten/backend/cpu/common/passes.hpp"
#include "natten/backend/cpu/fused/problem_extents.hpp"

namespace natten::cpu {

void run_backward(const Problem& p, const NAInputs& in, const Tensor& out, const Tensor& lse, const Tensor& d_out,
                  Gradients& grads, const Workers& w) {
  std::vector<float> delta(static_cast<std::size_t>(p.batch * p.tokens() * p.heads_q));
  const BackwardArgs args{extents_of(p),
                          in.query.raw(),
                          in.key.raw(),
                          in.value.raw(),
                          optional_raw(in.additional_key),
                          optional_raw(in.additional_value),
                          out.raw(),
                          d_out.raw(),
                          lse.data<float>(),
                          delta.data(),
                          grads.query.raw(),
                          grads.key.raw(),
                          grads.value.raw(),
                          optional_raw_mut(grads.additional_key),
                          optional_raw_mut(grads.additional_value)};
  const auto ws = [&](int thread) -> Workspace& { return (*w.workspaces)[static_cast<std::size_t>(thread)]; };

  constexpr std::int64_t kDeltaChunk = 256;  // tokens per unit
  const std::int64_t chunks = (p.tokens() + kDeltaChunk - 1) / kDeltaChunk;
  parallel_for(p.batch * chunks, w.threads, [&](std::int64_t unit, int thread) {
    const std::int64_t first = (unit % chunks) * kDeltaChunk;
    backward_delta_rows(p.dtype, args, unit / chunks, first, std::min(kDeltaChunk, p.tokens() - first), ws(thread));
  });

  const TilePlan queries(p, TileSide::queries);
  const std::int64_t qt = queries.spatial_tiles();
  parallel_for(p.batch * qt, w.threads, [&](std::int64_t unit, int thread) {
    backward_query_unit(p.dtype, args, queries.unit(unit % qt), unit / qt, ws(thread));
  });

  const TilePlan keys(p, TileSide::keys);
  const std::int64_t kt = keys.spatial_tiles();
  parallel_for(p.batch * kt, w.threads, [&](std::int64_t unit, int thread) {
    backward_key_unit(p.dtype, args, keys.unit(unit % kt), unit / kt, ws(thread));
  });

  if (p.extra_kv > 0) {
    parallel_for(p.batch * p.heads_kv * p.extra_kv, w.threads, [&](std::int64_t unit, int thread) {
      const std::int64_t bh = unit / p.extra_kv;
      backward_extra_kv_unit(p.dtype, args, bh / p.heads_kv, static_cast<int>(bh % p.heads_kv), unit % p.extra_kv,
                             ws(thread));
    });
  }
}

}  // namespace natten::cpu
