// Per-target inner kernels of the vector runs over a row block (row_blocks.hpp): every pass of
// the forward and backward is built from these two, on dim-major ("column") scratch (simd-inl.h).
//
//   ChunkDots        scores  out[r][key] = sum_c a_r[c][lanes] * b[c][key row + x + lanes]
//   ChunkAccumulate  sums    acc_r[c][lanes] += sum_key w_r[key][lanes] * b[c][key row + x + lanes]
//
// Each key row is read by the block rows [lo, hi) (KeyRow); a branch per key row picks the
// compile-time reader set, so accumulators stay in registers and one shifted load of `b` feeds
// hi - lo multiply-adds while one load of a row's vector feeds a whole block of keys (or channels).

// Per-target include guard (Highway's pattern).
#if defined(NATTEN_CPU_ROW_KERNELS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NATTEN_CPU_ROW_KERNELS_INL_H_
#undef NATTEN_CPU_ROW_KERNELS_INL_H_
#else
#define NATTEN_CPU_ROW_KERNELS_INL_H_
#endif

#include "natten/backend/cpu/fused/row_blocks.hpp"
#include "natten/backend/cpu/common/simd-inl.h"

HWY_BEFORE_NAMESPACE();
namespace natten::cpu::HWY_NAMESPACE {

// Vector registers of the target: the accumulator tiles are sized to leave a few free.
#if HWY_ARCH_X86 && HWY_TARGET > HWY_AVX3
constexpr int kVectorRegs = 16;
#else
constexpr int kVectorRegs = 32;
#endif
// Rows per block: 3 rows x 7 keys is one 2D K=7 key row per call with 32 registers; 16 registers
// fit 2 rows x 5.
constexpr int kBlockRows = kVectorRegs >= 32 ? 3 : 2;
static_assert(kBlockRows <= kMaxBlockRows, "row blocks hold at most kMaxBlockRows rows");

// Widest block of keys or channels for n rows: n * block accumulators + n row vectors + one
// shifted load + one spare.
constexpr int MaxBlock(int n) {
  const int fit = (kVectorRegs - 2 * n - 1) / n;  // also leaves room for a row's second vector
  return fit > 8 ? 8 : (fit < 1 ? 1 : fit);
}

// Pins a loaded vector to a register. Without it GCC folds the shared load into every row's FMA
// as a memory operand (one load per FMA again, measured: the kernels ran load-bound at about half
// the FMA rate); the empty asm makes the value opaque, so it is loaded once and reused.
HWY_INLINE VF Pinned(VF v) {
#if (defined(__GNUC__) || defined(__clang__)) && (HWY_ARCH_X86 || HWY_ARCH_ARM_A64) && HWY_TARGET != HWY_SCALAR && \
    HWY_TARGET != HWY_EMU128
#if HWY_ARCH_X86
  asm("" : "+v"(v.raw));
#elif HWY_TARGET == HWY_SVE_256 || HWY_TARGET == HWY_SVE2_128
  asm("" : "+w"(v));  // SVE: the vector is the sizeless ACLE type itself
#else
  asm("" : "+w"(v.raw));
#endif
#endif
  return v;
}

// A chunk of a row block's key rows as the kernels see them.
struct BlockChunk {
  const KeyRow* key_row;  // the chunk's key rows
  int lane0;              // lane-axis position of the run's lane-0 window start (+ chunk offset)
  int keys;               // keys per key row in this chunk (x = 0 .. keys - 1)
  int base[kMaxBlockRows];  // per block row: its window slot of the chunk's first key row it reads
};

// Offset of key row kr's step 0 in the key-side columns (signed: masked runs may start before
// a row, reading the previous row's tail or the buffer's front padding, see KeyUnitT).
HWY_INLINE std::ptrdiff_t KeyRowOffset(const BlockChunk& ch, const KeyRow& kr, std::size_t row_floats) {
  return static_cast<std::ptrdiff_t>(kr.row) * static_cast<std::ptrdiff_t>(row_floats) + ch.lane0;
}

// Vector index (in a row's chunk buffer) of key x of key row kr for block row r.
HWY_INLINE std::size_t ChunkIndex(const BlockChunk& ch, const KeyRow& kr, int r, int x) {
  return static_cast<std::size_t>((kr.slot[r] - ch.base[r]) * ch.keys + x);
}

// Calls f(std::integral_constant<int, lo>, std::integral_constant<int, n>) for a key row's reader
// rows [lo, lo + n) of a block (lo + n <= kBlockRows).
template <class F>
HWY_INLINE void WithReaders(int lo, int n, F&& f) {
  static_assert(kBlockRows <= 3, "reader sets are spelled out for blocks of up to 3 rows");
  using std::integral_constant;
  switch (lo * 4 + n) {
    case 1: f(integral_constant<int, 0>(), integral_constant<int, 1>()); break;
    case 2:
      if constexpr (kBlockRows >= 2) f(integral_constant<int, 0>(), integral_constant<int, 2>());
      break;
    case 3:
      if constexpr (kBlockRows >= 3) f(integral_constant<int, 0>(), integral_constant<int, 3>());
      break;
    case 5:
      if constexpr (kBlockRows >= 2) f(integral_constant<int, 1>(), integral_constant<int, 1>());
      break;
    case 6:
      if constexpr (kBlockRows >= 3) f(integral_constant<int, 1>(), integral_constant<int, 2>());
      break;
    case 9:
      if constexpr (kBlockRows >= 3) f(integral_constant<int, 2>(), integral_constant<int, 1>());
      break;
    default: break;
  }
}

template <bool kPerm>
struct BlockKernels {
  // Scores of keys [x0, x0 + kB) of every key row of the chunk, for the key row's reader rows.
  template <int kB>
  static HWY_INLINE void Dots(const BlockChunk& ch, int key_rows, int x0, const float* const* a, std::size_t lda,
                              const float* HWY_RESTRICT b, std::size_t ldb, std::size_t row_floats, int dim,
                              const LaneIndices& perm, float* const* out, float* row_max) {
    const DF d;
    for (int u = 0; u < key_rows; ++u) {
      const KeyRow& kr = ch.key_row[u];
      const float* bp = b + KeyRowOffset(ch, kr, row_floats) + x0;
      WithReaders(kr.lo, kr.hi - kr.lo, [&](auto lo_c, auto n_c) {
        constexpr int kLo = decltype(lo_c)::value, kN = decltype(n_c)::value;
        VFSlot acc[kN][kB];
        for (int r = 0; r < kN; ++r) {
          for (int j = 0; j < kB; ++j) acc[r][j] = hn::Zero(d);
        }
        for (int c = 0; c < dim; ++c) {
          VFSlot av[kN];
          for (int r = 0; r < kN; ++r) av[r] = hn::LoadU(d, a[kLo + r] + static_cast<std::size_t>(c) * lda);
          const float* bc = bp + static_cast<std::size_t>(c) * ldb;
          for (int j = 0; j < kB; ++j) {
            const VF bv = Pinned(ShiftedLoad<kPerm>(bc + j, perm));
            for (int r = 0; r < kN; ++r) acc[r][j] = hn::MulAdd(av[r], bv, acc[r][j]);
          }
        }
        for (int r = 0; r < kN; ++r) {
          float* o = out[kLo + r] + ChunkIndex(ch, kr, kLo + r, x0) * kLanes;
          for (int j = 0; j < kB; ++j) hn::Store(acc[r][j], d, o + static_cast<std::size_t>(j) * kLanes);
        }
        if (row_max != nullptr) {  // the forward's softmax needs each row's running max
          for (int r = 0; r < kN; ++r) {
            float* m = row_max + static_cast<std::size_t>(kLo + r) * kLanes;
            VF v = hn::Load(d, m);
            for (int j = 0; j < kB; ++j) v = hn::Max(v, acc[r][j]);
            hn::Store(v, d, m);
          }
        }
      });
    }
  }

