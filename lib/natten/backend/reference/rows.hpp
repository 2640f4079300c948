// Double-precision copies of tensors for the reference backend's loops.
#pragma once

#include <cstdint>
#include <vector>

#include "natten/core/tensor.hpp"

namespace natten::reference {

// Row-major [B, T, H, D] view over a double copy of a token tensor (T = tokens or extra KV).
struct Rows {
  std::vector<double> v;
  std::int64_t tokens = 0;
  int heads = 0, dim = 0;

  Rows() = default;
  Rows(const Tensor& t, std::int64_t tokens_, int heads_, int dim_)
      : v(t.defined() ? t.to_doubles() : std::vector<double>()), tokens(tokens_), heads(heads_), dim(dim_) {}
  static Rows zeros(std::int64_t batch, std::int64_t tokens, int heads, int dim) {
    Rows r;
    r.v.assign(static_cast<std::size_t>(batch * tokens * heads * dim), 0.0);
    r.tokens = tokens;
    r.heads = heads;
    r.dim = dim;
    return r;
  }
  double* at(std::int64_t b, std::int64_t t, int h) { return v.data() + ((b * tokens + t) * heads + h) * dim; }
  // Writes every element (rounded to out's dtype); out must hold exactly v.size() elements.
  void store(Tensor& out) const {
    for (std::size_t i = 0; i < v.size(); ++i) out.set(static_cast<std::int64_t>(i), static_cast<float>(v[i]));
  }
};

inline double dot(const double* a, const double* b, int n) {
  double s = 0.0;
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace natten::reference
