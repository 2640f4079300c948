// Must FAIL the clcpp check: a threadgroup pointer passed where a device pointer is expected
// (plain C++ accepts this; Metal does not).
#include "natten_metal_common.h"

inline void natten_bad_store(device float* dst, float v) { dst[0] = v; }

kernel void natten_bad(device float* out [[buffer(0)]], threadgroup float* smem [[threadgroup(0)]]) {
  natten_bad_store(smem, out[0]);
}
