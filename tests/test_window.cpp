// The window rule (lib/natten/window.h) against tables worked out by hand from the rule in
// ../shared/natten-refs/README.md, and the closed-form inverse window against brute force.
#include <gtest/gtest.h>

#include <vector>

#include "natten/core/neighborhood.hpp"
#include "natten/window.h"

namespace natten {
namespace {

// Keys (token indices along the axis) attended by every query of an axis, via the public rule.
std::vector<std::vector<int>> windows(int length, int kernel, int stride, int dilation, bool causal) {
  const NattenAxis a{length, kernel, stride, dilation, causal ? 1 : 0};
  std::vector<std::vector<int>> out;
  for (int i = 0; i < length; ++i) {
    const int g = i % dilation;
    const NattenRange r = natten_window(a, natten_group_length(a, g), i / dilation);
    std::vector<int> keys;
    for (int t = r.start; t < r.end; ++t) keys.push_back(g + t * dilation);
    out.push_back(keys);
  }
  return out;
}

using Table = std::vector<std::vector<int>>;

TEST(Window, OddKernelShiftsAtBorders) {
  // L=7, K=3: left = right = 1; the first and last windows are shifted inwards, not truncated.
  EXPECT_EQ(windows(7, 3, 1, 1, false),
            (Table{{0, 1, 2}, {0, 1, 2}, {1, 2, 3}, {2, 3, 4}, {3, 4, 5}, {4, 5, 6}, {4, 5, 6}}));
}

TEST(Window, EvenKernelIsLeftHeavy) {
  // L=7, K=4: left = 2, right = 1.
  EXPECT_EQ(windows(7, 4, 1, 1, false),
            (Table{{0, 1, 2, 3}, {0, 1, 2, 3}, {0, 1, 2, 3}, {1, 2, 3, 4}, {2, 3, 4, 5}, {3, 4, 5, 6}, {3, 4, 5, 6}}));
}

TEST(Window, DilationNotDividingLength) {
  // L=7, d=2: group 0 = {0,2,4,6} (4 tokens), group 1 = {1,3,5} (3 tokens); K=3 inside each group.
  EXPECT_EQ(windows(7, 3, 1, 2, false),
            (Table{{0, 2, 4}, {1, 3, 5}, {0, 2, 4}, {1, 3, 5}, {2, 4, 6}, {1, 3, 5}, {2, 4, 6}}));
}

TEST(Window, StrideGroupsShareTheLeadersWindow) {
  // L=7, K=3, s=2: leaders are min(2*floor(j/2) + 1, 6) -> 1,1,3,3,5,5,6.
  EXPECT_EQ(windows(7, 3, 2, 1, false),
            (Table{{0, 1, 2}, {0, 1, 2}, {2, 3, 4}, {2, 3, 4}, {4, 5, 6}, {4, 5, 6}, {4, 5, 6}}));
}

TEST(Window, CausalEndsAtTheQuery) {
  EXPECT_EQ(windows(6, 3, 1, 1, true), (Table{{0}, {0, 1}, {0, 1, 2}, {1, 2, 3}, {2, 3, 4}, {3, 4, 5}}));
}

TEST(Window, CausalWithStride) {
  // L=6, K=3, s=2: leader = min(2*floor(j/2) + 1, 5); start = max(leader - 2, 0); end = j + 1.
  EXPECT_EQ(windows(6, 3, 2, 1, true), (Table{{0}, {0, 1}, {1, 2}, {1, 2, 3}, {3, 4}, {3, 4, 5}}));
}

TEST(Window, CausalWithDilation) {
  // L=6, d=2, K=2: group 0 = {0,2,4}, group 1 = {1,3,5}.
  EXPECT_EQ(windows(6, 2, 1, 2, true), (Table{{0}, {1}, {0, 2}, {1, 3}, {2, 4}, {3, 5}}));
}

TEST(Window, KernelEqualToLengthIsSelfAttention) {
  for (const auto& w : windows(5, 5, 1, 1, false)) EXPECT_EQ(w, (std::vector<int>{0, 1, 2, 3, 4}));
}

// The inverse window must be exactly the set of queries whose window contains the key.
TEST(InverseWindow, MatchesBruteForceExhaustively) {
  int checked = 0;
  for (int length = 2; length <= 23; ++length) {
    for (int dilation = 1; dilation <= 4; ++dilation) {
      for (int kernel = 2; kernel * dilation <= length; ++kernel) {
        for (int stride = 1; stride <= kernel; ++stride) {
          for (int causal = 0; causal <= 1; ++causal) {
            const NattenAxis a{length, kernel, stride, dilation, causal};
            for (int g = 0; g < dilation; ++g) {
              const int lg = natten_group_length(a, g);
              for (int t = 0; t < lg; ++t) {
                std::vector<int> brute;
                for (int j = 0; j < lg; ++j) {
                  const NattenRange w = natten_window(a, lg, j);
                  if (w.start <= t && t < w.end) brute.push_back(j);
                }
                const NattenRange inv = natten_inverse_window(a, lg, t);
                std::vector<int> closed;
                for (int j = inv.start; j < inv.end; ++j) closed.push_back(j);
                ASSERT_EQ(closed, brute) << "L=" << length << " K=" << kernel << " s=" << stride << " d=" << dilation
                                         << " causal=" << causal << " key=" << t;
                ++checked;
              }
            }
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 10000);
}

TEST(Window, NonCausalWindowsAlwaysHoldKernelKeysInsideTheGroup) {
  for (int length = 2; length <= 30; ++length) {
    for (int dilation = 1; dilation <= 3; ++dilation) {
      for (int kernel = 2; kernel * dilation <= length; ++kernel) {
        for (int stride = 1; stride <= kernel; ++stride) {
          const NattenAxis a{length, kernel, stride, dilation, 0};
          for (int g = 0; g < dilation; ++g) {
            const int lg = natten_group_length(a, g);
            int prev_start = 0;
            for (int j = 0; j < lg; ++j) {
              const NattenRange w = natten_window(a, lg, j);
              ASSERT_EQ(w.end - w.start, kernel);
              ASSERT_GE(w.start, 0);
              ASSERT_LE(w.end, lg);
              ASSERT_GE(w.start, prev_start);  // monotone: what makes the inverse window an interval
              prev_start = w.start;
            }
          }
        }
      }
    }
  }
}

TEST(Neighborhood, AttendedPairsMatchesEnumeration) {
  ProblemSpec s;
  s.params.rank = 3;
  s.spatial = {7, 6, 9};
  s.params.kernel = {3, 2, 4};
  s.params.stride = {2, 1, 3};
  s.params.dilation = {2, 1, 2};
  s.params.causal = {true, false, true};
  s.extra_kv = 3;
  s.dim = 4;
  const Problem p = make_problem(s);
  std::int64_t brute = 0;
  for (std::int64_t t = 0; t < p.tokens(); ++t) for_each_neighbor(p, t, [&](std::int64_t) { ++brute; });
  EXPECT_EQ(attended_pairs(p), brute + p.tokens() * 3);
}

}  // namespace
}  // namespace natten
