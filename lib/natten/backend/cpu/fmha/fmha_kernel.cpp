// FMHA forward kernel (fmha_args.hpp). Per unit and kv head, every key row is converted to float32
// and stored transposed (head dim major, keys padded to whole vectors with zeros), values row-major.
// Queries go four at a time: for a vector of keys, each head-dim element of the transposed keys is
// loaded once and multiplied into four accumulators (one per query), so the logits cost one load
// and four FMAs per four query-key-lane products. Softmax is online over key blocks of kKeyBlock,
// and P.V reuses each value vector for the four queries the same way.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "natten/backend/cpu/fmha/fmha_kernel.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "natten/backend/cpu/common/dispatch.hpp"
#include "natten/backend/cpu/fmha/fmha_args.hpp"
#include "natten/backend/cpu/common/simd-inl.h"

// The kernels' entries (common/dispatch.hpp): name, template, public function, parameters, arguments.
#define NATTEN_CPU_FMHA_KERNELS(X)                                                                            \
  X(FmhaForward, FmhaForwardT, fmha_forward_unit, (const FmhaArgs& a, std::int64_t u, Workspace& ws), (a, u, ws)) \
  X(FmhaQuery, FmhaBackwardQueryT, fmha_backward_query_unit, (const FmhaArgs& a, std::int64_t u, Workspace& ws),  \
    (a, u, ws))                                                                                                    \
  X(FmhaKey, FmhaBackwardKeyT, fmha_backward_key_unit, (const FmhaArgs& a, std::int64_t u, Workspace& ws), (a, u, ws))

