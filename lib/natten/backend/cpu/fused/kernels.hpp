// Entry points of the cpu backend's SIMD kernels. Each runs one work unit on the calling thread
// and dispatches at run time to the best SIMD target of this CPU (Highway: AVX-512, AVX2, SSE4,
// NEON, or portable emulation); the host files (forward.cpp, backward.cpp) own threading.
#pragma once

#include <cstdint>
#include <string>

#include "natten/backend/cpu/fused/kernel_args.hpp"
#include "natten/core/dtype.hpp"

namespace natten::cpu {

// Output and logsumexp of the queries of one tile, every head.
void forward_unit(DType t, const ForwardArgs& a, const UnitGeom& u, std::int64_t batch, Workspace& ws);

// delta = rowsum(d_output * output) for the tokens [first, first + count) of batch `batch`.
void backward_delta_rows(DType t, const BackwardArgs& a, std::int64_t batch, std::int64_t first, std::int64_t count,
                         Workspace& ws);
// dQ of the queries of one tile, every head.
void backward_query_unit(DType t, const BackwardArgs& a, const UnitGeom& u, std::int64_t batch, Workspace& ws);
// dK and dV of the keys of one tile, every kv head, gathered over their inverse windows and the
// query heads of each kv group.
void backward_key_unit(DType t, const BackwardArgs& a, const UnitGeom& u, std::int64_t batch, Workspace& ws);
// dK and dV of additional KV token `token`, gathered over every query of the kv group.
void backward_extra_kv_unit(DType t, const BackwardArgs& a, std::int64_t batch, int kvh, std::int64_t token,
                            Workspace& ws);

}  // namespace natten::cpu
