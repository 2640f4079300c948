#include "natten/core/tensor.hpp"

#include <cmath>
#include <cstdlib>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "natten/core/error.hpp"

namespace natten {

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "float32";
    case DType::f16: return "float16";
    case DType::bf16: return "bfloat16";
  }
  return "?";
}

DType parse_dtype(std::string_view name) {
  if (name == "float32" || name == "fp32" || name == "f32") return DType::f32;
  if (name == "float16" || name == "fp16" || name == "f16" || name == "half") return DType::f16;
  if (name == "bfloat16" || name == "bf16") return DType::bf16;
  fail("dtype: unknown '{}' (expected fp32, fp16 or bf16)", name);
}

std::size_t dtype_size(DType t) { return t == DType::f32 ? 4 : 2; }

std::int64_t numel(const Shape& shape) {
  std::int64_t n = 1;
  for (auto s : shape) n *= s;
  return n;
}

std::string shape_str(const Shape& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

namespace {

Shape row_major_strides(const Shape& shape) {
  Shape st(shape.size());
  std::int64_t acc = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    st[i] = acc;
    acc *= shape[i];
  }
  return st;
}

// 64-byte aligned so SIMD kernels may use aligned loads on whole tensors.
std::shared_ptr<void> allocate(std::size_t bytes) {
  const std::size_t rounded = ((bytes + 63) / 64) * 64;
  void* p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
  if (p == nullptr) fail("tensor: cannot allocate {} bytes", bytes);
  return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}

}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype) {
  for (auto s : shape) {
    if (s < 0) fail("tensor: negative extent in shape {}", shape_str(shape));
  }
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = shape;
  t.strides_ = row_major_strides(shape);
  t.storage_ = allocate(static_cast<std::size_t>(natten::numel(shape)) * dtype_size(dtype));
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  std::memset(t.raw(), 0, static_cast<std::size_t>(t.numel()) * dtype_size(dtype));
  return t;
}

Tensor Tensor::from_floats(const Shape& shape, DType dtype, const float* values) {
  Tensor t = empty(shape, dtype);
  const std::int64_t n = t.numel();
  for (std::int64_t i = 0; i < n; ++i) t.set(i, values[i]);
  return t;
}

std::int64_t Tensor::size(int axis) const {
  const int a = axis < 0 ? axis + dim() : axis;
  if (a < 0 || a >= dim()) fail("tensor: axis {} out of range for rank {}", axis, dim());
  return shape_[static_cast<std::size_t>(a)];
}

std::int64_t Tensor::storage_index(std::int64_t flat) const {
  std::int64_t idx = 0;
  for (std::size_t i = shape_.size(); i-- > 0;) {
    const std::int64_t e = shape_[i];
    idx += (flat % e) * strides_[i];
    flat /= e;
  }
  return idx;
}

float Tensor::get(std::int64_t i) const {
  const std::int64_t s = is_contiguous() ? i : storage_index(i);
  switch (dtype_) {
    case DType::f32: return data<float>()[s];
    case DType::f16: return half_bits_to_float(data<std::uint16_t>()[s]);
    case DType::bf16: return bf16_bits_to_float(data<std::uint16_t>()[s]);
  }
  return 0.0f;
}

void Tensor::set(std::int64_t i, float v) {
  const std::int64_t s = is_contiguous() ? i : storage_index(i);
  switch (dtype_) {
    case DType::f32: data<float>()[s] = v; break;
    case DType::f16: data<std::uint16_t>()[s] = float_to_half_bits(v); break;
    case DType::bf16: data<std::uint16_t>()[s] = float_to_bf16_bits(v); break;
  }
}

std::vector<float> Tensor::to_floats() const {
  std::vector<float> out(static_cast<std::size_t>(numel()));
  const Tensor c = contiguous();
  for (std::int64_t i = 0; i < c.numel(); ++i) out[static_cast<std::size_t>(i)] = c.get(i);
  return out;
}

std::vector<double> Tensor::to_doubles() const {
  std::vector<double> out(static_cast<std::size_t>(numel()));
  const Tensor c = contiguous();
  for (std::int64_t i = 0; i < c.numel(); ++i) out[static_cast<std::size_t>(i)] = c.get(i);
  return out;
}

void Tensor::fill(float v) {
  for (std::int64_t i = 0; i < numel(); ++i) set(i, v);
}

Tensor Tensor::permute(const std::vector<int>& order) const {
  if (order.size() != shape_.size()) fail("tensor: permute order has {} axes, tensor has {}", order.size(), dim());
  std::vector<bool> seen(order.size(), false);
  Tensor t = *this;
  for (std::size_t i = 0; i < order.size(); ++i) {
    const int o = order[i];
    if (o < 0 || o >= dim() || seen[static_cast<std::size_t>(o)]) fail("tensor: invalid permute order");
    seen[static_cast<std::size_t>(o)] = true;
    t.shape_[i] = shape_[static_cast<std::size_t>(o)];
    t.strides_[i] = strides_[static_cast<std::size_t>(o)];
  }
  t.contiguous_ = t.strides_ == row_major_strides(t.shape_);
  return t;
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const { return to(dtype_); }

Tensor Tensor::to(DType t) const {
  Tensor out = empty(shape_, t);
  if (t == dtype_ && is_contiguous()) {
    std::memcpy(out.raw(), raw(), static_cast<std::size_t>(numel()) * dtype_size(t));
    return out;
  }
  for (std::int64_t i = 0; i < numel(); ++i) out.set(i, get(i));
  return out;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) fail("max_abs_diff: shapes {} and {} differ", shape_str(a.shape()), shape_str(b.shape()));
  double m = 0.0;
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    const double d = std::fabs(static_cast<double>(a.get(i)) - static_cast<double>(b.get(i)));
    if (std::isnan(d)) return std::numeric_limits<double>::quiet_NaN();
    if (d > m) m = d;
  }
  return m;
}

}  // namespace natten
