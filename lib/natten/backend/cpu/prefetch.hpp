// Software prefetch of the rows the next head of a unit will copy, spread over this head's work.
//
// A unit copies, per head, its tile's query rows and (per kv head) its halo's key and value rows:
// 128-byte pieces (one head) of strided token rows, an order the hardware prefetchers do not
// follow, so without help every copy waits on memory (measured on the 2D 64x64 forward: the copies
// took about a third of the time). While one head computes, its prefetcher walks the rows the next
// head needs, a slice per vector-run call, so they arrive in cache before the copy reads them.
#pragma once

#include <cstddef>
#include <cstdint>

#include <hwy/cache_control.h>

#include "natten/backend/cpu/kernel_args.hpp"

namespace natten::cpu {

class RowPrefetcher {
 public:
  static constexpr int kMaxParts = 4;

  // Rows of head `head` of a heads-last tensor at the tokens list[0, count) of batch `batch`.
  template <typename T>
  void add(const void* tensor, std::int64_t tokens, std::int64_t batch, int heads, int head, int dim, const int* list,
           int count) {
    if (parts_ == kMaxParts || count == 0) return;
    Part& p = part_[parts_++];
    const std::size_t row_bytes = static_cast<std::size_t>(dim) * sizeof(T);
    p.base = static_cast<const char*>(tensor) +
             (static_cast<std::size_t>(batch * tokens) * static_cast<std::size_t>(heads) + static_cast<std::size_t>(head)) * row_bytes;
    p.token_bytes = static_cast<std::size_t>(heads) * row_bytes;
    p.row_bytes = row_bytes;
    p.list = list;
    p.count = count;
    total_ += count;
  }

  // The rows the head after `head` copies: its query-side tensors `per_head` at tokens qtok[0, qn)
  // and, when `head` is the last of its kv group, the next kv head's tensors `per_kv_head` at
  // kvtok[0, kvn). Nothing after the last head.
  struct Tensor {
    const void* data;
    int dim;
  };
  template <typename T, std::size_t kQ, std::size_t kKv>
  void add_next_head(const Extents& e, std::int64_t batch, int head, const Tensor (&per_head)[kQ], const int* qtok,
                     int qn, const Tensor (&per_kv_head)[kKv], const int* kvtok, int kvn) {
    if (head + 1 >= e.heads_q) return;
    for (const Tensor& t : per_head) add<T>(t.data, e.tokens, batch, e.heads_q, head + 1, t.dim, qtok, qn);
    if ((head + 1) % e.group() != 0) return;
    for (const Tensor& t : per_kv_head) add<T>(t.data, e.tokens, batch, e.heads_kv, (head + 1) / e.group(), t.dim, kvtok, kvn);
  }

  // Spreads the rows over `calls` calls of step().
  void plan(int calls) { per_call_ = calls > 0 ? (total_ + calls - 1) / calls : total_; }

  void step() {
    for (int n = 0; n < per_call_ && part_index_ < parts_; ++n) {
      const Part& p = part_[part_index_];
      const char* row = p.base + static_cast<std::size_t>(p.list[pos_]) * p.token_bytes;
      for (std::size_t i = 0; i < p.row_bytes; i += 64) hwy::Prefetch(row + i);
      if (++pos_ == p.count) {
        pos_ = 0;
        ++part_index_;
      }
    }
  }

 private:
  struct Part {
    const char* base = nullptr;
    std::size_t token_bytes = 0, row_bytes = 0;
    const int* list = nullptr;
    int count = 0;
  };
  Part part_[kMaxParts];
  int parts_ = 0, part_index_ = 0, pos_ = 0, total_ = 0, per_call_ = 0;
};

}  // namespace natten::cpu
