// The split kernels (shaders/na_split.metal) on the emulator, through the Metal backend's launch
// plans, against a double-precision brute force of the semantics in the split-op docs: qk
// (unscaled, + rpb, -inf in slots a causal window lacks, additional keys as extra columns), av,
// and both backward ops. Every parameter is swept: rank, odd/even K, dilation, stride, causal,
// GQA, additional KV, each dtype and thread order.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "emulated_executor.hpp"
#include "natten/core/neighborhood.hpp"
#include "natten/parity/compare.hpp"
#include "support/random_problem.hpp"

namespace natten::metal {
namespace {

using natten_emu::ThreadOrder;

// Slots of one query: key token per slot (-1 where the causal window has no key) and bias index.
struct Slots {
  std::vector<std::int64_t> key;
  std::vector<std::int64_t> bias;
};

Slots slots_of(const Problem& p, std::int64_t query) {
  const Coord c = unflatten(p, query);
  Slots s{{0}, {0}};
  for (int a = 0; a < kMaxRank; ++a) {
    const NattenAxis ax = p.axis(a);
    const int g = c[a] % ax.dilation, j = c[a] / ax.dilation;
    const NattenRange r = natten_window(ax, natten_group_length(ax, g), j);
    Slots next;
    for (std::size_t i = 0; i < s.key.size(); ++i) {
      for (int o = 0; o < ax.kernel_size; ++o) {
        const int kp = r.start + o;
        const bool ok = s.key[i] >= 0 && kp < r.end;
        next.key.push_back(ok ? s.key[i] * p.spatial[a] + g + kp * ax.dilation : -1);
        next.bias.push_back(s.bias[i] * (2 * ax.kernel_size - 1) + (kp - j) + ax.kernel_size - 1);
      }
    }
    s = next;
  }
  return s;
}

struct Brute {
  const Problem& p;
  std::int64_t W, cols;
  explicit Brute(const Problem& pr) : p(pr), W(1), cols(0) {
    for (int a = 0; a < kMaxRank; ++a) W *= p.axis(a).kernel_size;
    cols = W + p.extra_kv;
  }
  std::int64_t row(std::int64_t b, std::int64_t t, int h) const { return (b * p.tokens() + t) * p.heads_q + h; }
  std::int64_t kv(std::int64_t b, std::int64_t t, int h, std::int64_t tokens) const {
    return (b * tokens + t) * p.heads_kv + h / (p.heads_q / p.heads_kv);
  }
  // Calls f(row, query token, batch, head, slot or column, key row or -1, is_extra, bias index).
  template <typename F>
  void each(F&& f) const {
    for (std::int64_t b = 0; b < p.batch; ++b) {
      for (std::int64_t t = 0; t < p.tokens(); ++t) {
        const Slots s = slots_of(p, t);
        for (int h = 0; h < p.heads_q; ++h) {
          for (std::int64_t c = 0; c < W; ++c) {
            const std::int64_t k = s.key[static_cast<std::size_t>(c)];
            f(row(b, t, h), c, k < 0 ? -1 : kv(b, k, h, p.tokens()), false,
              h * rpb_per_head() + s.bias[static_cast<std::size_t>(c)]);
          }
          for (std::int64_t e = 0; e < p.extra_kv; ++e) f(row(b, t, h), W + e, kv(b, e, h, p.extra_kv), true, 0);
        }
      }
    }
  }
  std::int64_t rpb_per_head() const {
    std::int64_t n = 1;
    for (int a = 0; a < kMaxRank; ++a) n *= 2 * p.axis(a).kernel_size - 1;
    return n;
  }
};

double dot(const std::vector<double>& x, std::int64_t i, const std::vector<double>& y, std::int64_t j, int n) {
  double s = 0.0;
  for (int d = 0; d < n; ++d) s += x[static_cast<std::size_t>(i * n + d)] * y[static_cast<std::size_t>(j * n + d)];
  return s;
}

// Elementwise check with the dtype's tolerance; -inf must match -inf exactly.
void expect_matches(const Tensor& ours, const std::vector<double>& ref, DType dtype, const char* what) {
  ASSERT_EQ(static_cast<std::size_t>(ours.numel()), ref.size()) << what;
  const Tolerance tol = default_tolerance(dtype, what);
  std::int64_t bad = 0, first = -1;
  for (std::int64_t i = 0; i < ours.numel(); ++i) {
    const double r = ref[static_cast<std::size_t>(i)], o = ours.get(i);
    const bool ok = std::isinf(r) ? o == r : std::fabs(o - r) <= tol.atol + tol.rtol * std::fabs(r);
    if (!ok && bad++ == 0) first = i;
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << ours.numel() << " elements differ; first at " << first
                    << " (ours " << (first >= 0 ? ours.get(first) : 0.0f) << ", brute force "
                    << (first >= 0 ? ref[static_cast<std::size_t>(first)] : 0.0) << ")";
}

Tensor random(std::mt19937_64& rng, const Shape& s, DType t) { return natten::testing::random_tensor(rng, s, t); }

void check_split(const Problem& p, std::mt19937_64& rng, ThreadOrder order, bool with_rpb) {
  SCOPED_TRACE(p.str() + (with_rpb ? " rpb" : "") + " order=" + natten_emu::order_name(order));
  const Brute br(p);
  auto metal = emulation::make_emulated_backend(order, rng());
  const DType t = p.dtype;
  const std::int64_t rows = p.batch * p.tokens() * p.heads_q;
  Shape attn_shape = p.query_shape();
  attn_shape.back() = br.cols;

  // qk forward and backward.
  const Tensor q = random(rng, p.query_shape(), t), k = random(rng, p.kv_shape(p.dim), t);
  const Tensor ek = p.extra_kv > 0 ? random(rng, p.extra_kv_shape(p.dim), t) : Tensor();
  const Tensor rpb = with_rpb ? random(rng, {p.heads_q, br.rpb_per_head()}, t) : Tensor();
  const auto qd = q.to_doubles(), kd = k.to_doubles();
  const auto ekd = ek.defined() ? ek.to_doubles() : std::vector<double>();
  const auto rpbd = rpb.defined() ? rpb.to_doubles() : std::vector<double>();
  std::vector<double> attn(static_cast<std::size_t>(rows * br.cols), -INFINITY);
  br.each([&](std::int64_t r, std::int64_t c, std::int64_t kr, bool extra, std::int64_t bias) {
    if (kr < 0) return;
    double v = dot(qd, r, extra ? ekd : kd, kr, p.dim);
    if (!extra && with_rpb) v += rpbd[static_cast<std::size_t>(bias)];
    attn[static_cast<std::size_t>(r * br.cols + c)] = v;
  });
  Tensor got_attn = Tensor::empty(attn_shape, t);
  metal->run_qk(p, q, k, rpb, ek, got_attn);
  expect_matches(got_attn, attn, t, "attention");

  const Tensor d_attn = random(rng, attn_shape, t);
  const auto dad = d_attn.to_doubles();
  std::vector<double> dq(qd.size(), 0.0), dk(kd.size(), 0.0), dek(ekd.size(), 0.0), drpb(rpbd.size(), 0.0);
  br.each([&](std::int64_t r, std::int64_t c, std::int64_t kr, bool extra, std::int64_t bias) {
    if (kr < 0) return;
    const double g = dad[static_cast<std::size_t>(r * br.cols + c)];
    const std::vector<double>& kk = extra ? ekd : kd;
    std::vector<double>& dkk = extra ? dek : dk;
    for (int d = 0; d < p.dim; ++d) {
      dq[static_cast<std::size_t>(r * p.dim + d)] += g * kk[static_cast<std::size_t>(kr * p.dim + d)];
      dkk[static_cast<std::size_t>(kr * p.dim + d)] += g * qd[static_cast<std::size_t>(r * p.dim + d)];
    }
    if (!extra && with_rpb) drpb[static_cast<std::size_t>(bias)] += g;
  });
  Tensor gq = Tensor::empty(q.shape(), t), gk = Tensor::empty(k.shape(), t);
  Tensor gek = ek.defined() ? Tensor::empty(ek.shape(), t) : Tensor();
  Tensor grpb = rpb.defined() ? Tensor::empty(rpb.shape(), t) : Tensor();
  metal->run_qk_backward(p, q, k, rpb, ek, d_attn, gq, gk, grpb, gek);
  expect_matches(gq, dq, t, "grad_query");
  expect_matches(gk, dk, t, "grad_key");
  if (ek.defined()) expect_matches(gek, dek, t, "grad_additional_key");
  if (rpb.defined()) expect_matches(grpb, drpb, t, "grad_rpb");

  // av forward and backward. Slots without a key hold NaN: the kernels must never read them.
  Tensor a = random(rng, attn_shape, t);
  br.each([&](std::int64_t r, std::int64_t c, std::int64_t kr, bool, std::int64_t) {
    if (kr < 0) a.set(r * br.cols + c, NAN);
  });
  const Tensor v = random(rng, p.kv_shape(p.dim_v), t);
  const Tensor ev = p.extra_kv > 0 ? random(rng, p.extra_kv_shape(p.dim_v), t) : Tensor();
  const auto ad = a.to_doubles(), vd = v.to_doubles();
  const auto evd = ev.defined() ? ev.to_doubles() : std::vector<double>();
  std::vector<double> out(static_cast<std::size_t>(rows * p.dim_v), 0.0);
  const Tensor d_out = random(rng, p.output_shape(), t);
  const auto dod = d_out.to_doubles();
  std::vector<double> da(static_cast<std::size_t>(rows * br.cols), 0.0), dv(vd.size(), 0.0), dev(evd.size(), 0.0);
  br.each([&](std::int64_t r, std::int64_t c, std::int64_t kr, bool extra, std::int64_t) {
    if (kr < 0) return;
    const double w = ad[static_cast<std::size_t>(r * br.cols + c)];
    const std::vector<double>& vv = extra ? evd : vd;
    std::vector<double>& dvv = extra ? dev : dv;
    for (int d = 0; d < p.dim_v; ++d) {
      out[static_cast<std::size_t>(r * p.dim_v + d)] += w * vv[static_cast<std::size_t>(kr * p.dim_v + d)];
      dvv[static_cast<std::size_t>(kr * p.dim_v + d)] += w * dod[static_cast<std::size_t>(r * p.dim_v + d)];
    }
    da[static_cast<std::size_t>(r * br.cols + c)] = dot(dod, r, vv, kr, p.dim_v);
  });
  Tensor got_out = Tensor::empty(p.output_shape(), t);
  metal->run_av(p, a, v, ev, got_out);
  expect_matches(got_out, out, t, "output");
  Tensor gda = Tensor::empty(attn_shape, t), gv = Tensor::empty(v.shape(), t);
  Tensor gev = ev.defined() ? Tensor::empty(ev.shape(), t) : Tensor();
  metal->run_av_backward(p, a, v, ev, d_out, gda, gv, gev);
  expect_matches(gda, da, t, "grad_attention");
  expect_matches(gv, dv, t, "grad_value");
  if (ev.defined()) expect_matches(gev, dev, t, "grad_additional_value");
}

class SplitSweep : public ::testing::TestWithParam<DType> {};

TEST_P(SplitSweep, MatchesBruteForce) {
  std::mt19937_64 rng(0xa11ce + static_cast<unsigned>(GetParam()));
  natten::testing::SweepLimits lim;
  lim.max_tokens = 40;
  lim.max_dim = 8;
  const ThreadOrder orders[] = {ThreadOrder::forward, ThreadOrder::reverse, ThreadOrder::shuffled};
  for (int i = 0; i < 15; ++i) {
    check_split(natten::testing::random_problem(rng, GetParam(), lim), rng, orders[i % 3], i % 2 == 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, SplitSweep, ::testing::Values(DType::f32, DType::f16, DType::bf16),
                         [](const auto& param_info) { return std::string(dtype_name(param_info.param)); });

}  // namespace
}  // namespace natten::metal
