// An independent brute-force transcription of the NA definition, for testing the reference
// backend itself. It shares nothing with lib/natten/window.h: the window is rebuilt from the prose
// rule in ../shared/natten-refs/README.md by testing every (query, key) pair.
#pragma once

#include <cstdint>
#include <vector>

#include "natten/core/problem.hpp"

namespace natten::testing {

// True when the query at index `query` attends the key at index `key` along one axis.
bool brute_axis_attends(int length, int kernel, int stride, int dilation, bool causal, int query, int key);

// Keys (flat spatial tokens, ascending) attended by a query token.
std::vector<std::int64_t> brute_neighbors(const Problem& p, std::int64_t query_token);

// Forward in double over row-major double copies of the inputs (additional KV may be empty).
struct DoubleTensors {
  std::vector<double> q, k, v, ak, av;
};
DoubleTensors to_doubles(const NAInputs& in);

struct DoubleForward {
  std::vector<double> out;  // [B, T, Hq, Dv]
  std::vector<double> lse;  // [B, T, Hq]
};
DoubleForward brute_forward(const Problem& p, const DoubleTensors& x);

}  // namespace natten::testing
