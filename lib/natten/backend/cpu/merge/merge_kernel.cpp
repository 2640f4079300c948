// merge_attentions kernels: per row, the weights w_i = exp(L_i - L) around the largest L_i (so
// nothing overflows), then weighted sums / products of head-dim rows in float32 SIMD. A part with
// weight 0 (empty, L_i = -inf, or underflowed) is never read: it may hold anything.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "natten/backend/cpu/merge/merge_kernel.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "natten/backend/cpu/common/dispatch.hpp"
#include "natten/backend/cpu/merge/merge_args.hpp"
#include "natten/backend/cpu/common/simd-inl.h"

// The kernels' entries (common/dispatch.hpp): name, template, public function, parameters, arguments.
#define NATTEN_CPU_MERGE_KERNELS(X)                                                                            \
  X(MergeForward, MergeForwardT, merge_forward_rows,                                                          \
    (const MergeArgs& a, std::int64_t first, std::int64_t count, Workspace& ws), (a, first, count, ws))       \
  X(MergeBackward, MergeBackwardT, merge_backward_rows,                                                       \
    (const MergeArgs& a, std::int64_t first, std::int64_t count, Workspace& ws), (a, first, count, ws))

HWY_BEFORE_NAMESPACE();
namespace natten::cpu::HWY_NAMESPACE {
namespace {

// Workspace slots; kSlotCount is their number (workspace.hpp checks it fits).
enum Slot { kWeights, kPart, kAccum, kGrad, kMerged, kSlotCount };

// w[i] = exp(L_i - L) for row r; returns the merged L (-inf when every part is empty).
float MergeWeights(const MergeArgs& A, std::int64_t r, float* w) {
  float m = -std::numeric_limits<float>::infinity();
  for (int i = 0; i < A.parts; ++i) m = std::max(m, A.lses[i][r]);
  if (m == -std::numeric_limits<float>::infinity()) {
    for (int i = 0; i < A.parts; ++i) w[i] = 0.0f;
    return m;
  }
  float sum = 0.0f;
  for (int i = 0; i < A.parts; ++i) sum += (w[i] = std::exp(A.lses[i][r] - m));
  for (int i = 0; i < A.parts; ++i) w[i] /= sum;
  return m + std::log(sum);
}

// acc[0, dp) += s * x[0, dp)
HWY_INLINE void Axpy(float* HWY_RESTRICT acc, float s, const float* HWY_RESTRICT x, std::size_t dp) {
  const DF d;
  const VF v = hn::Set(d, s);
  for (std::size_t c = 0; c < dp; c += kLanes) hn::Store(hn::MulAdd(v, hn::Load(d, x + c), hn::Load(d, acc + c)), d, acc + c);
}

template <typename T>
void MergeForwardT(const MergeArgs& A, std::int64_t first, std::int64_t count, Workspace& ws) {
  const std::size_t dp = padded(A.dim);
  float* w = ws.floats(kWeights, static_cast<std::size_t>(A.parts));
  float* part = ws.floats(kPart, dp);
  float* acc = ws.floats(kAccum, dp);
  for (std::int64_t r = first; r < first + count; ++r) {
    A.lse[r] = MergeWeights(A, r, w);
    ZeroRows(acc, dp);
    for (int i = 0; i < A.parts; ++i) {
      if (w[i] == 0.0f) continue;
      LoadRow(static_cast<const T*>(A.outputs[i]) + r * A.dim, A.dim, 1.0f, part);
      Axpy(acc, w[i], part, dp);
    }
    StoreRow(acc, A.dim, 1.0f, static_cast<T*>(A.output) + r * A.dim);
  }
}

// dO_i = w_i dO; dL_i = w_i (dO . (O_i - O) + dL), O being the merged output the caller passes
// (as upstream, which saves it from the forward).
template <typename T>
void MergeBackwardT(const MergeArgs& A, std::int64_t first, std::int64_t count, Workspace& ws) {
  const std::size_t dp = padded(A.dim);
  float* w = ws.floats(kWeights, static_cast<std::size_t>(A.parts));
  float* part = ws.floats(kPart, dp);
  float* merged = ws.floats(kMerged, dp);
  float* grad = ws.floats(kGrad, dp);
  for (std::int64_t r = first; r < first + count; ++r) {
    MergeWeights(A, r, w);
    LoadRow(static_cast<const T*>(A.d_output) + r * A.dim, A.dim, 1.0f, grad);
    LoadRow(static_cast<const T*>(A.merged_output) + r * A.dim, A.dim, 1.0f, merged);
    const float g_lse = A.d_lse != nullptr ? A.d_lse[r] : 0.0f;
    const float proj_merged = DotRow(grad, merged, dp);
    for (int i = 0; i < A.parts; ++i) {
      T* d_out = static_cast<T*>(A.d_outputs[i]) + r * A.dim;
      if (w[i] == 0.0f) {
        ZeroRows(part, dp);
        StoreRow(part, A.dim, 1.0f, d_out);
        A.d_lses[i][r] = 0.0f;
        continue;
      }
      LoadRow(static_cast<const T*>(A.outputs[i]) + r * A.dim, A.dim, 1.0f, part);
      A.d_lses[i][r] = w[i] * (DotRow(grad, part, dp) - proj_merged + g_lse);
      StoreRow(grad, A.dim, w[i], d_out);
    }
  }
}

NATTEN_CPU_MERGE_KERNELS(NATTEN_CPU_DTYPE_ENTRIES)

}  // namespace
}  // namespace natten::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace natten::cpu {

NATTEN_CPU_MERGE_KERNELS(NATTEN_CPU_DTYPE_DISPATCH)

}  // namespace natten::cpu
#endif
