#include "natten/backend/metal/metal_plan.hpp"

#include <algorithm>
#include <climits>
#include <cstring>
#include <type_traits>

#include <fmt/format.h>

#include "natten/core/error.hpp"
#include "natten_metal_args.h"

namespace natten::metal {

static_assert(std::is_standard_layout_v<NattenFusedArgs> && sizeof(NattenFusedArgs) == 34 * 4,
              "NattenFusedArgs must stay a flat struct of 4-byte fields (its MSL twin has the same layout)");
static_assert(std::is_standard_layout_v<NattenSplitArgs> && sizeof(NattenSplitArgs) == 29 * 4,
              "NattenSplitArgs must stay a flat struct of 4-byte fields");

const char* role_name(Role r) {
  switch (r) {
    case Role::query: return "query";
    case Role::key: return "key";
    case Role::value: return "value";
    case Role::additional_key: return "additional_key";
    case Role::additional_value: return "additional_value";
    case Role::output: return "output";
    case Role::lse: return "logsumexp";
    case Role::d_output: return "grad_output";
    case Role::delta: return "delta";
    case Role::d_query: return "grad_query";
    case Role::d_key: return "grad_key";
    case Role::d_value: return "grad_value";
    case Role::d_additional_key: return "grad_additional_key";
    case Role::d_additional_value: return "grad_additional_value";
    case Role::attention: return "attention";
    case Role::d_attention: return "grad_attention";
    case Role::rpb: return "rpb";
    case Role::d_rpb: return "grad_rpb";
  }
  return "?";
}

std::string dtype_suffix(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::f16: return "f16";
    case DType::bf16: return "bf16";
  }
  return "?";
}

std::string why_unplannable(const Problem& p) {
  // The kernels index tokens and rows with 32-bit ints and elements with 64-bit offsets.
  const std::int64_t rows = p.batch * p.tokens() * p.heads_q;
  if (p.tokens() > INT_MAX || rows > INT_MAX || p.extra_kv > INT_MAX) {
    return fmt::format("{} query rows exceed the 32-bit row indices of the Metal kernels", rows);
  }
  if (p.batch > 65535 || p.heads_q > 65535) return "batch and heads must be <= 65535 (grid y/z)";
  return {};
}

