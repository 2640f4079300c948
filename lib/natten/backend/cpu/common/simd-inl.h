// Per-target SIMD building blocks of the cpu backend kernels (Highway, compiled once per target).
//
// Two layouts. Rows (head dim contiguous, zero-padded to a multiple of the vector length) are
// vectorized along the head dim: any window shape (borders, dilation, stride, causal, any K) is
// handled exactly, one (row a, row b) pair per lane of a dot-product batch. Dot products come in
// batches of one vector's worth of pairs and are finished by a reduction tree that turns `lanes`
// partial-sum vectors into one vector holding the `lanes` dot products: the tree costs one add
// and two lane permutations per pair instead of a full horizontal sum each, and every pair is
// reduced in the same order wherever it sits in a batch (results do not depend on how pairs are
// batched, hence on tiling or threads). Columns (rows transposed into dim-major scratch, below)
// put consecutive positions in one vector, so a vector spans queries (or keys) whose windows are
// shifted copies of each other; at borders a lane permutation (ShiftedLoad) or, for windows of
// different sizes (windows.hpp, masked LaneRun), a per-lane mask keeps the result exact. Segment
// tails (SegmentMax, ExpSegment) are masked with FirstN rather than padded.
//
// Only targets with a compile-time lane count are compiled: the tree needs it. Scalable SVE/SVE2
// and RVV are disabled in CMake; SVE_256 and SVE2_128 (SVE of a known vector length, checked by
// Highway at run time) are compiled when NATTEN_SVE is on. arm64 otherwise uses NEON.

// Per-target include guard (Highway's pattern).
#if defined(NATTEN_CPU_SIMD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NATTEN_CPU_SIMD_INL_H_
#undef NATTEN_CPU_SIMD_INL_H_
#else
#define NATTEN_CPU_SIMD_INL_H_
#endif

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include <hwy/highway.h>
#include <hwy/contrib/math/math-inl.h>

#include "natten/core/dtype.hpp"

HWY_BEFORE_NAMESPACE();
namespace natten::cpu::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;
constexpr std::size_t kLanes = hn::MaxLanes(DF());
static_assert(HWY_HAVE_SCALABLE == 0 || HWY_TARGET == HWY_SVE_256 || HWY_TARGET == HWY_SVE2_128,
              "the dot-product tree needs a fixed lane count");

// A vector kept in an array or a struct (register tiles, accumulators). SVE's vector types are
// sizeless: C++ allows no arrays or members of them, so on the SVE targets a slot is its lanes in
// memory, loaded and stored on each use. Everywhere else it is the vector itself.
#if HWY_TARGET == HWY_SVE_256 || HWY_TARGET == HWY_SVE2_128
struct VFSlot {
  VFSlot() = default;
  VFSlot(VF v) { hn::StoreU(v, DF(), lanes); }  // NOLINT(google-explicit-constructor): a VF stand-in
  operator VF() const { return hn::LoadU(DF(), lanes); }
  VFSlot& operator=(VF v) {
    hn::StoreU(v, DF(), lanes);
    return *this;
  }
  float lanes[kLanes];
};
#else
using VFSlot = VF;
#endif
static_assert((kLanes & (kLanes - 1)) == 0, "lane count must be a power of two");

// Head dim rounded up to whole vectors (rows in scratch buffers are padded with zeros).
inline std::size_t padded(int dim) { return (static_cast<std::size_t>(dim) + kLanes - 1) / kLanes * kLanes; }

// ---------------------------------------------------------------- rows: convert in, convert out
// f16/bf16 elements are read and written through natten/core/dtype.hpp's conversions where
// not vectorized, so rounding matches the rest of the library.
inline float to_float(float v) { return v; }
inline float to_float(hwy::float16_t v) {
  std::uint16_t b;
  std::memcpy(&b, &v, 2);
  return half_bits_to_float(b);
}
inline float to_float(hwy::bfloat16_t v) {
  std::uint16_t b;
  std::memcpy(&b, &v, 2);
  return bf16_bits_to_float(b);
}
inline void from_float(float f, float* out) { *out = f; }
inline void from_float(float f, hwy::float16_t* out) {
  const std::uint16_t b = float_to_half_bits(f);
  std::memcpy(out, &b, 2);
}
inline void from_float(float f, hwy::bfloat16_t* out) {
  const std::uint16_t b = float_to_bf16_bits(f);
  std::memcpy(out, &b, 2);
}