HWY_BEFORE_NAMESPACE();
namespace natten::cpu::HWY_NAMESPACE {
namespace {

// Workspace slots; kSlotCount is their number (workspace.hpp checks it fits).
enum Slot { kKeysT, kValues, kQueries, kScores, kOutputs, kRow, kValuesT, kKeys, kGrads, kDP, kStats, kSlotCount };
constexpr int kRows = 4;         // queries per register block
constexpr int kKeyBlock = 256;   // keys per online-softmax step (a multiple of every lane count)

inline std::size_t round_lanes(std::int64_t n) {
  return (static_cast<std::size_t>(n) + kLanes - 1) / kLanes * kLanes;
}

// Row j of the keys (or values) of kv head kvh: token j < T, else additional token j - T.
template <typename T>
const T* KvRow(const FmhaArgs& A, const void* tokens, const void* extra, std::int64_t b, int kvh, int dim,
               std::int64_t j) {
  return j < A.tokens ? static_cast<const T*>(tokens) + ((b * A.tokens + j) * A.heads_kv + kvh) * dim
                      : static_cast<const T*>(extra) + ((b * A.extra + (j - A.tokens)) * A.heads_kv + kvh) * dim;
}

// rows[j * padded(dim)] = src row j (float32, times mul) for j < count.
template <typename T, class RowOf>
void LoadRows(RowOf row_of, std::int64_t count, int dim, float mul, float* rows) {
  const std::size_t dp = padded(dim);
  for (std::int64_t j = 0; j < count; ++j) LoadRow(row_of(j), dim, mul, rows + static_cast<std::size_t>(j) * dp);
}

// t[d * stride + j] = rows[j * padded(dim) + d]: the transpose, columns [count, stride) zero.
void Transpose(const float* rows, std::int64_t count, int dim, std::size_t stride, float* t) {
  const std::size_t dp = padded(dim);
  for (std::size_t d = 0; d < dp; ++d) {
    float* out = t + d * stride;
    for (std::int64_t j = 0; j < count; ++j) out[j] = rows[static_cast<std::size_t>(j) * dp + d];
    for (std::size_t j = static_cast<std::size_t>(count); j < stride; ++j) out[j] = 0.0f;
  }
}

// Rows [first, first + count) of the keys (or values: tokens, then additional tokens) of kv head
// kvh, as float32 rows of padded(dim).
template <typename T>
void LoadKvRows(const FmhaArgs& A, const void* tokens, const void* extra, std::int64_t b, int kvh, int dim,
                std::int64_t first, std::int64_t count, float* rows) {
  LoadRows<T>([&](std::int64_t j) { return KvRow<T>(A, tokens, extra, b, kvh, dim, first + j); }, count, dim, 1.0f,
              rows);
}

// The queries of a forward / backward-query unit.
struct QueryBlock {
  std::int64_t batch, first;
  int count;
};
QueryBlock QueryBlockOf(const FmhaArgs& A, std::int64_t unit) {
  const std::int64_t blocks = (A.tokens + kFmhaQueryBlock - 1) / kFmhaQueryBlock;
  const std::int64_t first = (unit % blocks) * kFmhaQueryBlock;
  return {unit / blocks, first, static_cast<int>(std::min<std::int64_t>(kFmhaQueryBlock, A.tokens - first))};
}

// s[i * kKeyBlock + j] = q_i . k_(j0 + j) for i < kRows, j < n rounded up to whole vectors.
HWY_INLINE void BlockLogits(const float* q, std::size_t dp, const float* kt, std::size_t stride, std::size_t j0,
                            std::size_t n, int dim, float* s) {
  const DF d;
  for (std::size_t j = 0; j < n; j += kLanes) {
    VF a0 = hn::Zero(d), a1 = hn::Zero(d), a2 = hn::Zero(d), a3 = hn::Zero(d);
    const float* col = kt + j0 + j;
    for (int e = 0; e < dim; ++e) {
      const VF k = hn::LoadU(d, col + static_cast<std::size_t>(e) * stride);
      a0 = hn::MulAdd(hn::Set(d, q[e]), k, a0);
      a1 = hn::MulAdd(hn::Set(d, q[dp + static_cast<std::size_t>(e)]), k, a1);
      a2 = hn::MulAdd(hn::Set(d, q[2 * dp + static_cast<std::size_t>(e)]), k, a2);
      a3 = hn::MulAdd(hn::Set(d, q[3 * dp + static_cast<std::size_t>(e)]), k, a3);
    }
    hn::StoreU(a0, d, s + j);
    hn::StoreU(a1, d, s + kKeyBlock + j);
    hn::StoreU(a2, d, s + 2 * kKeyBlock + j);
    hn::StoreU(a3, d, s + 3 * kKeyBlock + j);
  }
}

// o_i += sum_j p[i * kKeyBlock + j] v_(j0 + j) for i < kRows, j < n.
HWY_INLINE void BlockValues(const float* p, const float* vb, std::size_t dvp, std::size_t j0, std::size_t n, float* o) {
  const DF d;
  for (std::size_t c = 0; c < dvp; c += kLanes) {
    VF a0 = hn::Load(d, o + c), a1 = hn::Load(d, o + dvp + c), a2 = hn::Load(d, o + 2 * dvp + c),
       a3 = hn::Load(d, o + 3 * dvp + c);
    for (std::size_t j = 0; j < n; ++j) {
      const VF v = hn::Load(d, vb + (j0 + j) * dvp + c);
      a0 = hn::MulAdd(hn::Set(d, p[j]), v, a0);
      a1 = hn::MulAdd(hn::Set(d, p[kKeyBlock + j]), v, a1);
      a2 = hn::MulAdd(hn::Set(d, p[2 * kKeyBlock + j]), v, a2);
      a3 = hn::MulAdd(hn::Set(d, p[3 * kKeyBlock + j]), v, a3);
    }
    hn::Store(a0, d, o + c);
    hn::Store(a1, d, o + dvp + c);
    hn::Store(a2, d, o + 2 * dvp + c);
    hn::Store(a3, d, o + 3 * dvp + c);
  }
}

template <typename T>
void FmhaForwardT(const FmhaArgs& A, std::int64_t unit, Workspace& ws) {
  const QueryBlock qblock = QueryBlockOf(A, unit);
  const std::int64_t b = qblock.batch, q0 = qblock.first;
  const int nq = qblock.count;
  const std::int64_t nk = A.tokens + A.extra;
  const std::size_t stride = round_lanes(nk), dp = padded(A.dim), dvp = padded(A.dim_v);
  float* kt = ws.floats(kKeysT, dp * stride);
  float* vb = ws.floats(kValues, static_cast<std::size_t>(nk) * dvp);
  float* qb = ws.floats(kQueries, kRows * dp);
  float* s = ws.floats(kScores, kRows * kKeyBlock);
  float* ob = ws.floats(kOutputs, kRows * dvp);
  float* krows = ws.floats(kRow, static_cast<std::size_t>(nk) * dp);
  const T* query = static_cast<const T*>(A.query);
  T* output = static_cast<T*>(A.output);
  const float ninf = -std::numeric_limits<float>::infinity();

  for (int kvh = 0; kvh < A.heads_kv; ++kvh) {
    LoadKvRows<T>(A, A.key, A.additional_key, b, kvh, A.dim, 0, nk, krows);
    Transpose(krows, nk, A.dim, stride, kt);
    LoadKvRows<T>(A, A.value, A.additional_value, b, kvh, A.dim_v, 0, nk, vb);
    for (int gh = 0; gh < A.group(); ++gh) {
      const int h = kvh * A.group() + gh;
      for (int i0 = 0; i0 < nq; i0 += kRows) {
        const int r = std::min(kRows, nq - i0);
        float m[kRows], l[kRows];
        for (int i = 0; i < kRows; ++i) {
          float* q = qb + static_cast<std::size_t>(i) * dp;
          if (i < r) {
            LoadRow(query + ((b * A.tokens + q0 + i0 + i) * A.heads_q + h) * A.dim, A.dim, A.scale, q);
          } else {
            ZeroRows(q, dp);
          }
          m[i] = ninf;
          l[i] = 0.0f;
        }
        ZeroRows(ob, kRows * dvp);
        for (std::int64_t j0 = 0; j0 < nk; j0 += kKeyBlock) {
          const std::size_t n = static_cast<std::size_t>(std::min<std::int64_t>(kKeyBlock, nk - j0));
          BlockLogits(qb, dp, kt, stride, static_cast<std::size_t>(j0), round_lanes(static_cast<std::int64_t>(n)),
                      A.dim, s);
          for (int i = 0; i < kRows; ++i) {
            float* si = s + static_cast<std::size_t>(i) * kKeyBlock;
            const float m_new = std::max(m[i], SegmentMax(si, n));
            if (m[i] != ninf && m_new != m[i]) {
              const float alpha = std::exp(m[i] - m_new);
              l[i] *= alpha;
              ScaleRow(ob + static_cast<std::size_t>(i) * dvp, alpha, dvp);
            }
            m[i] = m_new;
            l[i] += ExpSegment(si, n, m_new);
          }
          BlockValues(s, vb, dvp, static_cast<std::size_t>(j0), n, ob);
        }
        for (int i = 0; i < r; ++i) {
          const std::int64_t out_row = (b * A.tokens + q0 + i0 + i) * A.heads_q + h;
          StoreRow(ob + static_cast<std::size_t>(i) * dvp, A.dim_v, 1.0f / l[i], output + out_row * A.dim_v);
          A.lse[out_row] = m[i] + std::log(l[i]);
        }
      }
    }
  }
}

// P = exp(S - lse) and dS = P * (dP - delta) of one row of n scores, in place (s becomes dS, p
// receives P); lse and delta are per score (the key pass) or broadcast (stride 0, query pass).
HWY_INLINE void SoftmaxGrad(float* s, float* dp, const float* lse, const float* delta, bool per_score,
                            std::size_t n) {
  const DF d;
  for (std::size_t j = 0; j < n; j += kLanes) {
    const VF l = per_score ? hn::LoadU(d, lse + j) : hn::Set(d, *lse);
    const VF dl = per_score ? hn::LoadU(d, delta + j) : hn::Set(d, *delta);
    const VF p = ExpNonPositive(hn::Sub(hn::LoadU(d, s + j), l));
    hn::StoreU(hn::Mul(p, hn::Sub(hn::LoadU(d, dp + j), dl)), d, s + j);
    hn::StoreU(p, d, dp + j);
  }
}

// dQ of a block of queries: per kv head, keys transposed (logits), values transposed (dP = dO.V),
// keys row-major (dQ += dS K); delta = rowsum(dO * O) is computed here and kept for the key pass.
template <typename T>
void FmhaBackwardQueryT(const FmhaArgs& A, std::int64_t unit, Workspace& ws) {
  const QueryBlock qblock = QueryBlockOf(A, unit);
  const std::int64_t b = qblock.batch, q0 = qblock.first;
  const int nq = qblock.count;
  const std::int64_t nk = A.tokens + A.extra;
  const std::size_t stride = round_lanes(nk), dp = padded(A.dim), dvp = padded(A.dim_v);
  float* kt = ws.floats(kKeysT, dp * stride);
  float* vt = ws.floats(kValuesT, dvp * stride);
  float* krows = ws.floats(kKeys, static_cast<std::size_t>(nk) * dp);
  float* vrows = ws.floats(kValues, static_cast<std::size_t>(nk) * dvp);
  float* qb = ws.floats(kQueries, kRows * dp);
  float* gb = ws.floats(kGrads, kRows * dvp);
  float* s = ws.floats(kScores, kRows * kKeyBlock);
  float* dpb = ws.floats(kDP, kRows * kKeyBlock);
  float* acc = ws.floats(kOutputs, kRows * dp);
  float* orow = ws.floats(kRow, dvp);
  const T* query = static_cast<const T*>(A.query);
  const T* d_output = static_cast<const T*>(A.d_output);
  const T* output = static_cast<const T*>(A.output);
  T* d_query = static_cast<T*>(A.d_query);

  for (int kvh = 0; kvh < A.heads_kv; ++kvh) {
    LoadKvRows<T>(A, A.key, A.additional_key, b, kvh, A.dim, 0, nk, krows);
    Transpose(krows, nk, A.dim, stride, kt);
    LoadKvRows<T>(A, A.value, A.additional_value, b, kvh, A.dim_v, 0, nk, vrows);
    Transpose(vrows, nk, A.dim_v, stride, vt);
    for (int gh = 0; gh < A.group(); ++gh) {
      const int h = kvh * A.group() + gh;
      for (int i0 = 0; i0 < nq; i0 += kRows) {
        const int r = std::min(kRows, nq - i0);
        float lse[kRows], delta[kRows];
        for (int i = 0; i < kRows; ++i) {
          float* q = qb + static_cast<std::size_t>(i) * dp;
          float* g = gb + static_cast<std::size_t>(i) * dvp;
          if (i < r) {
            const std::int64_t row = (b * A.tokens + q0 + i0 + i) * A.heads_q + h;
            LoadRow(query + row * A.dim, A.dim, A.scale, q);
            LoadRow(d_output + row * A.dim_v, A.dim_v, 1.0f, g);
            LoadRow(output + row * A.dim_v, A.dim_v, 1.0f, orow);
            lse[i] = A.lse[row];
            delta[i] = A.delta[row] = DotRow(g, orow, dvp);
          } else {
            ZeroRows(q, dp);
            ZeroRows(g, dvp);
            lse[i] = delta[i] = 0.0f;
          }
        }
        ZeroRows(acc, kRows * dp);
        for (std::int64_t j0 = 0; j0 < nk; j0 += kKeyBlock) {
          const std::size_t n = static_cast<std::size_t>(std::min<std::int64_t>(kKeyBlock, nk - j0));
          const std::size_t nv = round_lanes(static_cast<std::int64_t>(n));
          BlockLogits(qb, dp, kt, stride, static_cast<std::size_t>(j0), nv, A.dim, s);
          BlockLogits(gb, dvp, vt, stride, static_cast<std::size_t>(j0), nv, A.dim_v, dpb);
          for (int i = 0; i < kRows; ++i) {
            SoftmaxGrad(s + i * kKeyBlock, dpb + i * kKeyBlock, &lse[i], &delta[i], false, nv);
            for (std::size_t j = n; j < nv; ++j) s[static_cast<std::size_t>(i) * kKeyBlock + j] = 0.0f;
          }
          BlockValues(s, krows, dp, static_cast<std::size_t>(j0), n, acc);
        }
        for (int i = 0; i < r; ++i) {
          const std::int64_t row = (b * A.tokens + q0 + i0 + i) * A.heads_q + h;
          StoreRow(acc + static_cast<std::size_t>(i) * dp, A.dim, A.scale, d_query + row * A.dim);
        }
      }
    }
  }
}

// dK and dV of a block of keys (tokens, then additional tokens), gathered over every query of
// every query head of the kv group: the query pass's mirror with queries transposed.
template <typename T>
void FmhaBackwardKeyT(const FmhaArgs& A, std::int64_t unit, Workspace& ws) {
  const std::int64_t nk = A.tokens + A.extra;
  const std::int64_t blocks = (nk + kFmhaKeyBlock - 1) / kFmhaKeyBlock;
  const std::int64_t b = unit / blocks, k0 = (unit % blocks) * kFmhaKeyBlock;
  const int nkb = static_cast<int>(std::min<std::int64_t>(kFmhaKeyBlock, nk - k0));
  const std::int64_t nq = A.tokens;
  const std::size_t stride = round_lanes(nq), dp = padded(A.dim), dvp = padded(A.dim_v);
  float* qt = ws.floats(kKeysT, dp * stride);
  float* gt = ws.floats(kValuesT, dvp * stride);
  float* qrows = ws.floats(kQueries, static_cast<std::size_t>(nq) * dp);
  float* grows = ws.floats(kGrads, static_cast<std::size_t>(nq) * dvp);
  float* stats = ws.floats(kStats, 2 * stride);  // lse, then delta, per query
  float* kb = ws.floats(kKeys, static_cast<std::size_t>(kFmhaKeyBlock) * dp);
  float* vb = ws.floats(kValues, static_cast<std::size_t>(kFmhaKeyBlock) * dvp);
  float* s = ws.floats(kScores, kRows * kKeyBlock);
  float* dpb = ws.floats(kDP, kRows * kKeyBlock);
  float* dk = ws.floats(kOutputs, static_cast<std::size_t>(kFmhaKeyBlock) * dp);
  float* dv = ws.floats(kRow, static_cast<std::size_t>(kFmhaKeyBlock) * dvp);
  const T* query = static_cast<const T*>(A.query);
  const T* d_output = static_cast<const T*>(A.d_output);

  for (int kvh = 0; kvh < A.heads_kv; ++kvh) {
    // Key/value rows of the block, zero rows up to a whole register block.
    LoadKvRows<T>(A, A.key, A.additional_key, b, kvh, A.dim, k0, nkb, kb);
    LoadKvRows<T>(A, A.value, A.additional_value, b, kvh, A.dim_v, k0, nkb, vb);
    const int nkr = (nkb + kRows - 1) / kRows * kRows;
    ZeroRows(kb + static_cast<std::size_t>(nkb) * dp, static_cast<std::size_t>(nkr - nkb) * dp);
    ZeroRows(vb + static_cast<std::size_t>(nkb) * dvp, static_cast<std::size_t>(nkr - nkb) * dvp);
    ZeroRows(dk, static_cast<std::size_t>(nkr) * dp);
    ZeroRows(dv, static_cast<std::size_t>(nkr) * dvp);
    for (int gh = 0; gh < A.group(); ++gh) {
      const int h = kvh * A.group() + gh;
      const auto row_of = [&](std::int64_t i) { return (b * A.tokens + i) * A.heads_q + h; };
      LoadRows<T>([&](std::int64_t i) { return query + row_of(i) * A.dim; }, nq, A.dim, A.scale, qrows);
      Transpose(qrows, nq, A.dim, stride, qt);
      LoadRows<T>([&](std::int64_t i) { return d_output + row_of(i) * A.dim_v; }, nq, A.dim_v, 1.0f, grows);
      Transpose(grows, nq, A.dim_v, stride, gt);
      for (std::size_t i = 0; i < stride; ++i) {
        const bool in = static_cast<std::int64_t>(i) < nq;
        stats[i] = in ? A.lse[row_of(static_cast<std::int64_t>(i))] : 0.0f;
        stats[stride + i] = in ? A.delta[row_of(static_cast<std::int64_t>(i))] : 0.0f;
      }
      for (int j = 0; j < nkr; j += kRows) {
        float* kj = kb + static_cast<std::size_t>(j) * dp;
        float* vj = vb + static_cast<std::size_t>(j) * dvp;
        for (std::int64_t i0 = 0; i0 < nq; i0 += kKeyBlock) {
          const std::size_t n = static_cast<std::size_t>(std::min<std::int64_t>(kKeyBlock, nq - i0));
          const std::size_t nv = round_lanes(static_cast<std::int64_t>(n));
          const std::size_t c0 = static_cast<std::size_t>(i0);
          BlockLogits(kj, dp, qt, stride, c0, nv, A.dim, s);
          BlockLogits(vj, dvp, gt, stride, c0, nv, A.dim_v, dpb);
          for (int r = 0; r < kRows; ++r) {
            SoftmaxGrad(s + r * kKeyBlock, dpb + r * kKeyBlock, stats + c0, stats + stride + c0, true, nv);
          }
          BlockValues(dpb, grows, dvp, c0, n, dv + static_cast<std::size_t>(j) * dvp);  // dV += P^T dO
          BlockValues(s, qrows, dp, c0, n, dk + static_cast<std::size_t>(j) * dp);      // dK += dS^T (scale Q)
        }
      }
    }
    for (int j = 0; j < nkb; ++j) {
      const std::int64_t key = k0 + j;
      T* dkr = key < A.tokens ? static_cast<T*>(A.d_key) + ((b * A.tokens + key) * A.heads_kv + kvh) * A.dim
                              : static_cast<T*>(A.d_additional_key) +
                                    ((b * A.extra + key - A.tokens) * A.heads_kv + kvh) * A.dim;
      T* dvr = key < A.tokens ? static_cast<T*>(A.d_value) + ((b * A.tokens + key) * A.heads_kv + kvh) * A.dim_v
                              : static_cast<T*>(A.d_additional_value) +
                                    ((b * A.extra + key - A.tokens) * A.heads_kv + kvh) * A.dim_v;
      StoreRow(dk + static_cast<std::size_t>(j) * dp, A.dim, 1.0f, dkr);
      StoreRow(dv + static_cast<std::size_t>(j) * dvp, A.dim_v, 1.0f, dvr);
    }
  }
}

NATTEN_CPU_FMHA_KERNELS(NATTEN_CPU_DTYPE_ENTRIES)

}  // namespace
}  // namespace natten::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace natten::cpu {

NATTEN_CPU_FMHA_KERNELS(NATTEN_CPU_DTYPE_DISPATCH)

}  // namespace natten::cpu
#endif