namespace {

int ceil_div(std::int64_t a, std::int64_t b) { return static_cast<int>((a + b - 1) / b); }

// Group length of group 0 (the longest) along axis a.
int longest_group(const Problem& p, int a) {
  const NattenAxis ax = p.axis(a);
  return natten_group_length(ax, 0);
}

template <typename Args>
void set_args(LaunchPlan& plan, int index, const Args& args) {
  plan.args_index = index;
  plan.args_param = "args";
  plan.args.resize(sizeof(Args));
  std::memcpy(plan.args.data(), &args, sizeof(Args));
}

std::size_t round16(std::size_t bytes) { return std::max<std::size_t>(16, (bytes + 15) / 16 * 16); }

NattenFusedArgs fused_args(const Problem& p) {
  NattenFusedArgs a{};
  for (int i = 0; i < kMaxRank; ++i) a.axis[i] = p.axis(i);
  a.batch = static_cast<int>(p.batch);
  a.heads_q = p.heads_q;
  a.heads_kv = p.heads_kv;
  a.dim = p.dim;
  a.dim_v = p.dim_v;
  a.extra_kv = static_cast<int>(p.extra_kv);
  a.tokens = static_cast<int>(p.tokens());
  a.scale = static_cast<float>(p.scale);
  a.rows = static_cast<int>(p.batch * p.tokens() * p.heads_q);
  return a;
}

// Tile of positions per threadgroup: about `queries` positions, spread over the axes, never longer
// than an axis' longest dilation group.
void choose_tile(const Problem& p, int queries, NattenFusedArgs& a) {
  int want[3] = {1, 1, 1};
  const int r = p.rank();
  // Split `queries` over the rank's axes, the last (fastest) axis taking the largest share.
  const int q = std::max(1, queries);
  if (r == 1) want[0] = q;
  if (r == 2) {
    want[0] = std::max(1, q / 4);
    want[1] = q / want[0];
  }
  if (r == 3) {
    want[0] = std::max(1, q / 4);
    want[1] = std::max(1, q / (2 * want[0]));
    want[2] = std::max(1, q / (want[0] * want[1]));
  }
  for (int i = 0; i < kMaxRank; ++i) {
    a.tile[i] = std::max(1, std::min(want[i], longest_group(p, i)));
    a.tiles_per_group[i] = ceil_div(longest_group(p, i), a.tile[i]);
  }
}

int tile_size(const NattenFusedArgs& a) { return a.tile[0] * a.tile[1] * a.tile[2]; }

// Staged box extents within `cap_rows` rows, each axis at most `bound[i]`; chunk[0] = 0 (nothing
// staged) when not even one row fits.
void choose_chunk(std::int64_t cap_rows, const int bound[3], NattenFusedArgs& a) {
  if (cap_rows < 1) {
    a.chunk[0] = a.chunk[1] = a.chunk[2] = 0;
    return;
  }
  const std::int64_t c2 = std::min<std::int64_t>(bound[2], cap_rows);
  const std::int64_t c1 = std::min<std::int64_t>(bound[1], std::max<std::int64_t>(1, cap_rows / c2));
  const std::int64_t c0 = std::min<std::int64_t>(bound[0], std::max<std::int64_t>(1, cap_rows / (c1 * c2)));
  a.chunk[0] = static_cast<int>(c0);
  a.chunk[1] = static_cast<int>(c1);
  a.chunk[2] = static_cast<int>(c2);
}

// Threadgroup floats of a kernel that stages `fixed` floats plus `per_row` floats per staged row;
// chooses the chunk and returns the bytes to reserve.
std::size_t plan_staging(const PlanOptions& o, std::int64_t fixed, std::int64_t per_row, const int bound[3],
                         NattenFusedArgs& a) {
  const std::int64_t budget = static_cast<std::int64_t>(o.threadgroup_memory_budget / sizeof(float));
  choose_chunk(fixed + per_row <= budget ? (budget - fixed) / per_row : 0, bound, a);
  if (a.chunk[0] == 0) return 16;
  const std::int64_t rows = std::int64_t{a.chunk[0]} * a.chunk[1] * a.chunk[2];
  return round16(static_cast<std::size_t>(fixed + rows * per_row) * sizeof(float));
}

// Upper bound of the union of the windows of a tile along axis i (a shape hint, not a limit).
void window_union_bound(const Problem& p, const NattenFusedArgs& a, int bound[3]) {
  for (int i = 0; i < kMaxRank; ++i) {
    const NattenAxis ax = p.axis(i);
    bound[i] = std::min(longest_group(p, i), ax.kernel_size + a.tile[i] + ax.stride - 2);
  }
}

void inverse_union_bound(const Problem& p, const NattenFusedArgs& a, int bound[3]) {
  for (int i = 0; i < kMaxRank; ++i) {
    const NattenAxis ax = p.axis(i);
    bound[i] = std::min(longest_group(p, i), ax.kernel_size + a.tile[i] + 2 * ax.stride);
  }
}

unsigned total_tiles(const Problem& p, const NattenFusedArgs& a) {
  unsigned n = 1;
  for (int i = 0; i < kMaxRank; ++i) n *= static_cast<unsigned>(p.axis(i).dilation * a.tiles_per_group[i]);
  return n;
}

void require_plannable(const Problem& p) {
  const std::string why = why_unplannable(p);
  if (!why.empty()) throw Unsupported("metal: " + why);
}

}  // namespace

