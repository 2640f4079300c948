// Split qk: attention[b, t, h, slot] = q[b, t, h] . k[b, key(slot), h / group] + rpb[h, bias(slot)],
// then q . k_extra[e] in the last columns; slots a causal window lacks hold -infinity.
#include <cmath>

#include "natten/backend/reference/reference_ops.hpp"
#include "natten/backend/reference/rows.hpp"
#include "natten/core/neighborhood.hpp"

namespace natten::reference {
namespace {

// One head of rpb ([2K0-1, 2K1-1, 2K2-1] elements) per query head.
std::int64_t rpb_head_size(const Problem& p) {
  std::int64_t n = 1;
  for (int a = 0; a < p.rank(); ++a) n *= 2 * p.params.kernel[a] - 1;
  return n;
}

}  // namespace

void qk_forward(const Problem& p, const SplitQKInputs& in, Tensor& attention) {
  Rows q(in.query, p.tokens(), p.heads_q, p.dim);
  Rows k(in.key, p.tokens(), p.heads_kv, p.dim);
  Rows ak(in.additional_key, p.extra_kv, p.heads_kv, p.dim);
  const std::vector<double> rpb = in.rpb.defined() ? in.rpb.to_doubles() : std::vector<double>();
  const std::int64_t w = window_slots(p);
  Rows a = Rows::zeros(p.batch, p.tokens(), p.heads_q, static_cast<int>(w + p.extra_kv));
  const int group = p.heads_q / p.heads_kv;
  for (std::int64_t b = 0; b < p.batch; ++b) {
    for (std::int64_t t = 0; t < p.tokens(); ++t) {
      for (int h = 0; h < p.heads_q; ++h) {
        double* row = a.at(b, t, h);
        const double* qr = q.at(b, t, h);
        for (std::int64_t s = 0; s < w; ++s) row[s] = -INFINITY;
        for_each_window_slot(p, t, [&](const WindowSlot& ws) {
          double v = dot(qr, k.at(b, ws.key, h / group), p.dim);
          if (!rpb.empty()) v += rpb[static_cast<std::size_t>(h * rpb_head_size(p) + ws.bias)];
          row[ws.slot] = v;
        });
        for (std::int64_t e = 0; e < p.extra_kv; ++e) row[w + e] = dot(qr, ak.at(b, e, h / group), p.dim);
      }
    }
  }
  a.store(attention);
}

void qk_backward(const Problem& p, const SplitQKInputs& in, const Tensor& d_attention, SplitQKGrads& grads) {
  Rows q(in.query, p.tokens(), p.heads_q, p.dim);
  Rows k(in.key, p.tokens(), p.heads_kv, p.dim);
  Rows ak(in.additional_key, p.extra_kv, p.heads_kv, p.dim);
  const std::int64_t w = window_slots(p);
  Rows da(d_attention, p.tokens(), p.heads_q, static_cast<int>(w + p.extra_kv));
  Rows dq = Rows::zeros(p.batch, p.tokens(), p.heads_q, p.dim);
  Rows dk = Rows::zeros(p.batch, p.tokens(), p.heads_kv, p.dim);
  Rows dak = Rows::zeros(p.batch, p.extra_kv, p.heads_kv, p.dim);
  std::vector<double> drpb(in.rpb.defined() ? static_cast<std::size_t>(in.rpb.numel()) : 0, 0.0);
  const int group = p.heads_q / p.heads_kv;
  for (std::int64_t b = 0; b < p.batch; ++b) {
    for (std::int64_t t = 0; t < p.tokens(); ++t) {
      for (int h = 0; h < p.heads_q; ++h) {
        const double* g = da.at(b, t, h);
        const double* qr = q.at(b, t, h);
        double* dqr = dq.at(b, t, h);
        // Slots without a key (causal) contribute nothing: their logit is a constant -inf.
        for_each_window_slot(p, t, [&](const WindowSlot& ws) {
          const double* kr = k.at(b, ws.key, h / group);
          double* dkr = dk.at(b, ws.key, h / group);
          for (int d = 0; d < p.dim; ++d) {
            dqr[d] += g[ws.slot] * kr[d];
            dkr[d] += g[ws.slot] * qr[d];
          }
          if (!drpb.empty()) drpb[static_cast<std::size_t>(h * rpb_head_size(p) + ws.bias)] += g[ws.slot];
        });
        for (std::int64_t e = 0; e < p.extra_kv; ++e) {
          const double* kr = ak.at(b, e, h / group);
          double* dkr = dak.at(b, e, h / group);
          for (int d = 0; d < p.dim; ++d) {
            dqr[d] += g[w + e] * kr[d];
            dkr[d] += g[w + e] * qr[d];
          }
        }
      }
    }
  }
  dq.store(grads.query);
  dk.store(grads.key);
  if (p.extra_kv > 0) dak.store(grads.additional_key);
  for (std::size_t i = 0; i < drpb.size(); ++i) grads.rpb.set(static_cast<std::int64_t>(i), static_cast<float>(drpb[i]));
}

}  // namespace natten::reference
