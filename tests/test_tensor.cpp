#include <gtest/gtest.h>

#include "natten/core/error.hpp"
#include "natten/core/tensor.hpp"

namespace natten {
namespace {

TEST(Tensor, RowMajorShapeAndStrides) {
  const Tensor t = Tensor::zeros({2, 3, 4}, DType::f32);
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.strides(), (Shape{12, 4, 1}));
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(t.size(-1), 4);
  EXPECT_THROW(t.size(3), Error);
}

TEST(Tensor, StoresInItsDtypeWithRounding) {
  Tensor h = Tensor::zeros({3}, DType::f16);
  h.set(0, 1.0f + 1.0f / 4096.0f);  // below half an ulp of half: rounds to 1
  EXPECT_EQ(h.get(0), 1.0f);
  Tensor b = Tensor::zeros({1}, DType::bf16);
  b.set(0, 3.14159265f);
  EXPECT_EQ(b.get(0), 3.140625f);
  EXPECT_EQ(round_to(DType::bf16, 3.14159265f), 3.140625f);
}

TEST(Tensor, PermuteIsAViewAndContiguousMaterializes) {
  std::vector<float> v(6);
  for (int i = 0; i < 6; ++i) v[static_cast<std::size_t>(i)] = static_cast<float>(i);
  const Tensor t = Tensor::from_floats({2, 3}, DType::f32, v.data());
  const Tensor p = t.permute({1, 0});
  EXPECT_FALSE(p.is_contiguous());
  EXPECT_EQ(p.shape(), (Shape{3, 2}));
  // p[i][j] = t[j][i]
  EXPECT_EQ(p.get(1), 3.0f);  // p[0][1] = t[1][0]
  EXPECT_EQ(p.get(2), 1.0f);  // p[1][0] = t[0][1]
  const Tensor c = p.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_EQ(c.to_floats(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  EXPECT_THROW(t.permute({0, 0}), Error);
}

TEST(Tensor, ConvertsBetweenDtypes) {
  const float vals[] = {0.1f, -2.5f, 1000.0f};
  const Tensor f = Tensor::from_floats({3}, DType::f32, vals);
  const Tensor h = f.to(DType::f16);
  EXPECT_EQ(h.dtype(), DType::f16);
  EXPECT_EQ(h.get(1), -2.5f);
  EXPECT_NEAR(h.get(0), 0.1f, 1e-4);
  EXPECT_EQ(max_abs_diff(f, f.clone()), 0.0);
  EXPECT_THROW(max_abs_diff(f, Tensor::zeros({2}, DType::f32)), Error);
}

TEST(Tensor, RejectsNegativeExtents) { EXPECT_THROW(Tensor::empty({2, -1}, DType::f32), Error); }

}  // namespace
}  // namespace natten