// One vector of elements of type T starting at src, as float (exact for f16 and bf16).
template <typename T>
HWY_INLINE VF LoadAsFloat(const T* src) {
  if constexpr (std::is_same_v<T, float>) {
    return hn::LoadU(DF(), src);
  } else {
    const hn::Rebind<T, DF> dh;
    return hn::PromoteTo(DF(), hn::LoadU(dh, src));
  }
}

// dst[0, padded(dim)) = mul * src[0, dim), zero beyond dim.
template <typename T>
HWY_INLINE void LoadRow(const T* HWY_RESTRICT src, int dim, float mul, float* HWY_RESTRICT dst) {
  const DF d;
  const VF m = hn::Set(d, mul);
  const std::size_t n = static_cast<std::size_t>(dim);
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) hn::Store(hn::Mul(LoadAsFloat(src + i), m), d, dst + i);
  if (i < n) {
    for (std::size_t j = 0; j < kLanes; ++j) dst[i + j] = i + j < n ? mul * to_float(src[i + j]) : 0.0f;
  }
}

// Whether a vector of floats can be stored as T with natten/core/dtype.hpp's rounding on this
// target: float always; bfloat16 by integer round-to-nearest-even (as dtype.hpp, NaNs quieted);
// float16 where the hardware converts (F16C on x86 rounds to nearest even).
template <typename T>
constexpr bool kVectorStore = std::is_same_v<T, float> || std::is_same_v<T, hwy::bfloat16_t>
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
                              || std::is_same_v<T, hwy::float16_t>
#endif
    ;

template <typename T>
HWY_INLINE void StoreVectorAs(VF v, T* HWY_RESTRICT dst) {
  const DF d;
  if constexpr (std::is_same_v<T, float>) {
    hn::StoreU(v, d, dst);
  } else if constexpr (std::is_same_v<T, hwy::bfloat16_t>) {  // float_to_bf16_bits, lane by lane
    const hn::RebindToUnsigned<DF> du;
    const hn::RebindToSigned<DF> di;
    const auto x = hn::BitCast(du, v);
    const auto high = hn::ShiftRight<16>(x);
    const auto rounded = hn::ShiftRight<16>(hn::Add(x, hn::Add(hn::Set(du, 0x7fffu), hn::And(high, hn::Set(du, 1u)))));
    const auto nan = hn::Gt(hn::BitCast(di, hn::And(x, hn::Set(du, 0x7fffffffu))), hn::Set(di, 0x7f800000));
    const auto bits = hn::IfThenElse(hn::RebindMask(du, nan), hn::Or(high, hn::Set(du, 0x40u)), rounded);
    const hn::Rebind<std::uint16_t, DF> du16;
    hn::StoreU(hn::BitCast(hn::Rebind<T, DF>(), hn::DemoteTo(du16, hn::BitCast(di, bits))), hn::Rebind<T, DF>(), dst);
  } else {
    static_assert(kVectorStore<T>, "no vector conversion to this type on this target");
    hn::StoreU(hn::DemoteTo(hn::Rebind<T, DF>(), v), hn::Rebind<T, DF>(), dst);
  }
}

// dst[0, dim) = mul * src[0, dim), rounded to T (round to nearest even, as natten/core/dtype.hpp).
template <typename T>
HWY_INLINE void StoreRow(const float* HWY_RESTRICT src, int dim, float mul, T* HWY_RESTRICT dst) {
  const DF d;
  const std::size_t n = static_cast<std::size_t>(dim);
  if constexpr (kVectorStore<T>) {
    const VF m = hn::Set(d, mul);
    std::size_t i = 0;
    for (; i + kLanes <= n; i += kLanes) StoreVectorAs(hn::Mul(hn::Load(d, src + i), m), dst + i);
    for (; i < n; ++i) from_float(mul * src[i], dst + i);
  } else {
    for (std::size_t i = 0; i < n; ++i) from_float(mul * src[i], dst + i);
  }
}

