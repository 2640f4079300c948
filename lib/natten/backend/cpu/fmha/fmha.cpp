// Host side of the FMHA fast path: kernel arguments and (batch, query block) units.
#include <vector>

#include "natten/backend/cpu/fmha/fmha_args.hpp"
#include "natten/backend/cpu/common/parallel.hpp"

namespace natten::cpu {
namespace {

Tensor dense(const Tensor& t) { return t.defined() ? t.contiguous() : t; }

// Arguments over contiguous inputs; `keep` holds any contiguous copies alive.
FmhaArgs fmha_args(const Problem& p, const NAInputs& in, std::vector<Tensor>& keep) {
  for (const Tensor* t : {&in.query, &in.key, &in.value, &in.additional_key, &in.additional_value}) {
    keep.push_back(dense(*t));
  }
  const Tensor &q = keep[0], &k = keep[1], &v = keep[2], &ek = keep[3], &ev = keep[4];
  FmhaArgs a;
  a.batch = p.batch;
  a.tokens = p.tokens();
  a.extra = p.extra_kv;
  a.heads_q = p.heads_q;
  a.heads_kv = p.heads_kv;
  a.dim = p.dim;
  a.dim_v = p.dim_v;
  a.scale = static_cast<float>(p.scale);
  a.query = q.raw();
  a.key = k.raw();
  a.value = v.raw();
  a.additional_key = ek.defined() ? ek.raw() : nullptr;
  a.additional_value = ev.defined() ? ev.raw() : nullptr;
  return a;
}

void run(std::int64_t units, const Problem& p, const FmhaArgs& a, const Workers& w,
         void (*kernel)(DType, const FmhaArgs&, std::int64_t, Workspace&)) {
  parallel_for(units, w.threads, [&](std::int64_t unit, int thread) {
    kernel(p.dtype, a, unit, (*w.workspaces)[static_cast<std::size_t>(thread)]);
  });
}

std::int64_t query_units(const Problem& p) { return p.batch * ((p.tokens() + kFmhaQueryBlock - 1) / kFmhaQueryBlock); }

}  // namespace

void run_fmha_forward(const Problem& p, const NAInputs& in, Tensor& out, Tensor& lse, const Workers& w) {
  std::vector<Tensor> keep;
  FmhaArgs a = fmha_args(p, in, keep);
  a.output = out.raw();
  a.lse = lse.data<float>();
  run(query_units(p), p, a, w, fmha_forward_unit);
}

void run_fmha_backward(const Problem& p, const NAInputs& in, const Tensor& out, const Tensor& lse, const Tensor& d_out,
                       Gradients& grads, const Workers& w) {
  std::vector<Tensor> keep;
  FmhaArgs a = fmha_args(p, in, keep);
  const Tensor o = out.contiguous(), l = lse.contiguous(), g = d_out.contiguous();
  std::vector<float> delta(static_cast<std::size_t>(p.batch * p.tokens() * p.heads_q));
  a.output = o.raw();  // read only in the backward
  a.lse = l.data<float>();
  a.d_output = g.raw();
  a.delta = delta.data();
  a.d_query = grads.query.raw();
  a.d_key = grads.key.raw();
  a.d_value = grads.value.raw();
  a.d_additional_key = grads.additional_key.defined() ? grads.additional_key.raw() : nullptr;
  a.d_additional_value = grads.additional_value.defined() ? grads.additional_value.raw() : nullptr;
  run(query_units(p), p, a, w, fmha_backward_query_unit);
  const std::int64_t key_blocks = (p.tokens() + p.extra_kv + kFmhaKeyBlock - 1) / kFmhaKeyBlock;
  run(p.batch * key_blocks, p, a, w, fmha_backward_key_unit);
}

}  // namespace natten::cpu
