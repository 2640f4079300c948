#include "natten/bench/inputs.hpp"

#include <random>

namespace natten::bench {
namespace {

Tensor uniform(std::mt19937_64& rng, const Shape& shape, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const std::int64_t n = t.numel();
  switch (dtype) {
    case DType::f32: {
      float* d = t.data<float>();
      for (std::int64_t i = 0; i < n; ++i) d[i] = dist(rng);
      break;
    }
    case DType::f16: {
      auto* d = t.data<std::uint16_t>();
      for (std::int64_t i = 0; i < n; ++i) d[i] = float_to_half_bits(dist(rng));
      break;
    }
    case DType::bf16: {
      auto* d = t.data<std::uint16_t>();
      for (std::int64_t i = 0; i < n; ++i) d[i] = float_to_bf16_bits(dist(rng));
      break;
    }
  }
  return t;
}

}  // namespace

NAInputs make_inputs(const Problem& p, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  NAInputs in;
  in.query = uniform(rng, p.query_shape(), p.dtype);
  in.key = uniform(rng, p.kv_shape(p.dim), p.dtype);
  in.value = uniform(rng, p.kv_shape(p.dim_v), p.dtype);
  if (p.extra_kv > 0) {
    in.additional_key = uniform(rng, p.extra_kv_shape(p.dim), p.dtype);
    in.additional_value = uniform(rng, p.extra_kv_shape(p.dim_v), p.dtype);
  }
  return in;
}

Tensor make_output_grad(const Problem& p, std::uint64_t seed) {
  std::mt19937_64 rng(seed ^ 0x9e3779b97f4a7c15ULL);
  return uniform(rng, p.output_shape(), p.dtype);
}

Tensor random_tensor(const Shape& shape, DType dtype, std::uint64_t seed, std::uint64_t stream) {
  std::mt19937_64 rng(seed + 0x632be59bd9b4e019ULL * (stream + 1));
  return uniform(rng, shape, dtype);
}

}  // namespace natten::bench