LaunchSequence plan_forward(const Problem& p, const PlanOptions& o) {
  require_plannable(p);
  NattenFusedArgs a = fused_args(p);
  choose_tile(p, o.queries_per_threadgroup, a);
  int bound[3];
  window_union_bound(p, a, bound);
  LaunchPlan l;
  l.kernel = "natten_fwd_" + dtype_suffix(p.dtype);
  const bool extra = p.extra_kv > 0;
  // Without additional KV the kernel never reads slots 3/4; they hold K/V so every slot is bound.
  l.buffers = {{0, "q", Role::query},
               {1, "k", Role::key},
               {2, "v", Role::value},
               {3, "additional_k", extra ? Role::additional_key : Role::key},
               {4, "additional_v", extra ? Role::additional_value : Role::value},
               {5, "out", Role::output},
               {6, "lse", Role::lse}};
  l.threadgroup_memory = {
      plan_staging(o, std::int64_t{tile_size(a)} * p.dim, std::int64_t{p.dim} + p.dim_v, bound, a)};
  l.threadgroups = {total_tiles(p, a), static_cast<unsigned>(p.heads_q), static_cast<unsigned>(p.batch)};
  l.threads = {static_cast<unsigned>(NATTEN_SIMD_WIDTH * tile_size(a)), 1, 1};
  set_args(l, 7, a);
  return {{}, {l}};
}

LaunchSequence plan_backward(const Problem& p, const PlanOptions& o) {
  require_plannable(p);
  const std::string sfx = dtype_suffix(p.dtype);
  const bool extra = p.extra_kv > 0;
  LaunchSequence seq;
  seq.scratch = {{Role::delta, static_cast<std::size_t>(p.batch * p.tokens() * p.heads_q) * sizeof(float)}};

  NattenFusedArgs base = fused_args(p);
  {  // delta = rowsum(dO * O): one simdgroup per row, 8 rows per threadgroup.
    LaunchPlan l;
    l.kernel = "natten_bwd_delta_" + sfx;
    l.buffers = {{0, "out", Role::output}, {1, "d_out", Role::d_output}, {2, "delta", Role::delta}};
    const int rows_per_group = 8;
    l.threadgroups = {static_cast<unsigned>(ceil_div(base.rows, rows_per_group)), 1, 1};
    l.threads = {static_cast<unsigned>(NATTEN_SIMD_WIDTH * rows_per_group), 1, 1};
    set_args(l, 3, base);
    seq.launches.push_back(l);
  }
  {  // dQ: query tiles like the forward.
    NattenFusedArgs a = base;
    choose_tile(p, o.queries_per_threadgroup, a);
    int bound[3];
    window_union_bound(p, a, bound);
    LaunchPlan l;
    l.kernel = "natten_bwd_dq_" + sfx;
    l.buffers = {{0, "q", Role::query},
                 {1, "k", Role::key},
                 {2, "v", Role::value},
                 {3, "additional_k", extra ? Role::additional_key : Role::key},
                 {4, "additional_v", extra ? Role::additional_value : Role::value},
                 {5, "d_out", Role::d_output},
                 {6, "lse", Role::lse},
                 {7, "delta", Role::delta},
                 {8, "d_q", Role::d_query}};
    const std::int64_t row = std::int64_t{p.dim} + p.dim_v;
    l.threadgroup_memory = {plan_staging(o, tile_size(a) * row, row, bound, a)};
    l.threadgroups = {total_tiles(p, a), static_cast<unsigned>(p.heads_q), static_cast<unsigned>(p.batch)};
    l.threads = {static_cast<unsigned>(NATTEN_SIMD_WIDTH * tile_size(a)), 1, 1};
    set_args(l, 9, a);
    seq.launches.push_back(l);
  }
  // dK/dV: key tiles gathering over inverse windows; then the additional KV tokens, whose
  // "inverse window" is every query.
  for (const bool extra_keys : {false, true}) {
    if (extra_keys && !extra) break;
    NattenFusedArgs a = base;
    a.extra_keys_mode = extra_keys ? 1 : 0;
    int bound[3];
    if (extra_keys) {
      a.tile[0] = std::max(1, std::min<int>(o.queries_per_threadgroup, static_cast<int>(p.extra_kv)));
      a.tile[1] = a.tile[2] = 1;
      for (int i = 0; i < kMaxRank; ++i) {
        a.tiles_per_group[i] = 1;
        bound[i] = static_cast<int>(p.spatial[i]);
      }
    } else {
      choose_tile(p, o.queries_per_threadgroup, a);
      inverse_union_bound(p, a, bound);
    }
    LaunchPlan l;
    l.kernel = "natten_bwd_dkv_" + sfx;
    l.buffers = {{0, "q", Role::query},
                 {1, "k", extra_keys ? Role::additional_key : Role::key},
                 {2, "v", extra_keys ? Role::additional_value : Role::value},
                 {3, "d_out", Role::d_output},
                 {4, "lse", Role::lse},
                 {5, "delta", Role::delta},
                 {6, "d_k", extra_keys ? Role::d_additional_key : Role::d_key},
                 {7, "d_v", extra_keys ? Role::d_additional_value : Role::d_value}};
    const std::int64_t row = std::int64_t{p.dim} + p.dim_v;
    l.threadgroup_memory = {plan_staging(o, tile_size(a) * row, row + 2, bound, a)};
    const unsigned groups = extra_keys ? static_cast<unsigned>(ceil_div(p.extra_kv, a.tile[0])) : total_tiles(p, a);
    l.threadgroups = {groups, static_cast<unsigned>(p.heads_kv), static_cast<unsigned>(p.batch)};
    l.threads = {static_cast<unsigned>(NATTEN_SIMD_WIDTH * tile_size(a)), 1, 1};
    set_args(l, 8, a);
    seq.launches.push_back(l);
  }
  return seq;
}

