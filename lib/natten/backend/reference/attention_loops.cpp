// Plain loops over the explicit key list of each query, every intermediate in double. They follow
// the definitions literally (softmax over the keys plus any additional KV tokens, then the
// standard attention backward) and avoid every trick the fast backends use, so that agreeing with
// them means something.
#include "natten/backend/reference/attention_loops.hpp"

#include <cmath>

#include "natten/backend/reference/rows.hpp"
#include "natten/core/neighborhood.hpp"

namespace natten::reference {
namespace {

// One attended key: where it lives (storage token or additional KV token) and its score.
struct Attended {
  bool extra;
  std::int64_t token;
  double score;
};

struct Operands {
  Rows q, k, v, ak, av;
  Operands(const Problem& p, const NAInputs& in)
      : q(in.query, p.tokens(), p.heads_q, p.dim),
        k(in.key, p.tokens(), p.heads_kv, p.dim),
        v(in.value, p.tokens(), p.heads_kv, p.dim_v),
        ak(in.additional_key, p.extra_kv, p.heads_kv, p.dim),
        av(in.additional_value, p.extra_kv, p.heads_kv, p.dim_v) {}

  // Scaled scores of query (b, t, h) against `keys`, then the additional KV tokens.
  std::vector<Attended> scores(const Problem& p, const std::vector<std::int64_t>& keys, std::int64_t b,
                               std::int64_t t, int h) {
    const int kvh = h / (p.heads_q / p.heads_kv);
    const double* qr = q.at(b, t, h);
    std::vector<Attended> s;
    for (std::int64_t key : keys) s.push_back({false, key, p.scale * dot(qr, k.at(b, key, kvh), p.dim)});
    for (std::int64_t e = 0; e < p.extra_kv; ++e) s.push_back({true, e, p.scale * dot(qr, ak.at(b, e, kvh), p.dim)});
    return s;
  }
};

}  // namespace

Attendance neighborhood_attendance(const Problem& p) {
  return {[&p](std::int64_t) { return p.tokens(); }, [](std::int64_t, std::int64_t i) { return i; },
          [&p](std::int64_t, std::int64_t i, std::vector<std::int64_t>& keys) {
            for_each_neighbor(p, i, [&](std::int64_t key) { keys.push_back(key); });
          }};
}

Attendance dense_attendance(const Problem& p) {
  return {[&p](std::int64_t) { return p.tokens(); }, [](std::int64_t, std::int64_t i) { return i; },
          [&p](std::int64_t, std::int64_t, std::vector<std::int64_t>& keys) {
            for (std::int64_t key = 0; key < p.tokens(); ++key) keys.push_back(key);
          }};
}

void attention_forward(const Problem& p, const Attendance& att, const NAInputs& in, Tensor& out, Tensor& lse) {
  Operands x(p, in);
  Rows o = Rows::zeros(p.batch, p.tokens(), p.heads_q, p.dim_v);
  std::vector<double> l(static_cast<std::size_t>(p.batch * p.tokens() * p.heads_q), 0.0);
  const int group = p.heads_q / p.heads_kv;
  std::vector<std::int64_t> keys;
  for (std::int64_t b = 0; b < p.batch; ++b) {
    for (std::int64_t i = 0; i < att.query_count(b); ++i) {
      const std::int64_t t = att.query_token(b, i);
      keys.clear();
      att.keys(b, i, keys);
      for (int h = 0; h < p.heads_q; ++h) {
        const std::vector<Attended> s = x.scores(p, keys, b, t, h);
        double m = -INFINITY;
        for (const Attended& a : s) m = std::max(m, a.score);
        double sum = 0.0;
        for (const Attended& a : s) sum += std::exp(a.score - m);
        const double lse_v = m + std::log(sum);
        double* orow = o.at(b, t, h);
        for (const Attended& a : s) {
          const double w = std::exp(a.score - lse_v);
          const double* vr = a.extra ? x.av.at(b, a.token, h / group) : x.v.at(b, a.token, h / group);
          for (int d = 0; d < p.dim_v; ++d) orow[d] += w * vr[d];
        }
        l[static_cast<std::size_t>((b * p.tokens() + t) * p.heads_q + h)] = lse_v;
      }
    }
  }
  o.store(out);
  for (std::size_t i = 0; i < l.size(); ++i) lse.set(static_cast<std::int64_t>(i), static_cast<float>(l[i]));
}

// P = exp(S - lse); delta = rowsum(dO * O); dS = P * (dO . V - delta);
// dQ = scale * dS K; dK = scale * dS^T Q; dV = P^T dO. Uses the given O and lse, as upstream does.
void attention_backward(const Problem& p, const Attendance& att, const NAInputs& in, const Tensor& out,
                        const Tensor& lse, const Tensor& d_out, Gradients& grads) {
  Operands x(p, in);
  Rows o(out, p.tokens(), p.heads_q, p.dim_v);
  Rows d_o(d_out, p.tokens(), p.heads_q, p.dim_v);
  const std::vector<double> l = lse.to_doubles();
  Rows dq = Rows::zeros(p.batch, p.tokens(), p.heads_q, p.dim);
  Rows dk = Rows::zeros(p.batch, p.tokens(), p.heads_kv, p.dim);
  Rows dv = Rows::zeros(p.batch, p.tokens(), p.heads_kv, p.dim_v);
  Rows dak = Rows::zeros(p.batch, p.extra_kv, p.heads_kv, p.dim);
  Rows dav = Rows::zeros(p.batch, p.extra_kv, p.heads_kv, p.dim_v);
  const int group = p.heads_q / p.heads_kv;
  std::vector<std::int64_t> keys;
  for (std::int64_t b = 0; b < p.batch; ++b) {
    for (std::int64_t i = 0; i < att.query_count(b); ++i) {
      const std::int64_t t = att.query_token(b, i);
      keys.clear();
      att.keys(b, i, keys);
      for (int h = 0; h < p.heads_q; ++h) {
        const int kvh = h / group;
        const double lse_v = l[static_cast<std::size_t>((b * p.tokens() + t) * p.heads_q + h)];
        const double* dorow = d_o.at(b, t, h);
        const double delta = dot(dorow, o.at(b, t, h), p.dim_v);
        const double* qr = x.q.at(b, t, h);
        double* dqr = dq.at(b, t, h);
        for (const Attended& a : x.scores(p, keys, b, t, h)) {
          const double prob = std::exp(a.score - lse_v);
          const double* kr = a.extra ? x.ak.at(b, a.token, kvh) : x.k.at(b, a.token, kvh);
          const double* vr = a.extra ? x.av.at(b, a.token, kvh) : x.v.at(b, a.token, kvh);
          double* dkr = a.extra ? dak.at(b, a.token, kvh) : dk.at(b, a.token, kvh);
          double* dvr = a.extra ? dav.at(b, a.token, kvh) : dv.at(b, a.token, kvh);
          const double ds = prob * (dot(dorow, vr, p.dim_v) - delta);
          for (int d = 0; d < p.dim; ++d) {
            dqr[d] += p.scale * ds * kr[d];
            dkr[d] += p.scale * ds * qr[d];
          }
          for (int d = 0; d < p.dim_v; ++d) dvr[d] += prob * dorow[d];
        }
      }
    }
  }
  dq.store(grads.query);
  dk.store(grads.key);
  dv.store(grads.value);
  if (p.extra_kv > 0) {
    dak.store(grads.additional_key);
    dav.store(grads.additional_value);
  }
}

}  // namespace natten::reference
