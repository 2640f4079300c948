#include "natten/core/varlen.hpp"

#include "natten/core/error.hpp"
#include "natten/core/neighborhood.hpp"

namespace natten {

Problem VarlenProblem::sample(std::int64_t b) const {
  ProblemSpec s;
  s.params = padded.params;
  s.dtype = padded.dtype;
  s.batch = 1;
  s.spatial = extents[static_cast<std::size_t>(b)];
  s.heads_q = padded.heads_q;
  s.heads_kv = padded.heads_kv;
  s.dim = padded.dim;
  s.dim_v = padded.dim_v;
  s.extra_kv = padded.extra_kv;
  Problem p = make_problem(s);
  p.scale = padded.scale;  // resolved once, from the padded problem's head dim (the same)
  return p;
}

std::int64_t VarlenProblem::padded_token(const Problem& s, std::int64_t t) const {
  return flatten(padded, unflatten(s, t));
}

namespace {

void check_extents(const Problem& p, const std::vector<Extent>& extents) {
  if (static_cast<std::int64_t>(extents.size()) != p.batch)
    fail("varlen: {} extents given for batch size {} (one per sample expected)", extents.size(), p.batch);
  for (std::size_t b = 0; b < extents.size(); ++b) {
    for (int a = 0; a < kMaxRank; ++a) {
      const std::int64_t e = extents[b][a];
      if (a >= p.rank()) {
        if (e != 1) fail("varlen: sample {} extent along axis {} is {}, expected 1 (rank {})", b, a, e, p.rank());
        continue;
      }
      if (e < 1 || e > p.spatial[a])
        fail("varlen: sample {} extent along axis {} is {}, expected 1..{} (the padded size)", b, a, e, p.spatial[a]);
      if (static_cast<std::int64_t>(p.params.kernel[a]) * p.params.dilation[a] > e)
        fail("varlen: sample {} extent {} along axis {} is smaller than kernel_size * dilation = {} * {}", b, e, a,
             p.params.kernel[a], p.params.dilation[a]);
    }
  }
}

}  // namespace

VarlenProblem validate_varlen_forward(const NAParams& params, const NAInputs& in, const std::vector<Extent>& extents) {
  VarlenProblem v{validate_forward(params, in), extents};
  check_extents(v.padded, extents);
  return v;
}

VarlenProblem validate_varlen_backward(const NAParams& params, const NAInputs& in, const std::vector<Extent>& extents,
                                       const Tensor& output, const Tensor& lse, const Tensor& d_output) {
  VarlenProblem v{validate_backward(params, in, output, lse, d_output), extents};
  check_extents(v.padded, extents);
  return v;
}

}  // namespace natten
