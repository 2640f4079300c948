// A strided n-d array of float32, float16 or bfloat16 elements over shared storage.
//
// Tensors the library produces are contiguous and row-major; views (permute, slice) keep the
// storage and change shape/strides, and contiguous() materializes them. Element access by flat
// index is for tests, I/O and the reference backend: fast backends take typed pointers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "natten/core/dtype.hpp"

namespace natten {

using Shape = std::vector<std::int64_t>;

std::int64_t numel(const Shape& shape);
std::string shape_str(const Shape& shape);  // "[2, 8, 4, 32]"

class Tensor {
 public:
  Tensor() = default;
  static Tensor empty(const Shape& shape, DType dtype);  // uninitialized
  static Tensor zeros(const Shape& shape, DType dtype);
  // Copies `values` (row-major, numel(shape) of them), rounding to `dtype`.
  static Tensor from_floats(const Shape& shape, DType dtype, const float* values);

  bool defined() const { return storage_ != nullptr; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int dim() const { return static_cast<int>(shape_.size()); }
  std::int64_t size(int axis) const;  // negative axis counts from the end
  std::int64_t numel() const { return natten::numel(shape_); }
  bool is_contiguous() const { return contiguous_; }

  // Element `i` of the row-major enumeration of the shape, as float.
  float get(std::int64_t i) const;
  void set(std::int64_t i, float v);  // rounds to dtype

  std::vector<float> to_floats() const;       // row-major
  std::vector<double> to_doubles() const;     // row-major
  void fill(float v);

  Tensor permute(const std::vector<int>& order) const;  // a view
  Tensor contiguous() const;                            // self if already contiguous
  Tensor to(DType t) const;                             // contiguous copy in another dtype
  Tensor clone() const;

  template <typename T>
  T* data() const {
    return reinterpret_cast<T*>(static_cast<std::byte*>(storage_.get()) + offset_bytes());
  }
  void* raw() const { return data<std::byte>(); }

 private:
  std::size_t offset_bytes() const { return static_cast<std::size_t>(offset_) * dtype_size(dtype_); }
  std::int64_t storage_index(std::int64_t flat) const;

  std::shared_ptr<void> storage_;
  DType dtype_ = DType::f32;
  Shape shape_;
  Shape strides_;
  std::int64_t offset_ = 0;
  bool contiguous_ = true;  // strides are the row-major strides of shape
};

// Largest |a - b| over all elements (shapes must match); NaN anywhere gives NaN.
double max_abs_diff(const Tensor& a, const Tensor& b);

}  // namespace natten
