// The one way a cpu kernel family goes from a dtype to a SIMD target.
//
// Highway dispatches plain functions (HWY_EXPORT names one function per target), so each
// (kernel, dtype) needs a plain entry; the entries and the dtype switch in front of Highway's
// dispatch are generated here from one list per kernel file:
//
//   #define NATTEN_MERGE_KERNELS(X) \
//     X(MergeForward, MergeForwardT, merge_forward_rows, \
//       (const MergeArgs& a, std::int64_t first, std::int64_t count, Workspace& ws), (a, first, count, ws))
//
// inside the per-target namespace: NATTEN_MERGE_KERNELS(NATTEN_CPU_DTYPE_ENTRIES) defines
// MergeForwardF32/F16/BF16 calling MergeForwardT<float / hwy::float16_t / hwy::bfloat16_t>;
// under HWY_ONCE: NATTEN_MERGE_KERNELS(NATTEN_CPU_DTYPE_DISPATCH) exports them and defines
// `void merge_forward_rows(DType t, <params>)`, which picks the dtype's entry, then Highway the
// target. Each column is written once: the entry name, the kernel template, the public function,
// its parameters and the arguments passed on.
#pragma once

#include <hwy/highway.h>

#include "natten/core/dtype.hpp"

// Strips one pair of parentheses: NATTEN_CPU_UNPAREN (a, b) -> a, b.
#define NATTEN_CPU_UNPAREN(...) __VA_ARGS__

#define NATTEN_CPU_DTYPE_ENTRIES(Name, Kernel, Public, Params, Args) \
  void Name##F32 Params { Kernel<float> Args; }                        \
  void Name##F16 Params { Kernel<hwy::float16_t> Args; }               \
  void Name##BF16 Params { Kernel<hwy::bfloat16_t> Args; }

#define NATTEN_CPU_DTYPE_DISPATCH(Name, Kernel, Public, Params, Args) \
  HWY_EXPORT(Name##F32);                                                \
  HWY_EXPORT(Name##F16);                                                \
  HWY_EXPORT(Name##BF16);                                               \
  void Public(DType t, NATTEN_CPU_UNPAREN Params) {                   \
    switch (t) {                                                        \
      case DType::f32: return HWY_DYNAMIC_DISPATCH(Name##F32) Args;     \
      case DType::f16: return HWY_DYNAMIC_DISPATCH(Name##F16) Args;     \
      case DType::bf16: return HWY_DYNAMIC_DISPATCH(Name##BF16) Args;   \
    }                                                                   \
  }