// ---------------------------------------------------------------- dot products
// kCount pairs (a[i], b[i]) reduced to a vector whose lanes each hold kCount/kLanes partial sums
// of consecutive pairs: the recursive halves of the reduction tree.
template <std::size_t kCount>
struct DotTree;
#if HWY_TARGET != HWY_SCALAR  // one lane: the tree is just its leaf
template <std::size_t kCount>
struct DotTree {
  static HWY_INLINE VF run(const float* const* a, const float* const* b, std::size_t dim) {
    const DF d;
    const VF lo = DotTree<kCount / 2>::run(a, b, dim);
    const VF hi = DotTree<kCount / 2>::run(a + kCount / 2, b + kCount / 2, dim);
    // Sum adjacent lanes: each pair's partial sums halve in number and the two vectors become one.
    return hn::Add(hn::ConcatEven(d, hi, lo), hn::ConcatOdd(d, hi, lo));
  }
};
#endif
template <>
struct DotTree<1> {
  static HWY_INLINE VF run(const float* const* a, const float* const* b, std::size_t dim) {
    const DF d;
    VF acc = hn::Mul(hn::Load(d, a[0]), hn::Load(d, b[0]));
    for (std::size_t c = kLanes; c < dim; c += kLanes) acc = hn::MulAdd(hn::Load(d, a[0] + c), hn::Load(d, b[0] + c), acc);
    return acc;
  }
};

// Lane i = dot(a[i], b[i]) over `dim` (padded) floats, for kLanes pairs.
HWY_INLINE VF DotBatch(const float* const* a, const float* const* b, std::size_t dim) {
  return DotTree<kLanes>::run(a, b, dim);
}

// ---------------------------------------------------------------- weighted row sums
// acc[0, kV vectors) += sum_i w[i] * (rows + idx[i] * stride)[0, kV vectors), with two
// accumulator sets alternating over i so consecutive multiply-adds do not wait on each other.
template <int kV>
HWY_INLINE void AccumulateBlock(float* HWY_RESTRICT acc, const float* HWY_RESTRICT w, const int* HWY_RESTRICT idx,
                                std::size_t count, const float* HWY_RESTRICT rows, std::size_t stride) {
  const DF d;
  VFSlot a0[kV], a1[kV];
  for (int v = 0; v < kV; ++v) {
    a0[v] = hn::Load(d, acc + v * kLanes);
    a1[v] = hn::Zero(d);
  }
  std::size_t i = 0;
  for (; i + 2 <= count; i += 2) {
    const VF w0 = hn::Set(d, w[i]);
    const VF w1 = hn::Set(d, w[i + 1]);
    const float* r0 = rows + static_cast<std::size_t>(idx[i]) * stride;
    const float* r1 = rows + static_cast<std::size_t>(idx[i + 1]) * stride;
    for (int v = 0; v < kV; ++v) {
      a0[v] = hn::MulAdd(w0, hn::Load(d, r0 + v * kLanes), a0[v]);
      a1[v] = hn::MulAdd(w1, hn::Load(d, r1 + v * kLanes), a1[v]);
    }
  }
  if (i < count) {
    const VF w0 = hn::Set(d, w[i]);
    const float* r0 = rows + static_cast<std::size_t>(idx[i]) * stride;
    for (int v = 0; v < kV; ++v) a0[v] = hn::MulAdd(w0, hn::Load(d, r0 + v * kLanes), a0[v]);
  }
  for (int v = 0; v < kV; ++v) hn::Store(hn::Add(a0[v], a1[v]), d, acc + v * kLanes);
}

