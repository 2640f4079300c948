// Split qk / av on the cpu backend: each op and gradient is one or two passes of the four kernel
// families of split_kernel.cpp, plus a small scalar pass for the bias gradient.
//   qk forward:  window_dots(query, key) + rpb, -inf in the slots a causal window lacks
//   qk backward: dQ = window_sums(d_attention, key); dK = inverse_sums(d_attention, query);
//                d_rpb per (batch, head) in double, summed over batches in order;
//                d_additional_key = extra_sums(d_attention, query)
//   av forward:  window_sums(attention, value)
//   av backward: d_attention = window_dots(d_output, value), 0 in missing slots;
//                dV = inverse_sums(attention, d_output); d_additional_value = extra_sums(...)
#include "natten/backend/cpu/split/split_ops.hpp"

#include <limits>
#include <vector>

#include "natten/backend/cpu/common/parallel.hpp"
#include "natten/backend/cpu/split/split_args.hpp"
#include "natten/backend/cpu/split/split_boxes.hpp"

namespace natten::cpu {
namespace {

const void* raw_or_null(const Tensor& t) { return t.defined() ? t.raw() : nullptr; }
Tensor dense(const Tensor& t) { return t.defined() ? t.contiguous() : t; }
SplitQKInputs dense(const SplitQKInputs& in) {
  return {dense(in.query), dense(in.key), dense(in.rpb), dense(in.additional_key)};
}
SplitAVInputs dense(const SplitAVInputs& in) {
  return {dense(in.attention), dense(in.value), dense(in.additional_value)};
}

template <typename Args, typename Kernel>
void run_units(std::int64_t units, const Workers& w, DType t, const Args& args, Kernel kernel) {
  parallel_for(units, w.threads, [&](std::int64_t unit, int thread) {
    kernel(t, args, unit, (*w.workspaces)[static_cast<std::size_t>(thread)]);
  });
}

// dK (or dV) by gather over inverse windows, then the additional tokens' gradients.
void run_gathers(const Problem& p, const SplitGeometry& g, const Tensor& weights, const Tensor& x, int dx,
                 Tensor& d_rows, Tensor& d_extra, const Workers& w) {
  run_units(g.units(), w, p.dtype, InverseSumsArgs{&g, weights.raw(), x.raw(), dx, d_rows.raw()}, inverse_sums_unit);
  if (p.extra_kv > 0) {
    run_units(p.batch * p.heads_kv * p.extra_kv, w, p.dtype, InverseSumsArgs{&g, weights.raw(), x.raw(), dx, d_extra.raw()},
              extra_sums_unit);
  }
}

// d_rpb[h, i] = sum of d_attention over the (batch, query, slot) whose bias index is i. Units are
// (batch, head) with double partial sums, added over batches in order: deterministic.
void run_bias_grad(const Problem& p, const SplitGeometry& g, const Tensor& d_attention, Tensor& d_rpb,
                   const Workers& w) {
  const std::size_t size = static_cast<std::size_t>(g.bias_size);
  std::vector<double> partial(static_cast<std::size_t>(p.batch * p.heads_q) * size, 0.0);
  const std::vector<float> da = d_attention.dtype() == DType::f32 ? std::vector<float>() : d_attention.to_floats();
  const float* src = da.empty() ? d_attention.data<float>() : da.data();
  parallel_for(p.batch * p.heads_q, w.threads, [&](std::int64_t unit, int) {
    const std::int64_t b = unit / p.heads_q;
    const int h = static_cast<int>(unit % p.heads_q);
    double* acc = partial.data() + static_cast<std::size_t>(unit) * size;
    std::array<int, kMaxRank> q{};
    for (q[0] = 0; q[0] < g.length[0]; ++q[0]) {
      for (q[1] = 0; q[1] < g.length[1]; ++q[1]) {
        for (q[2] = 0; q[2] < g.length[2]; ++q[2]) {
          const float* row = src + ((b * g.tokens + g.token(q)) * g.heads_q + h) * g.width();
          for_each_slot(g, q, nullptr, [&](int slot, int, int bias) {
            acc[bias] += static_cast<double>(row[slot]);
          });
        }
      }
    }
  });
  for (int h = 0; h < p.heads_q; ++h) {
    for (std::size_t i = 0; i < size; ++i) {
      double sum = 0.0;
      for (std::int64_t b = 0; b < p.batch; ++b) sum += partial[static_cast<std::size_t>(b * p.heads_q + h) * size + i];
      d_rpb.set(static_cast<std::int64_t>(h * size + i), static_cast<float>(sum));
    }
  }
}

}  // namespace

void run_qk_forward(const Problem& p, const SplitQKInputs& inputs, Tensor& attention, const Workers& w) {
  const SplitQKInputs in = dense(inputs);
  const SplitGeometry g(p);
  const std::vector<float> bias = in.rpb.defined() ? in.rpb.to_floats() : std::vector<float>();
  const WindowDotsArgs args{&g, in.query.raw(), in.key.raw(), raw_or_null(in.additional_key),
                            bias.empty() ? nullptr : bias.data(), -std::numeric_limits<float>::infinity(), p.dim,
                            attention.raw()};
  run_units(g.units(), w, p.dtype, args, window_dots_unit);
}

void run_qk_backward(const Problem& p, const SplitQKInputs& inputs, const Tensor& d_attn, SplitQKGrads& grads,
                     const Workers& w) {
  const SplitQKInputs in = dense(inputs);
  const Tensor d_attention = d_attn.contiguous();
  const SplitGeometry g(p);
  run_units(g.units(), w, p.dtype,
            WindowSumsArgs{&g, d_attention.raw(), in.key.raw(), raw_or_null(in.additional_key), p.dim,
                           grads.query.raw()},
            window_sums_unit);
  run_gathers(p, g, d_attention, in.query, p.dim, grads.key, grads.additional_key, w);
  if (in.rpb.defined()) run_bias_grad(p, g, d_attention, grads.rpb, w);
}

void run_av_forward(const Problem& p, const SplitAVInputs& inputs, Tensor& output, const Workers& w) {
  const SplitAVInputs in = dense(inputs);
  const SplitGeometry g(p);
  run_units(g.units(), w, p.dtype,
            WindowSumsArgs{&g, in.attention.raw(), in.value.raw(), raw_or_null(in.additional_value), p.dim_v,
                           output.raw()},
            window_sums_unit);
}

void run_av_backward(const Problem& p, const SplitAVInputs& inputs, const Tensor& d_out, SplitAVGrads& grads,
                     const Workers& w) {
  const SplitAVInputs in = dense(inputs);
  const Tensor d_output = d_out.contiguous();
  const SplitGeometry g(p);
  run_units(g.units(), w, p.dtype,
            WindowDotsArgs{&g, d_output.raw(), in.value.raw(), raw_or_null(in.additional_value), nullptr, 0.0f,
                           p.dim_v, grads.attention.raw()},
            window_dots_unit);
  run_gathers(p, g, in.attention, d_output, p.dim_v, grads.value, grads.additional_value, w);
}

}  // namespace natten::cpu
