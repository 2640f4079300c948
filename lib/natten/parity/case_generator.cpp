#include "natten/parity/case_generator.hpp"

#include <fmt/format.h>

#include "natten/core/error.hpp"
#include "natten/ops.hpp"

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

RefCase generate_ref_case(const config::ResolvedCase& cfg, Backend& backend) {
  const Problem p = make_problem(cfg.spec);
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

namespace natten {
namespace {

void generate_qk(const config::ResolvedCase& cfg, Backend& backend, std::mt19937_64& rng, SplitCase& c) {
  const Problem p = make_problem(cfg.spec);
  c.qk.query = seeded_uniform(rng, p.query_shape(), p.dtype);
  c.qk.key = seeded_uniform(rng, p.kv_shape(p.dim), p.dtype);
  if (cfg.rpb) c.qk.rpb = seeded_uniform(rng, rpb_shape(p), p.dtype);
  if (p.extra_kv > 0) c.qk.additional_key = seeded_uniform(rng, p.extra_kv_shape(p.dim), p.dtype);
  c.expected["attention"] = na_qk(backend, c.params, c.qk);
  if (!cfg.backward) return;
  c.grad_result = seeded_uniform(rng, attention_shape(p), p.dtype);
  const SplitQKGrads g = na_qk_backward(backend, c.params, c.qk, c.grad_result);
  c.expected["grad_query"] = g.query;
  c.expected["grad_key"] = g.key;
  if (g.rpb.defined()) c.expected["grad_rpb"] = g.rpb;
  if (g.additional_key.defined()) c.expected["grad_additional_key"] = g.additional_key;
}

void generate_av(const config::ResolvedCase& cfg, Backend& backend, std::mt19937_64& rng, SplitCase& c) {
  const Problem p = make_problem(cfg.spec);
  c.av.attention = seeded_uniform(rng, attention_shape(p), p.dtype);
  c.av.value = seeded_uniform(rng, p.kv_shape(p.dim_v), p.dtype);
  if (p.extra_kv > 0) c.av.additional_value = seeded_uniform(rng, p.extra_kv_shape(p.dim_v), p.dtype);
  c.expected["output"] = na_av(backend, c.params, c.av);
  if (!cfg.backward) return;
  c.grad_result = seeded_uniform(rng, p.output_shape(), p.dtype);
  const SplitAVGrads g = na_av_backward(backend, c.params, c.av, c.grad_result);
  c.expected["grad_attention"] = g.attention;
  c.expected["grad_value"] = g.value;
  if (g.additional_value.defined()) c.expected["grad_additional_value"] = g.additional_value;
}

Tensor seeded_lse(std::mt19937_64& rng, const Shape& shape) {
  Tensor t = seeded_uniform(rng, shape, DType::f32);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.set(i, 4.0f * t.get(i));
  return t;
}

void generate_merge(const config::ResolvedCase& cfg, Backend& backend, std::mt19937_64& rng, SplitCase& c) {
  const ProblemSpec& s = cfg.spec;
  Shape lse_shape{s.batch};
  for (int a = 0; a < s.params.rank; ++a) lse_shape.push_back(s.spatial[a]);
  lse_shape.push_back(s.heads_q);
  Shape out_shape = lse_shape;
  out_shape.push_back(s.dim);
  for (int i = 0; i < cfg.parts; ++i) {
    c.merge_outputs.push_back(seeded_uniform(rng, out_shape, s.dtype));
    c.merge_lses.push_back(seeded_lse(rng, lse_shape));
  }
  const ForwardResult r = merge_attentions(backend, c.merge_outputs, c.merge_lses);
  c.expected["output"] = r.output;
  c.expected["logsumexp"] = r.lse;
  if (!cfg.backward) return;
  c.grad_result = seeded_uniform(rng, out_shape, s.dtype);
  c.grad_lse = seeded_uniform(rng, lse_shape, DType::f32);
  const MergeGrads g =
      merge_attentions_backward(backend, c.merge_outputs, c.merge_lses, r.output, r.lse, c.grad_result, c.grad_lse);
  for (std::size_t i = 0; i < g.outputs.size(); ++i) {
    c.expected[fmt::format("grad_output_{}", i)] = g.outputs[i];
    c.expected[fmt::format("grad_logsumexp_{}", i)] = g.lses[i];
  }
}

}  // namespace

SplitCase generate_split_case(const config::ResolvedCase& cfg, Backend& backend) {
  if (!is_split_case_op(cfg.op)) fail("case [{}]: op '{}' is not a split op or merge", cfg.name, cfg.op);
  std::mt19937_64 rng(cfg.seed);
  SplitCase c;
  c.name = cfg.name;
  c.op = cfg.op;
  c.layout = "heads_last";
  c.dtype = cfg.spec.dtype;
  if (cfg.op == "merge") {
    generate_merge(cfg, backend, rng, c);
    return c;
  }
  c.params = cfg.spec.params;  // no scale: the split ops do not scale
  if (cfg.op == "na_qk") {
    generate_qk(cfg, backend, rng, c);
  } else {
    generate_av(cfg, backend, rng, c);
  }
  return c;
}

}  // namespace natten