// acc[0, dim) += sum_i w[i] * row(idx[i]) for rows of `stride` floats (dim, stride padded).
HWY_INLINE void AccumulateRows(float* acc, const float* w, const int* idx, std::size_t count, const float* rows,
                               std::size_t stride, std::size_t dim) {
  std::size_t c = 0;
  for (; c + 4 * kLanes <= dim; c += 4 * kLanes) AccumulateBlock<4>(acc + c, w, idx, count, rows + c, stride);
  switch ((dim - c) / kLanes) {
    case 3: AccumulateBlock<3>(acc + c, w, idx, count, rows + c, stride); break;
    case 2: AccumulateBlock<2>(acc + c, w, idx, count, rows + c, stride); break;
    case 1: AccumulateBlock<1>(acc + c, w, idx, count, rows + c, stride); break;
    default: break;
  }
}

HWY_INLINE void ScaleRow(float* row, float s, std::size_t dim) {
  const DF d;
  const VF m = hn::Set(d, s);
  for (std::size_t c = 0; c < dim; c += kLanes) hn::Store(hn::Mul(hn::Load(d, row + c), m), d, row + c);
}

HWY_INLINE void ZeroRows(float* rows, std::size_t floats) {
  const DF d;
  for (std::size_t c = 0; c < floats; c += kLanes) hn::Store(hn::Zero(d), d, rows + c);
}

// Dot product of two padded rows.
HWY_INLINE float DotRow(const float* a, const float* b, std::size_t dim) {
  const DF d;
  VF acc = hn::Zero(d);
  for (std::size_t c = 0; c < dim; c += kLanes) acc = hn::MulAdd(hn::Load(d, a + c), hn::Load(d, b + c), acc);
  return hn::GetLane(hn::SumOfLanes(d, acc));
}

// ---------------------------------------------------------------- softmax pieces
// exp(x) for x <= 0 (softmax numerators: scores minus their max or their logsumexp), about half
// the instructions of hn::Exp: 2^(x log2 e) split into an integer power (added to the exponent
// bits) and 2^f for f in [-1/2, 1/2] by its degree-6 Taylor polynomial (relative error below 2e-7,
// plus the rounding of x log2 e). Arguments below -87 give values under 2^-126 (not exactly 0).
HWY_INLINE VF ExpNonPositive(VF x) {
  const DF d;
  const hn::RebindToSigned<DF> di;
  const VF t = hn::Max(hn::Mul(x, hn::Set(d, 1.44269504088896341f)), hn::Set(d, -126.0f));
  const VF n = hn::Round(t);
  const VF f = hn::Sub(t, n);
  // (ln 2)^k / k!, k = 6 .. 1
  VF p = hn::Set(d, 1.5403530393381609e-4f);
  p = hn::MulAdd(p, f, hn::Set(d, 1.3333558146428443e-3f));
  p = hn::MulAdd(p, f, hn::Set(d, 9.6181291076284772e-3f));
  p = hn::MulAdd(p, f, hn::Set(d, 5.5504108664821580e-2f));
  p = hn::MulAdd(p, f, hn::Set(d, 2.4022650695910071e-1f));
  p = hn::MulAdd(p, f, hn::Set(d, 6.9314718055994531e-1f));
  p = hn::MulAdd(p, f, hn::Set(d, 1.0f));
  return hn::BitCast(d, hn::Add(hn::BitCast(di, p), hn::ShiftLeft<23>(hn::ConvertTo(di, n))));
}

// Largest of s[0, n); s may be read (not used) up to a whole vector past n.
HWY_INLINE float SegmentMax(const float* s, std::size_t n) {
  const DF d;
  VF m = hn::Set(d, -std::numeric_limits<float>::infinity());
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) m = hn::Max(m, hn::LoadU(d, s + i));
  if (i < n) m = hn::Max(m, hn::IfThenElse(hn::FirstN(d, n - i), hn::LoadU(d, s + i), m));
  return hn::GetLane(hn::MaxOfLanes(d, m));
}

