#include "natten/backend/cpu/common/passes.hpp"

#include "natten/backend/cpu/fused/kernels.hpp"
#include "natten/backend/cpu/common/parallel.hpp"
#include "natten/backend/cpu/fused/problem_extents.hpp"

namespace natten::cpu {

void run_forward(const Problem& p, const NAInputs& in, Tensor& out, Tensor& lse, const Workers& w) {
  const ForwardArgs args{extents_of(p),         in.query.raw(),
                         in.key.raw(),          in.value.raw(),
                         optional_raw(in.additional_key), optional_raw(in.additional_value),
                         out.raw(),             lse.data<float>()};
  const TilePlan plan(p, TileSide::queries);
  const std::int64_t tiles = plan.spatial_tiles();
  // Units are (batch, spatial tile), every head inside: the tile's pair lists serve all heads.
  parallel_for(p.batch * tiles, w.threads, [&](std::int64_t unit, int thread) {
    forward_unit(p.dtype, args, plan.unit(unit % tiles), unit / tiles, (*w.workspaces)[static_cast<std::size_t>(thread)]);
  });
}

}  // namespace natten::cpu
