// Split av: output[b, t, h] = sum over window slots of attention[b, t, h, slot] * v[b, key(slot), h / group]
// + sum over additional tokens e of attention[b, t, h, W + e] * v_extra[e]. Slots a causal window
// lacks are never read.
#include "natten/backend/reference/reference_ops.hpp"
#include "natten/backend/reference/rows.hpp"
#include "natten/core/neighborhood.hpp"

namespace natten::reference {

void av_forward(const Problem& p, const SplitAVInputs& in, Tensor& output) {
  const std::int64_t w = window_slots(p);
  Rows at(in.attention, p.tokens(), p.heads_q, static_cast<int>(w + p.extra_kv));
  Rows v(in.value, p.tokens(), p.heads_kv, p.dim_v);
  Rows ev(in.additional_value, p.extra_kv, p.heads_kv, p.dim_v);
  Rows o = Rows::zeros(p.batch, p.tokens(), p.heads_q, p.dim_v);
  const int group = p.heads_q / p.heads_kv;
  for (std::int64_t b = 0; b < p.batch; ++b) {
    for (std::int64_t t = 0; t < p.tokens(); ++t) {
      for (int h = 0; h < p.heads_q; ++h) {
        const double* a = at.at(b, t, h);
        double* orow = o.at(b, t, h);
        for_each_window_slot(p, t, [&](const WindowSlot& ws) {
          const double* vr = v.at(b, ws.key, h / group);
          for (int d = 0; d < p.dim_v; ++d) orow[d] += a[ws.slot] * vr[d];
        });
        for (std::int64_t e = 0; e < p.extra_kv; ++e) {
          const double* vr = ev.at(b, e, h / group);
          for (int d = 0; d < p.dim_v; ++d) orow[d] += a[w + e] * vr[d];
        }
      }
    }
  }
  o.store(output);
}

void av_backward(const Problem& p, const SplitAVInputs& in, const Tensor& d_output, SplitAVGrads& grads) {
  const std::int64_t w = window_slots(p);
  Rows at(in.attention, p.tokens(), p.heads_q, static_cast<int>(w + p.extra_kv));
  Rows v(in.value, p.tokens(), p.heads_kv, p.dim_v);
  Rows ev(in.additional_value, p.extra_kv, p.heads_kv, p.dim_v);
  Rows d_o(d_output, p.tokens(), p.heads_q, p.dim_v);
  Rows da = Rows::zeros(p.batch, p.tokens(), p.heads_q, static_cast<int>(w + p.extra_kv));
  Rows dv = Rows::zeros(p.batch, p.tokens(), p.heads_kv, p.dim_v);
  Rows dev = Rows::zeros(p.batch, p.extra_kv, p.heads_kv, p.dim_v);
  const int group = p.heads_q / p.heads_kv;
  for (std::int64_t b = 0; b < p.batch; ++b) {
    for (std::int64_t t = 0; t < p.tokens(); ++t) {
      for (int h = 0; h < p.heads_q; ++h) {
        const double* a = at.at(b, t, h);
        const double* g = d_o.at(b, t, h);
        double* dar = da.at(b, t, h);
        for_each_window_slot(p, t, [&](const WindowSlot& ws) {
          dar[ws.slot] = dot(g, v.at(b, ws.key, h / group), p.dim_v);
          double* dvr = dv.at(b, ws.key, h / group);
          for (int d = 0; d < p.dim_v; ++d) dvr[d] += a[ws.slot] * g[d];
        });
        for (std::int64_t e = 0; e < p.extra_kv; ++e) {
          dar[w + e] = dot(g, ev.at(b, e, h / group), p.dim_v);
          double* dvr = dev.at(b, e, h / group);
          for (int d = 0; d < p.dim_v; ++d) dvr[d] += a[w + e] * g[d];
        }
      }
    }
  }
  da.store(grads.attention);
  dv.store(grads.value);
  if (p.extra_kv > 0) dev.store(grads.additional_value);
}

}  // namespace natten::reference