namespace {

constexpr unsigned kElementwiseThreads = 256;

std::int64_t window_slots(const Problem& p) {
  std::int64_t w = 1;
  for (int i = 0; i < kMaxRank; ++i) w *= p.axis(i).kernel_size;
  return w;
}

NattenSplitArgs split_args(const Problem& p, int dim) {
  NattenSplitArgs a{};
  for (int i = 0; i < kMaxRank; ++i) {
    a.axis[i] = p.axis(i);
    a.rpb_extent[i] = 2 * a.axis[i].kernel_size - 1;
  }
  a.batch = static_cast<int>(p.batch);
  a.heads_q = p.heads_q;
  a.heads_kv = p.heads_kv;
  a.dim = dim;
  a.tokens = static_cast<int>(p.tokens());
  a.window = static_cast<int>(window_slots(p));
  a.extra_kv = static_cast<int>(p.extra_kv);
  a.columns = a.window + a.extra_kv;
  return a;
}

// One thread per work item, 1-D threadgroups of kElementwiseThreads.
LaunchPlan elementwise(const std::string& kernel, std::vector<Binding> buffers, int args_index, NattenSplitArgs a,
                       std::int64_t work) {
  LaunchPlan l;
  l.kernel = kernel;
  l.buffers = std::move(buffers);
  a.work = static_cast<int>(work);
  l.threadgroups = {static_cast<unsigned>(ceil_div(work, kElementwiseThreads)), 1, 1};
  l.threads = {kElementwiseThreads, 1, 1};
  set_args(l, args_index, a);
  return l;
}

void require_split_plannable(const Problem& p) {
  const std::string why = why_split_unplannable(p);
  if (!why.empty()) throw Unsupported("metal: " + why);
}

// dK (qk) or dV (av): the gather over inverse windows, then over every query for additional KV.
void add_gathers(LaunchSequence& seq, const Problem& p, const std::string& sfx, int dim, Role weights, Role rows,
                 Role out, Role extra_out) {
  for (const bool extra_keys : {false, true}) {
    if (extra_keys && p.extra_kv == 0) break;
    NattenSplitArgs a = split_args(p, dim);
    a.extra_keys_mode = extra_keys ? 1 : 0;
    const std::int64_t keys = extra_keys ? p.extra_kv : p.tokens();
    seq.launches.push_back(elementwise("natten_split_gather_" + sfx,
                                       {{0, "weights", weights}, {1, "rows", rows}, {2, "out", extra_keys ? extra_out : out}},
                                       3, a, p.batch * keys * p.heads_kv * dim));
  }
}

}  // namespace

std::string why_split_unplannable(const Problem& p) {
  const std::string why = why_unplannable(p);
  if (!why.empty()) return why;
  const std::int64_t rows = p.batch * p.tokens() * p.heads_q;
  const std::int64_t widest = rows * std::max<std::int64_t>({window_slots(p) + p.extra_kv, p.dim, p.dim_v});
  if (widest > INT_MAX) return fmt::format("{} elements exceed the 32-bit thread indices of the split kernels", widest);
  return {};
}

