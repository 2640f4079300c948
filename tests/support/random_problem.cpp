#include "support/random_problem.hpp"

namespace natten::testing {
namespace {

int uniform_int(std::mt19937_64& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
bool coin(std::mt19937_64& rng, double p_true) { return std::bernoulli_distribution(p_true)(rng); }

}  // namespace

Problem random_problem(std::mt19937_64& rng, DType dtype, const SweepLimits& lim) {
  for (;;) {
    ProblemSpec s;
    s.dtype = dtype;
    s.params.rank = uniform_int(rng, 1, lim.max_rank);
    const int rank = s.params.rank;
    // Per-axis budget so the token count stays within the limit.
    const int max_len = rank == 1 ? static_cast<int>(lim.max_tokens) : (rank == 2 ? 11 : 5);
    for (int a = 0; a < rank; ++a) {
      const int len = uniform_int(rng, 2, max_len);
      const int dil = coin(rng, 0.3) ? uniform_int(rng, 2, std::max(2, len / 2)) : 1;
      if (len / dil < 2) continue;  // redrawn by the final validity check below
      s.spatial[a] = len;
      s.params.dilation[a] = dil;
      s.params.kernel[a] = uniform_int(rng, 2, len / dil);
      s.params.stride[a] = coin(rng, 0.35) ? uniform_int(rng, 1, s.params.kernel[a]) : 1;
      s.params.causal[a] = coin(rng, 0.3);
    }
    s.batch = uniform_int(rng, 1, 2);
    s.heads_kv = uniform_int(rng, 1, 2);
    s.heads_q = s.heads_kv * (lim.allow_gqa && coin(rng, 0.4) ? uniform_int(rng, 2, 3) : 1);
    s.dim = uniform_int(rng, 1, lim.max_dim);
    s.dim_v = lim.allow_dim_v && coin(rng, 0.25) ? uniform_int(rng, 1, lim.max_dim) : s.dim;
    s.extra_kv = lim.allow_extra_kv && coin(rng, 0.3) ? uniform_int(rng, 1, 5) : 0;
    if (coin(rng, 0.2)) s.params.scale = std::uniform_real_distribution<double>(0.1, 2.0)(rng);
    bool ok = true;
    std::int64_t tokens = 1;
    for (int a = 0; a < rank; ++a) {
      ok = ok && s.spatial[a] >= 2 && s.params.kernel[a] * s.params.dilation[a] <= s.spatial[a];
      tokens *= s.spatial[a];
    }
    if (!ok || tokens > lim.max_tokens) continue;
    return make_problem(s);
  }
}

Tensor random_tensor(std::mt19937_64& rng, const Shape& shape, DType dtype, float amplitude) {
  Tensor t = Tensor::empty(shape, dtype);
  std::uniform_real_distribution<float> u(-amplitude, amplitude);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.set(i, u(rng));
  return t;
}

NAInputs random_inputs(std::mt19937_64& rng, const Problem& p) {
  NAInputs in;
  in.query = random_tensor(rng, p.query_shape(), p.dtype);
  in.key = random_tensor(rng, p.kv_shape(p.dim), p.dtype);
  in.value = random_tensor(rng, p.kv_shape(p.dim_v), p.dtype);
  if (p.extra_kv > 0) {
    in.additional_key = random_tensor(rng, p.extra_kv_shape(p.dim), p.dtype);
    in.additional_value = random_tensor(rng, p.extra_kv_shape(p.dim_v), p.dtype);
  }
  return in;
}

}  // namespace natten::testing