  // acc[r][c] += sum over keys of w[r][key] * b[c][key], channels [c0, c0 + kB), every key row of
  // the chunk. The accumulators of all block rows stay in registers across key rows (each key row
  // updates those of its rows [lo, hi), a compile-time set per branch): reloading them per run of
  // key rows with one reader pattern cost as much as the FMAs when key rows are short (3D, K=3).
  template <int kB>
  static HWY_INLINE void Accumulate(const BlockChunk& ch, int key_rows, int rows, int c0, const float* const* w,
                                    const float* HWY_RESTRICT b, std::size_t ldb, std::size_t row_floats,
                                    const LaneIndices& perm, float* const* acc) {
    const DF d;
    VFSlot t[kBlockRows][kB];
    for (int r = 0; r < kBlockRows; ++r) {
      for (int j = 0; j < kB; ++j) {
        t[r][j] = r < rows ? hn::Load(d, acc[r] + static_cast<std::size_t>(c0 + j) * kLanes) : hn::Zero(d);
      }
    }
    for (int u = 0; u < key_rows; ++u) {
      const KeyRow& kr = ch.key_row[u];
      const float* bp = b + KeyRowOffset(ch, kr, row_floats) + static_cast<std::ptrdiff_t>(c0) * static_cast<std::ptrdiff_t>(ldb);
      WithReaders(kr.lo, kr.hi - kr.lo, [&](auto lo_c, auto n_c) {
        constexpr int kLo = decltype(lo_c)::value, kN = decltype(n_c)::value;
        const float* wr[kN];
        for (int r = 0; r < kN; ++r) wr[r] = w[kLo + r] + ChunkIndex(ch, kr, kLo + r, 0) * kLanes;
        for (int x = 0; x < ch.keys; ++x) {
          VFSlot wv[kN];
          for (int r = 0; r < kN; ++r) wv[r] = hn::Load(d, wr[r] + static_cast<std::size_t>(x) * kLanes);
          for (int j = 0; j < kB; ++j) {
            const VF bv = Pinned(ShiftedLoad<kPerm>(bp + static_cast<std::size_t>(j) * ldb + x, perm));
            for (int r = 0; r < kN; ++r) t[kLo + r][j] = hn::MulAdd(wv[r], bv, t[kLo + r][j]);
          }
        }
      });
    }
    for (int r = 0; r < rows; ++r) {
      for (int j = 0; j < kB; ++j) hn::Store(t[r][j], d, acc[r] + static_cast<std::size_t>(c0 + j) * kLanes);
    }
  }
};

// Calls f(std::integral_constant<int, kB>, first) over [0, n) in balanced blocks of at most kMax
// (a remainder of one would be a single latency-bound chain).
template <int kMax, class F>
HWY_INLINE void ForBlocks(int n, F&& f) {
  if (n <= 0) return;
  const int blocks = (n + kMax - 1) / kMax, base = n / blocks, extra = n % blocks;
  for (int i = 0, first = 0; i < blocks; ++i) {
    const int size = base + (i < extra ? 1 : 0);
    switch (size) {
#define NATTEN_BLOCK_CASE(k) \
  case k:                    \
    if constexpr (k <= kMax) f(std::integral_constant<int, k>(), first); \
    break;
      NATTEN_BLOCK_CASE(8)
      NATTEN_BLOCK_CASE(7)
      NATTEN_BLOCK_CASE(6)
      NATTEN_BLOCK_CASE(5)
      NATTEN_BLOCK_CASE(4)
      NATTEN_BLOCK_CASE(3)
      NATTEN_BLOCK_CASE(2)
#undef NATTEN_BLOCK_CASE
      default: f(std::integral_constant<int, 1>(), first); break;
    }
    first += size;
  }
}

// Scores of a chunk: out[r] (per block row, the chunk's vectors in ChunkIndex order) = dots of the
// rows' columns a[r] (a[r] + c * lda) with the keys' columns b (key row kr at
// b + kr.row * row_floats, element c at + c * ldb). With row_max (a vector per block row), also
// row_max[r] = max(row_max[r], every score of row r).
HWY_INLINE void ChunkDots(const BlockChunk& ch, int key_rows, const float* const* a, std::size_t lda, const float* b,
                          std::size_t ldb, std::size_t row_floats, int dim, const LaneIndices* perm,
                          float* const* out, float* row_max = nullptr) {
  ForBlocks<MaxBlock(kBlockRows)>(ch.keys, [&](auto blk, int x0) {
    constexpr int kB = decltype(blk)::value;
    if (perm != nullptr) {
      BlockKernels<true>::template Dots<kB>(ch, key_rows, x0, a, lda, b, ldb, row_floats, dim, *perm, out, row_max);
    } else {
      BlockKernels<false>::template Dots<kB>(ch, key_rows, x0, a, lda, b, ldb, row_floats, dim, LaneIndices(), out,
                                            row_max);
    }
  });
}

// acc[r] (dim vectors per block row) += weighted sums of the keys' columns b with the chunk's
// weights w[r] (ChunkIndex order).
HWY_INLINE void ChunkAccumulate(const BlockChunk& ch, int key_rows, int rows, const float* const* w, const float* b,
                                std::size_t ldb, std::size_t row_floats, int dim, const LaneIndices* perm,
                                float* const* acc) {
  ForBlocks<MaxBlock(kBlockRows)>(dim, [&](auto blk, int c0) {
    constexpr int kB = decltype(blk)::value;
    if (perm != nullptr) {
      BlockKernels<true>::template Accumulate<kB>(ch, key_rows, rows, c0, w, b, ldb, row_floats, *perm, acc);
    } else {
      BlockKernels<false>::template Accumulate<kB>(ch, key_rows, rows, c0, w, b, ldb, row_floats, LaneIndices(), acc);
    }
  });
}

// A run's lane 0 in each block row: its tile entry and the matching columns of two tile-side
// dim-major copies (entry e's element c at cols + c * ld + e).
struct BlockRowColumns {
  int entry[kMaxBlockRows] = {};
  const float* a[kMaxBlockRows] = {};
  const float* b[kMaxBlockRows] = {};
};
HWY_INLINE BlockRowColumns RowColumns(const RowBlock& rb, int row_length, int run_begin, const float* a,
                                      const float* b) {
  BlockRowColumns c;
  for (int r = 0; r < rb.rows; ++r) {
    c.entry[r] = (rb.first_row + r) * row_length + run_begin;
    c.a[r] = a + c.entry[r];
    c.b[r] = b != nullptr ? b + c.entry[r] : nullptr;
  }
  return c;
}

// Calls f(chunk, key_rows, rows_read) over the chunks of a row block for a run whose lane-0
// window starts at lane0 (halo row offset) and holds kx keys per key row: consecutive key rows
// (and, when a key row alone has more than `budget` keys, ranges of its keys) such that no block
// row reads more than `budget` keys of a chunk. rows_read[r]: key rows of the chunk row r reads
// (its scores are the first rows_read[r] * chunk.keys vectors of its buffer). Windows of any size
// thus run in bounded memory (online softmax across chunks).
template <class F>
HWY_INLINE void ForChunks(const RowBlock& rb, const KeyRow* kr, int lane0, int kx, int budget, F&& f) {
  const int width = kx < budget ? kx : budget;
  const int rows_per_chunk = kx <= budget ? budget / kx : 1;
  for (int x0 = 0; x0 < kx; x0 += width) {
    BlockChunk ch{};
    ch.lane0 = lane0 + x0;
    ch.keys = kx - x0 < width ? kx - x0 : width;
    for (int u0 = 0; u0 < rb.key_rows;) {
      int rows_read[kMaxBlockRows] = {};
      int u1 = u0;
      for (; u1 < rb.key_rows; ++u1) {
        bool fits = true;
        for (int r = kr[u1].lo; r < kr[u1].hi; ++r) fits = fits && rows_read[r] < rows_per_chunk;
        if (!fits) break;
        for (int r = kr[u1].lo; r < kr[u1].hi; ++r) {
          if (rows_read[r]++ == 0) ch.base[r] = kr[u1].slot[r];
        }
      }
      ch.key_row = kr + u0;
      f(static_cast<const BlockChunk&>(ch), u1 - u0, static_cast<const int*>(rows_read));
      u0 = u1;
    }
  }
}

}  // namespace natten::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NATTEN_CPU_ROW_KERNELS_INL_H_