// s[i] = exp(s[i] - shift) for i < n; returns the sum of the new values.
HWY_INLINE float ExpSegment(float* s, std::size_t n, float shift) {
  const DF d;
  const VF sh = hn::Set(d, shift);
  VF sum = hn::Zero(d);
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const VF p = ExpNonPositive(hn::Sub(hn::LoadU(d, s + i), sh));
    hn::StoreU(p, d, s + i);
    sum = hn::Add(sum, p);
  }
  if (i < n) {
    const auto m = hn::FirstN(d, n - i);
    const VF p = hn::IfThenElseZero(m, ExpNonPositive(hn::Sub(hn::LoadU(d, s + i), sh)));
    hn::BlendedStore(p, m, d, s + i);
    sum = hn::Add(sum, p);
  }
  return hn::GetLane(hn::SumOfLanes(d, sum));
}

// out[i - p0] = dot(a_rows[a_index[i]], b_rows[b_index[i]]) for pairs i in [p0, p1), in full
// batches of kLanes (`zero` stands in past p1); out has room for a whole vector past p1 - p0.
HWY_INLINE void DotPairs(const float* a_rows, const int* a_index, const float* b_rows, const int* b_index,
                         std::size_t dim, int p0, int p1, const float* zero, float* out) {
  const float* pa[kLanes];
  const float* pb[kLanes];
  for (int i = p0; i < p1; i += static_cast<int>(kLanes)) {
    for (std::size_t l = 0; l < kLanes; ++l) {
      const int p = i + static_cast<int>(l);
      pa[l] = p < p1 ? a_rows + static_cast<std::size_t>(a_index[p]) * dim : zero;
      pb[l] = p < p1 ? b_rows + static_cast<std::size_t>(b_index[p]) * dim : zero;
    }
    hn::StoreU(DotBatch(pa, pb, dim), DF(), out + (i - p0));
  }
}

// Backward softmax step for n pairs: from scores s and dP = dO . V, with the query's lse and
// delta per pair, P = exp(s - lse) replaces s and dS = P * (dP - delta) replaces dp.
HWY_INLINE void ProbAndGrad(float* s, float* dp, const float* lse, const float* delta, std::size_t n) {
  const DF d;
  for (std::size_t i = 0; i < n; i += kLanes) {
    const VF p = ExpNonPositive(hn::Sub(hn::LoadU(d, s + i), hn::LoadU(d, lse + i)));
    hn::StoreU(p, d, s + i);
    hn::StoreU(hn::Mul(p, hn::Sub(hn::LoadU(d, dp + i), hn::LoadU(d, delta + i))), d, dp + i);
  }
}

// ---------------------------------------------------------------- columns: vectors across positions
// Dim-major ("column") scratch holds element (c, r) of a set of rows at c * ld + r: one SIMD vector
// then spans consecutive positions, and the kernels vectorize across queries (or keys) whose
// windows are shifted copies of each other (windows.hpp, LaneRun). ld is padded by a vector so
// lanes past a run's end may read (never use) a full vector.
inline std::size_t column_stride(std::size_t rows) { return (rows + 2 * kLanes - 1) / kLanes * kLanes; }

// A run's lane permutation (windows.hpp, LaneRun::lane_of): lane l of a shifted load is replaced
// by lane lane_of[l]. Runs in the interior are pure shifts and skip it (kPerm = false).
using LaneIndices = decltype(hn::SetTableIndices(DF(), static_cast<const std::int32_t*>(nullptr)));
inline LaneIndices lane_indices(const int* lane_of) {
  HWY_ALIGN std::int32_t idx[kLanes];
  for (std::size_t l = 0; l < kLanes; ++l) idx[l] = static_cast<std::int32_t>(lane_of[l]);
  return hn::SetTableIndices(DF(), idx);
}
template <bool kPerm>
HWY_INLINE VF ShiftedLoad(const float* p, const LaneIndices& perm) {
  const VF v = hn::LoadU(DF(), p);
  if constexpr (kPerm) {
    return hn::TableLookupLanes(v, perm);
  } else {
    (void)perm;
    return v;
  }
}

// The kernels over these columns are in row_kernels-inl.h (a row block's scores and weighted sums).

}  // namespace natten::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NATTEN_CPU_SIMD_INL_H_
