// The cpu backend's ops beyond the fused pair (split qk/av, merge, FMHA fast path, varlen), where
// the generic per-backend tests do not reach: float16/bfloat16 sweeps against the reference with
// natten-check's per-dtype tolerances, FMHA problems spanning several query and key blocks, every
// SIMD target this machine can run, and bit-identical results on 1, 2 and 3 threads.
#include <gtest/gtest.h>

#include "natten/backend/cpu/simd_targets.hpp"
#include "natten/ops.hpp"
#include "natten/parity/compare.hpp"
#include "support/random_problem.hpp"
#include "support/split_oracle.hpp"

namespace natten::testing {
namespace {

void expect_close(const Tensor& ours, const Tensor& ref, DType dtype, const std::string& name, const std::string& what) {
  const TensorComparison c = compare_tensors(ours, ref, default_tolerance(dtype, name));
  EXPECT_EQ(c.failures, 0) << what << " " << name << ": max abs error " << c.max_abs_error << " at " << c.worst_index
                           << " (cpu " << c.worst_ours << ", reference " << c.worst_reference << ")";
}

// Bit-for-bit (so -inf slots compare equal, which a difference would turn into NaN).
bool same_bits(const Tensor& a, const Tensor& b) {
  if (a.defined() != b.defined()) return false;
  if (!a.defined()) return true;
  const std::vector<float> x = a.to_floats(), y = b.to_floats();
  if (x.size() != y.size()) return false;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (float_bits(x[i]) != float_bits(y[i])) return false;
  }
  return true;
}

struct SplitCase {
  Problem p;
  SplitQKInputs qk;
  SplitAVInputs av;
  Tensor d_attention, d_output;
};

SplitCase random_split_case(std::mt19937_64& rng, DType dtype, std::int64_t max_tokens) {
  SplitCase c{random_split_problem(rng, max_tokens), {}, {}, {}, {}};
  Problem& p = c.p;
  p.dtype = dtype;
  c.qk.query = random_tensor(rng, p.query_shape(), dtype);
  c.qk.key = random_tensor(rng, p.kv_shape(p.dim), dtype);
  if (std::bernoulli_distribution(0.6)(rng)) c.qk.rpb = random_tensor(rng, rpb_shape(p), dtype);
  if (p.extra_kv > 0) c.qk.additional_key = random_tensor(rng, p.extra_kv_shape(p.dim), dtype);
  c.av.attention = random_tensor(rng, attention_shape(p), dtype);
  c.av.value = random_tensor(rng, p.kv_shape(p.dim_v), dtype);
  if (p.extra_kv > 0) c.av.additional_value = random_tensor(rng, p.extra_kv_shape(p.dim_v), dtype);
  c.d_attention = random_tensor(rng, attention_shape(p), dtype);
  c.d_output = random_tensor(rng, p.output_shape(), dtype);
  return c;
}

// Every split-op tensor of one case on `cpu` against the reference.
void check_split_case(Backend& cpu, const SplitCase& c) {
  static std::unique_ptr<Backend> ref = make_backend("reference");
  const Problem& p = c.p;
  const DType t = p.dtype;
  const std::string what = p.str() + (c.qk.rpb.defined() ? " rpb" : "");
  expect_close(na_qk(cpu, p.params, c.qk), na_qk(*ref, p.params, c.qk), t, "attention", what);
  expect_close(na_av(cpu, p.params, c.av), na_av(*ref, p.params, c.av), t, "output", what);
  const SplitQKGrads gq = na_qk_backward(cpu, p.params, c.qk, c.d_attention);
  const SplitQKGrads wq = na_qk_backward(*ref, p.params, c.qk, c.d_attention);
  expect_close(gq.query, wq.query, t, "grad_query", what);
  expect_close(gq.key, wq.key, t, "grad_key", what);
  if (c.qk.rpb.defined()) expect_close(gq.rpb, wq.rpb, t, "grad_rpb", what);
  if (p.extra_kv > 0) expect_close(gq.additional_key, wq.additional_key, t, "grad_additional_key", what);
  const SplitAVGrads ga = na_av_backward(cpu, p.params, c.av, c.d_output);
  const SplitAVGrads wa = na_av_backward(*ref, p.params, c.av, c.d_output);
  expect_close(ga.attention, wa.attention, t, "grad_attention", what);
  expect_close(ga.value, wa.value, t, "grad_value", what);
  if (p.extra_kv > 0) expect_close(ga.additional_value, wa.additional_value, t, "grad_additional_value", what);
}

TEST(CpuSplitOps, HalfPrecisionSweepsMatchReference) {
  std::unique_ptr<Backend> cpu = make_backend("cpu");
  std::mt19937_64 rng(61);
  for (DType dtype : {DType::f16, DType::bf16}) {
    for (int i = 0; i < 15; ++i) check_split_case(*cpu, random_split_case(rng, dtype, 80));
  }
}

// Plain attention over several query blocks (64) and key blocks (256), GQA, Dv != D, extra KV.
Problem large_full_problem(DType dtype) {
  ProblemSpec s;
  s.dtype = dtype;
  s.params = NAParams::uniform(2, 17);
  s.params.kernel = {20, 17, 0};
  s.params.scale = 0.3;
  s.spatial = {20, 17, 1};
  s.heads_q = 4;
  s.heads_kv = 2;
  s.dim = 12;
  s.dim_v = 20;
  s.extra_kv = 3;
  return make_problem(s);
}

TEST(CpuFmha, SeveralBlocksEveryDtypeMatchesReference) {
  std::unique_ptr<Backend> cpu = make_backend("cpu");
  std::unique_ptr<Backend> ref = make_backend("reference");
  for (DType dtype : {DType::f32, DType::f16, DType::bf16}) {
    const Problem p = large_full_problem(dtype);
    ASSERT_TRUE(plan_fused(*cpu, Op::forward, p).fast_path);
    std::mt19937_64 rng(62);
    const NAInputs in = random_inputs(rng, p);
    const ForwardResult want = fmha_forward(*ref, p.params, in);
    const ForwardResult got = fmha_forward(*cpu, p.params, in);
    const std::string what = p.str();
    expect_close(got.output, want.output, dtype, "output", what);
    expect_close(got.lse, want.lse, dtype, "logsumexp", what);
    const Tensor d_out = random_tensor(rng, p.output_shape(), dtype);
    const Gradients gw = fmha_backward(*ref, p.params, in, want.output, want.lse, d_out);
    const Gradients gg = fmha_backward(*cpu, p.params, in, want.output, want.lse, d_out);
    expect_close(gg.query, gw.query, dtype, "grad_query", what);
    expect_close(gg.key, gw.key, dtype, "grad_key", what);
    expect_close(gg.value, gw.value, dtype, "grad_value", what);
    expect_close(gg.additional_key, gw.additional_key, dtype, "grad_additional_key", what);
    expect_close(gg.additional_value, gw.additional_value, dtype, "grad_additional_value", what);
  }
}

// The new kernels dispatch through Highway like the fused ones: each compiled path is checked.
TEST(CpuSplitOps, EveryUsableSimdTargetMatchesReference) {
  for (const std::string& target : cpu::usable_simd_targets()) {
    SCOPED_TRACE(target);
    cpu::force_simd_target(target);
    std::unique_ptr<Backend> cpu = make_backend("cpu");
    std::mt19937_64 rng(63);
    for (int i = 0; i < 4; ++i) check_split_case(*cpu, random_split_case(rng, DType::f32, 64));
    const Problem p = large_full_problem(DType::f32);
    const NAInputs in = random_inputs(rng, p);
    const ForwardResult want = fmha_forward(*make_backend("reference"), p.params, in);
    const ForwardResult got = fmha_forward(*cpu, p.params, in);
    expect_close(got.output, want.output, DType::f32, "output", target);
    std::vector<Tensor> outs{random_tensor(rng, {2, 7, 3, 5}, DType::f32), random_tensor(rng, {2, 7, 3, 5}, DType::f32)};
    std::vector<Tensor> lses{random_tensor(rng, {2, 7, 3}, DType::f32, 3.0f), random_tensor(rng, {2, 7, 3}, DType::f32, 3.0f)};
    const ForwardResult m = merge_attentions(*cpu, outs, lses);
    const ForwardResult mw = merge_attentions(*make_backend("reference"), outs, lses);
    expect_close(m.output, mw.output, DType::f32, "output", target);
    expect_close(m.lse, mw.lse, DType::f32, "logsumexp", target);
  }
  cpu::force_simd_target("");
}

// Every new op: units and reduction orders depend only on the problem, never on threads.
TEST(CpuSplitOps, SameBitsOnOneTwoAndThreeThreads) {
  std::unique_ptr<Backend> cpu = make_backend("cpu");
  for (DType dtype : {DType::f32, DType::bf16}) {
    std::mt19937_64 rng(64);
    const SplitCase c = random_split_case(rng, dtype, 96);
    const Problem full = large_full_problem(dtype);
    const NAInputs in = random_inputs(rng, full);
    const Tensor d_out = random_tensor(rng, full.output_shape(), dtype);
    std::vector<Tensor> outs{random_tensor(rng, {3, 40, 2, 9}, dtype), random_tensor(rng, {3, 40, 2, 9}, dtype)};
    std::vector<Tensor> lses{random_tensor(rng, {3, 40, 2}, DType::f32, 3.0f), random_tensor(rng, {3, 40, 2}, DType::f32, 3.0f)};
    ProblemSpec vs;
    vs.dtype = dtype;
    vs.params = NAParams::uniform(2, 5);
    vs.spatial = {12, 10, 1};
    vs.batch = 2;
    vs.heads_q = 2;
    vs.dim = 8;
    const Problem vp = make_problem(vs);
    const std::vector<Extent> extents{{12, 10, 1}, {7, 9, 1}};
    const NAInputs vin = random_inputs(rng, vp);
    const Tensor vd_out = random_tensor(rng, vp.output_shape(), dtype);
    std::vector<Tensor> first;
    for (int threads : {1, 2, 3}) {
      cpu->set_threads(threads);
      std::vector<Tensor> got;
      got.push_back(na_qk(*cpu, c.p.params, c.qk));
      got.push_back(na_av(*cpu, c.p.params, c.av));
      const SplitQKGrads gq = na_qk_backward(*cpu, c.p.params, c.qk, c.d_attention);
      got.insert(got.end(), {gq.query, gq.key, gq.rpb, gq.additional_key});
      const SplitAVGrads ga = na_av_backward(*cpu, c.p.params, c.av, c.d_output);
      got.insert(got.end(), {ga.attention, ga.value, ga.additional_value});
      const ForwardResult f = fmha_forward(*cpu, full.params, in);
      const Gradients g = fmha_backward(*cpu, full.params, in, f.output, f.lse, d_out);
      got.insert(got.end(), {f.output, f.lse, g.query, g.key, g.value, g.additional_key, g.additional_value});
      const ForwardResult m = merge_attentions(*cpu, outs, lses);
      const MergeGrads mg = merge_attentions_backward(*cpu, outs, lses, m.output, m.lse, m.output, m.lse);
      got.insert(got.end(), {m.output, m.lse, mg.outputs[0], mg.outputs[1], mg.lses[0], mg.lses[1]});
      const ForwardResult v = na_forward_varlen(*cpu, vp.params, vin, extents);
      const Gradients vg = na_backward_varlen(*cpu, vp.params, vin, extents, v.output, v.lse, vd_out);
      got.insert(got.end(), {v.output, v.lse, vg.query, vg.key, vg.value});
      if (threads == 1) {
        first = got;
        continue;
      }
      for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_TRUE(same_bits(got[i], first[i])) << dtype_name(dtype) << " threads=" << threads << " tensor #" << i;
      }
    }
  }
}

}  // namespace
}  // namespace natten::testing
