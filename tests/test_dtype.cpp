// IEEE binary16 and bfloat16 conversions: exact values, rounding ties to even, overflow,
// subnormals, signed zero, infinities and NaN.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "natten/core/dtype.hpp"
#include "natten/core/error.hpp"

namespace natten {
namespace {

float next_up(float f) { return std::nextafter(f, std::numeric_limits<float>::infinity()); }

TEST(Half, ExactValuesRoundTrip) {
  for (std::uint32_t h = 0; h < 0x10000u; ++h) {
    const auto bits = static_cast<std::uint16_t>(h);
    const float f = half_bits_to_float(bits);
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(half_bits_to_float(float_to_half_bits(f))));
      continue;
    }
    EXPECT_EQ(float_to_half_bits(f), bits) << "half bits 0x" << std::hex << h;
  }
}

TEST(Half, KnownEncodings) {
  EXPECT_EQ(float_to_half_bits(1.0f), 0x3c00);
  EXPECT_EQ(float_to_half_bits(-2.0f), 0xc000);
  EXPECT_EQ(float_to_half_bits(65504.0f), 0x7bff);             // largest finite
  EXPECT_EQ(float_to_half_bits(6.103515625e-05f), 0x0400);     // smallest normal, 2^-14
  EXPECT_EQ(float_to_half_bits(5.9604644775390625e-08f), 0x0001);  // smallest subnormal, 2^-24
  EXPECT_EQ(float_to_half_bits(-0.0f), 0x8000);
  EXPECT_EQ(float_to_half_bits(INFINITY), 0x7c00);
  EXPECT_EQ(float_to_half_bits(-INFINITY), 0xfc00);
  EXPECT_EQ(float_to_half_bits(NAN) & 0x7c00, 0x7c00);
  EXPECT_NE(float_to_half_bits(NAN) & 0x3ff, 0);
}

TEST(Half, RoundsToNearestEven) {
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to the even mantissa (1.0).
  EXPECT_EQ(float_to_half_bits(1.0f + 0.00048828125f), 0x3c00);
  // 1 + 3 * 2^-11 is halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even): rounds up.
  EXPECT_EQ(float_to_half_bits(1.0f + 3 * 0.00048828125f), 0x3c02);
  // Just above a tie rounds up.
  EXPECT_EQ(float_to_half_bits(next_up(1.0f + 0.00048828125f)), 0x3c01);
  // Overflow: 65519.99 rounds to 65504; the tie 65520 rounds (to even) to infinity.
  EXPECT_EQ(float_to_half_bits(65519.0f), 0x7bff);
  EXPECT_EQ(float_to_half_bits(65520.0f), 0x7c00);
  // Subnormal ties: 2^-25 is halfway between 0 and 2^-24: ties to even (0); 3 * 2^-25 -> 2 * 2^-24.
  EXPECT_EQ(float_to_half_bits(2.98023223876953125e-08f), 0x0000);
  EXPECT_EQ(float_to_half_bits(3 * 2.98023223876953125e-08f), 0x0002);
  EXPECT_EQ(float_to_half_bits(next_up(2.98023223876953125e-08f)), 0x0001);
  // The largest subnormal plus half an ulp rounds up into the smallest normal.
  EXPECT_EQ(float_to_half_bits(6.103515625e-05f - 2.98023223876953125e-08f), 0x0400);
}

TEST(Half, MatchesNearestNeighbourSearch) {
  // Random floats of every magnitude from below the smallest subnormal to past the largest
  // finite half convert to the closer of their two half neighbours (ties even).
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> exponent(-26.0f, 16.5f);
  for (int i = 0; i < 200000; ++i) {
    const float f = (i % 2 ? -1.0f : 1.0f) * std::exp2(exponent(rng));
    const std::uint16_t h = float_to_half_bits(f);
    const float r = half_bits_to_float(h);
    if (std::isinf(r)) {
      EXPECT_GE(std::fabs(f), 65520.0f);
      continue;
    }
    const float up = half_bits_to_float(static_cast<std::uint16_t>(h + 1));
    const float down = half_bits_to_float(static_cast<std::uint16_t>(h - 1));
    ASSERT_LE(std::fabs(r - f), std::fabs(up - f)) << f;
    if ((h & 0x7fff) != 0) {
      ASSERT_LE(std::fabs(r - f), std::fabs(down - f)) << f;
    }
  }
}

TEST(BFloat16, KnownEncodingsAndRounding) {
  EXPECT_EQ(float_to_bf16_bits(1.0f), 0x3f80);
  EXPECT_EQ(float_to_bf16_bits(-0.0f), 0x8000);
  EXPECT_EQ(float_to_bf16_bits(INFINITY), 0x7f80);
  EXPECT_TRUE(std::isnan(bf16_bits_to_float(float_to_bf16_bits(NAN))));
  // A NaN whose payload lives only in the low 16 bits must not become infinity.
  EXPECT_TRUE(std::isnan(bf16_bits_to_float(float_to_bf16_bits(bits_float(0x7f800001u)))));
  // 1 + 2^-8 is a tie between 1 (even) and 1 + 2^-7: stays 1; 1 + 3 * 2^-8 rounds up to even.
  EXPECT_EQ(float_to_bf16_bits(bits_float(0x3f808000u)), 0x3f80);
  EXPECT_EQ(float_to_bf16_bits(bits_float(0x3f818000u)), 0x3f82);
  EXPECT_EQ(float_to_bf16_bits(bits_float(0x3f808001u)), 0x3f81);
  // The largest finite float rounds to infinity (round to nearest even overflows).
  EXPECT_EQ(float_to_bf16_bits(std::numeric_limits<float>::max()), 0x7f80);
  // Subnormals keep their top bits.
  EXPECT_EQ(float_to_bf16_bits(bits_float(0x00010000u)), 0x0001);
}

TEST(BFloat16, ExactValuesRoundTrip) {
  for (std::uint32_t b = 0; b < 0x10000u; ++b) {
    const float f = bf16_bits_to_float(static_cast<std::uint16_t>(b));
    if (std::isnan(f)) continue;
    EXPECT_EQ(float_to_bf16_bits(f), b);
  }
}

TEST(DType, NamesParseBack) {
  for (DType t : {DType::f32, DType::f16, DType::bf16}) EXPECT_EQ(parse_dtype(dtype_name(t)), t);
  EXPECT_EQ(parse_dtype("fp16"), DType::f16);
  EXPECT_EQ(parse_dtype("bf16"), DType::bf16);
  EXPECT_THROW(parse_dtype("int8"), Error);
}

}  // namespace
}  // namespace natten
