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

}  // namespace natten::bench
