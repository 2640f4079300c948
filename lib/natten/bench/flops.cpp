#include "natten/bench/flops.hpp"

#include "natten/core/neighborhood.hpp"

namespace natten::bench {
namespace {

// Attended pairs summed over batch and query heads.
double total_pairs(const Problem& p) {
  return static_cast<double>(attended_pairs(p)) * static_cast<double>(p.batch) * p.heads_q;
}

struct Elements {
  double q, k, v, extra_k, extra_v, out, lse;
};

Elements elements(const Problem& p) {
  const double tokens = static_cast<double>(p.batch) * static_cast<double>(p.tokens());
  const double extra = static_cast<double>(p.batch) * static_cast<double>(p.extra_kv);
  return {tokens * p.heads_q * p.dim,   tokens * p.heads_kv * p.dim, tokens * p.heads_kv * p.dim_v,
          extra * p.heads_kv * p.dim,   extra * p.heads_kv * p.dim_v, tokens * p.heads_q * p.dim_v,
          tokens * p.heads_q};
}

}  // namespace

double forward_flops(const Problem& p) { return total_pairs(p) * (2.0 * p.dim + 2.0 * p.dim_v); }

double backward_flops(const Problem& p) { return total_pairs(p) * (6.0 * p.dim + 4.0 * p.dim_v); }

double forward_bytes(const Problem& p) {
  const Elements e = elements(p);
  const double es = static_cast<double>(dtype_size(p.dtype));
  return es * (e.q + e.k + e.v + e.extra_k + e.extra_v + e.out) + 4.0 * e.lse;
}

double backward_bytes(const Problem& p) {
  const Elements e = elements(p);
  const double es = static_cast<double>(dtype_size(p.dtype));
  const double inputs = e.q + e.k + e.v + e.extra_k + e.extra_v;
  // Reads inputs, out and d_out; writes one gradient per input.
  return es * (2.0 * inputs + 2.0 * e.out) + 4.0 * e.lse;
}

double qk_flops(const Problem& p, bool backward) { return total_pairs(p) * (backward ? 4.0 : 2.0) * p.dim; }

double av_flops(const Problem& p, bool backward) { return total_pairs(p) * (backward ? 4.0 : 2.0) * p.dim_v; }

namespace {

// Elements of the attention tensor [B, *S, Hq, W + N] (split ops).
double attention_elements(const Problem& p) {
  double slots = static_cast<double>(p.extra_kv);
  double w = 1;
  for (int a = 0; a < p.rank(); ++a) w *= p.params.kernel[static_cast<std::size_t>(a)];
  slots += w;
  return static_cast<double>(p.batch) * static_cast<double>(p.tokens()) * p.heads_q * slots;
}

double rpb_elements(const Problem& p) {
  double n = p.heads_q;
  for (int a = 0; a < p.rank(); ++a) n *= 2.0 * p.params.kernel[static_cast<std::size_t>(a)] - 1.0;
  return n;
}

}  // namespace

double qk_bytes(const Problem& p, bool rpb, bool backward) {
  const Elements e = elements(p);
  const double es = static_cast<double>(dtype_size(p.dtype));
  const double inputs = e.q + e.k + e.extra_k + (rpb ? rpb_elements(p) : 0.0);
  const double attention = attention_elements(p);
  // Forward reads the inputs and writes attention; backward reads them and d_attention and
  // writes one gradient per input.
  return es * (backward ? 2.0 * inputs + attention : inputs + attention);
}

double av_bytes(const Problem& p, bool backward) {
  const Elements e = elements(p);
  const double es = static_cast<double>(dtype_size(p.dtype));
  const double inputs = attention_elements(p) + e.v + e.extra_v;
  return es * (backward ? 2.0 * inputs + e.out : inputs + e.out);
}

double merge_flops(const MergeProblem& m, bool backward) {
  return static_cast<double>(m.rows) * m.parts * m.dim * (backward ? 4.0 : 2.0);
}

double merge_bytes(const MergeProblem& m, bool backward) {
  const double out = static_cast<double>(m.rows) * m.dim * static_cast<double>(dtype_size(m.dtype));
  const double lse = static_cast<double>(m.rows) * 4.0;
  const double part = out + lse;
  // Forward: read every part, write the merged pair. Backward: read every part, the merged pair
  // and dO; write dO_i and dL_i of every part.
  return backward ? 2.0 * m.parts * part + part + out : (m.parts + 1.0) * part;
}

double varlen_flops(const VarlenProblem& v, bool backward) {
  double f = 0;
  for (std::int64_t b = 0; b < static_cast<std::int64_t>(v.extents.size()); ++b)
    f += backward ? backward_flops(v.sample(b)) : forward_flops(v.sample(b));
  return f;
}

double varlen_bytes(const VarlenProblem& v, bool backward) {
  double f = 0;
  for (std::int64_t b = 0; b < static_cast<std::int64_t>(v.extents.size()); ++b)
    f += backward ? backward_bytes(v.sample(b)) : forward_bytes(v.sample(b));
  return f;
}

}  // namespace natten::bench