LaunchSequence plan_qk(const Problem& p, bool has_rpb) {
  require_split_plannable(p);
  NattenSplitArgs a = split_args(p, p.dim);
  a.has_rpb = has_rpb ? 1 : 0;
  const bool extra = p.extra_kv > 0;
  const std::int64_t rows = p.batch * p.tokens() * p.heads_q;
  return {{},
          {elementwise("natten_qk_" + dtype_suffix(p.dtype),
                       {{0, "q", Role::query},
                        {1, "k", Role::key},
                        {2, "rpb", has_rpb ? Role::rpb : Role::key},
                        {3, "additional_k", extra ? Role::additional_key : Role::key},
                        {4, "attn", Role::attention}},
                       5, a, rows * a.columns)}};
}

LaunchSequence plan_qk_backward(const Problem& p, bool has_rpb) {
  require_split_plannable(p);
  const std::string sfx = dtype_suffix(p.dtype);
  const bool extra = p.extra_kv > 0;
  const std::int64_t rows = p.batch * p.tokens() * p.heads_q;
  LaunchSequence seq;
  seq.launches.push_back(elementwise("natten_qk_bwd_dq_" + sfx,
                                     {{0, "d_attn", Role::d_attention},
                                      {1, "k", Role::key},
                                      {2, "additional_k", extra ? Role::additional_key : Role::key},
                                      {3, "d_q", Role::d_query}},
                                     4, split_args(p, p.dim), rows * p.dim));
  add_gathers(seq, p, sfx, p.dim, Role::d_attention, Role::query, Role::d_key, Role::d_additional_key);
  if (has_rpb) {  // one simdgroup per bias entry, 8 per threadgroup
    NattenSplitArgs a = split_args(p, p.dim);
    a.has_rpb = 1;
    a.work = p.heads_q * a.rpb_extent[0] * a.rpb_extent[1] * a.rpb_extent[2];
    LaunchPlan l;
    l.kernel = "natten_qk_bwd_drpb_" + sfx;
    l.buffers = {{0, "d_attn", Role::d_attention}, {1, "d_rpb", Role::d_rpb}};
    const int per_group = 8;
    l.threadgroups = {static_cast<unsigned>(ceil_div(a.work, per_group)), 1, 1};
    l.threads = {static_cast<unsigned>(NATTEN_SIMD_WIDTH * per_group), 1, 1};
    set_args(l, 2, a);
    seq.launches.push_back(l);
  }
  return seq;
}

LaunchSequence plan_av(const Problem& p) {
  require_split_plannable(p);
  const bool extra = p.extra_kv > 0;
  const std::int64_t rows = p.batch * p.tokens() * p.heads_q;
  return {{},
          {elementwise("natten_av_" + dtype_suffix(p.dtype),
                       {{0, "attn", Role::attention},
                        {1, "v", Role::value},
                        {2, "additional_v", extra ? Role::additional_value : Role::value},
                        {3, "out", Role::output}},
                       4, split_args(p, p.dim_v), rows * p.dim_v)}};
}

LaunchSequence plan_av_backward(const Problem& p) {
  require_split_plannable(p);
  const std::string sfx = dtype_suffix(p.dtype);
  const bool extra = p.extra_kv > 0;
  const std::int64_t rows = p.batch * p.tokens() * p.heads_q;
  LaunchSequence seq;
  NattenSplitArgs a = split_args(p, p.dim_v);
  seq.launches.push_back(elementwise("natten_av_bwd_dattn_" + sfx,
                                     {{0, "d_out", Role::d_output},
                                      {1, "v", Role::value},
                                      {2, "additional_v", extra ? Role::additional_value : Role::value},
                                      {3, "d_attn", Role::d_attention}},
                                     4, a, rows * a.columns));
  add_gathers(seq, p, sfx, p.dim_v, Role::attention, Role::d_output, Role::d_value, Role::d_additional_value);
  return seq;
}

}  // namespace natten::metal
