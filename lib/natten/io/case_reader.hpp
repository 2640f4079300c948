// Reading (and writing the shared attributes of) one case group of a natten-ref file: typed attributes, the NA parameters, and datasets
// checked for rank and finiteness and converted to heads-last. Shared by the fused cases
// (ref_case.cpp) and the split/merge cases (split_case.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "natten/core/problem.hpp"
#include "natten/io/h5.hpp"

namespace natten {

// Axis order taking a heads-first tensor [B, H, *S, (D)] to heads-last [B, *S, H, (D)].
std::vector<int> heads_first_to_last(int rank, bool has_dim);

class CaseReader {
 public:
  CaseReader(const h5::Group& g, const std::string& name, std::int64_t max_elements)
      : g_(g), name_(name), max_(max_elements) {}

  const std::string& name() const { return name_; }
  std::string str(const char* attr) const;
  std::vector<std::int64_t> ints(const char* attr, int rank) const;  // one per axis, each in [0, 2^30]
  bool has(const char* dataset) const { return g_.has_dataset(dataset); }

  // rank, kernel_size, stride, dilation, is_causal and (when present) scale.
  NAParams na_params() const;
  // The case's dtype attribute.
  DType dtype() const;
  // The layout attribute (default heads_last); true for heads_first.
  bool heads_first() const;

  // Which values a dataset may hold: reference data must be finite (a NaN there would make every
  // comparison meaningless), masked attention slots are -inf, and a candidate's NaN/Inf is a
  // result to report rather than a malformed file.
  enum class Values { finite, finite_or_neg_inf, any };

  // Reads a dataset, checks it has `axes` axes and the allowed values, converts it to heads-last
  // when heads_first and permute.
  Tensor tensor(const char* dataset, DType dtype, int axes, bool heads_first, int na_rank, bool has_dim,
                bool permute = true, Values allowed = Values::finite) const;

 private:
  void require(const char* attr) const;
  const h5::Group& g_;
  const std::string& name_;
  std::int64_t max_;
};

// Writes rank, kernel_size, stride, dilation (int64[rank]) and is_causal (int8[rank]).
void write_na_params(const h5::Group& g, const NAParams& params);

// Fails with "case '<name>': dataset '<ds>' has shape ... (heads-last), expected ..." on mismatch.
void expect_case_shape(const std::string& name, const char* dataset, const Tensor& t, const Shape& want);

}  // namespace natten
