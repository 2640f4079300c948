#include "natten/parity/case_generator.hpp"

#include "natten/core/error.hpp"

namespace natten {

Tensor seeded_uniform(std::mt19937_64& rng, const Shape& shape, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    // Top 24 bits -> [0, 1) exactly representable in float, then [-1, 1).
    const double u = static_cast<double>(rng() >> 40) * (1.0 / 16777216.0);
    t.set(i, static_cast<float>(2.0 * u - 1.0));
  }
  return t;
}

RefCase generate_ref_case(const CaseConfig& cfg, Backend& backend) {
  const Problem p = make_problem(cfg.problem);
  std::mt19937_64 rng(cfg.seed);
  RefCase c;
  c.name = cfg.name;
  c.op = "na";
  c.layout = "heads_last";
  c.params = p.params;
  c.dtype = p.dtype;
  c.inputs.query = seeded_uniform(rng, p.query_shape(), p.dtype);
  c.inputs.key = seeded_uniform(rng, p.kv_shape(p.dim), p.dtype);
  c.inputs.value = seeded_uniform(rng, p.kv_shape(p.dim_v), p.dtype);
  if (p.extra_kv > 0) {
    c.inputs.additional_key = seeded_uniform(rng, p.extra_kv_shape(p.dim), p.dtype);
    c.inputs.additional_value = seeded_uniform(rng, p.extra_kv_shape(p.dim_v), p.dtype);
  }
  const ForwardResult fwd = na_forward(backend, c.params, c.inputs);
  c.expected["output"] = fwd.output;
  c.expected["logsumexp"] = fwd.lse;
  if (cfg.backward) {
    c.grad_output = seeded_uniform(rng, p.output_shape(), p.dtype);
    const Gradients g = na_backward(backend, c.params, c.inputs, fwd.output, fwd.lse, c.grad_output);
    c.expected["grad_query"] = g.query;
    c.expected["grad_key"] = g.key;
    c.expected["grad_value"] = g.value;
    if (p.extra_kv > 0) {
      c.expected["grad_additional_key"] = g.additional_key;
      c.expected["grad_additional_value"] = g.additional_value;
    }
  }
  return c;
}

}  // namespace natten
