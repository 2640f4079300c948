// The cpu backend on the problems that stress its tiling and vector code, forward and backward in
// every dtype, against the reference backend.
#include "test_cpu_support.hpp"

namespace natten::testing {
namespace {

struct EdgeCase {
  const char* name;
  ProblemSpec spec;
};

ProblemSpec spec(int rank, std::array<std::int64_t, kMaxRank> size, NAParams params, int hq = 2, int hkv = 2,
                 int dim = 8, int dim_v = 0, std::int64_t extra = 0) {
  ProblemSpec s;
  params.rank = rank;
  s.params = params;
  s.spatial = size;
  s.heads_q = hq;
  s.heads_kv = hkv;
  s.dim = dim;
  s.dim_v = dim_v;
  s.extra_kv = extra;
  return s;
}

NAParams axes(std::array<int, kMaxRank> k, std::array<int, kMaxRank> s = {1, 1, 1},
              std::array<int, kMaxRank> d = {1, 1, 1}, std::array<bool, kMaxRank> c = {false, false, false}) {
  NAParams p;
  p.kernel = k;
  p.stride = s;
  p.dilation = d;
  p.causal = c;
  return p;
}

const EdgeCase kCases[] = {
    {"kernel_equals_length_1d", spec(1, {9, 1, 1}, axes({9, 1, 1}))},
    {"kernel_equals_length_2d", spec(2, {7, 5, 1}, axes({7, 5, 1}))},
    {"even_kernel_3d", spec(3, {5, 6, 4}, axes({4, 2, 4}))},
    {"dilation_not_dividing_1d", spec(1, {23, 1, 1}, axes({3, 1, 1}, {1, 1, 1}, {4, 1, 1}))},
    {"dilation_not_dividing_2d", spec(2, {13, 10, 1}, axes({3, 2, 1}, {1, 1, 1}, {3, 4, 1}))},
    {"stride_causal_1d", spec(1, {30, 1, 1}, axes({7, 1, 1}, {3, 1, 1}, {1, 1, 1}, {true, false, false}))},
    {"stride_causal_2d", spec(2, {12, 12, 1}, axes({5, 4, 1}, {2, 3, 1}, {2, 1, 1}, {true, false, false}))},
    {"causal_3d", spec(3, {5, 5, 5}, axes({3, 3, 2}, {1, 2, 1}, {1, 1, 2}, {true, true, true}))},
    {"gqa", spec(2, {9, 9, 1}, axes({3, 3, 1}), 6, 2)},
    {"mqa_extra_kv", spec(1, {20, 1, 1}, axes({5, 1, 1}), 4, 1, 8, 0, 7)},
    {"dim_not_vector_multiple", spec(2, {8, 8, 1}, axes({3, 3, 1}), 2, 2, 17)},
    {"dim_33_dv_5", spec(1, {24, 1, 1}, axes({6, 1, 1}), 2, 1, 33, 5, 2)},
    {"tiny_dim_1", spec(2, {6, 7, 1}, axes({3, 4, 1}), 1, 1, 1)},
    {"dv_differs", spec(3, {4, 5, 6}, axes({3, 3, 3}), 2, 2, 8, 20, 3)},
    // Long innermost rows: interior queries (and keys) run as SIMD vectors across positions,
    // full and partial, next to border positions on the general path.
    {"vector_runs_1d", spec(1, {100, 1, 1}, axes({9, 1, 1}), 2, 1, 20)},
    {"vector_runs_causal_2d", spec(2, {6, 45, 1}, axes({3, 7, 1}, {1, 1, 1}, {1, 1, 1}, {true, true, false}))},
    {"vector_runs_dilated_2d", spec(2, {5, 70, 1}, axes({3, 5, 1}, {1, 1, 1}, {1, 2, 1}), 2, 2, 17, 9)},
    {"vector_runs_3d_gqa", spec(3, {3, 4, 24}, axes({3, 3, 5}), 4, 2, 8)},
    {"vector_runs_window_above_chunk_1d", spec(1, {1100, 1, 1}, axes({551, 1, 1}), 1, 1, 2)},
};

class CpuEdgeCase : public ::testing::TestWithParam<std::tuple<int, DType>> {};

TEST_P(CpuEdgeCase, MatchesReference) {
  const auto [index, dtype] = GetParam();
  ProblemSpec s = kCases[index].spec;
  s.dtype = dtype;
  std::mt19937_64 rng(99 + index);
  check_against_reference(make_problem(s), rng, /*backward=*/true);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CpuEdgeCase,
    ::testing::Combine(::testing::Range(0, static_cast<int>(std::size(kCases))),
                       ::testing::Values(DType::f32, DType::f16, DType::bf16)),
    [](const auto& param_info) {
      return std::string(kCases[std::get<0>(param_info.param)].name) + "_" +
             std::string(dtype_name(std::get<1>(param_info.param)));
    });

// A window of more pairs than one pass holds (kPairBudget = 4096 in kernel_args.hpp): the online
// softmax then spans several passes. One dtype suffices (the pass logic does not depend on it).
TEST(CpuEdgeCase, WindowLargerThanOnePass) {
  ProblemSpec s = spec(1, {4200, 1, 1}, axes({4150, 1, 1}), 1, 1, 2, 0, 3);
  std::mt19937_64 rng(7);
  check_against_reference(make_problem(s), rng, /*backward=*/true);
}

}  // namespace
}  // namespace natten::testing
