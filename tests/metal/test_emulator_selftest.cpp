// The executor's semantics: collectives compute the right values, barriers order threadgroup
// memory, and the mistakes it promises to catch are caught.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "emu/executor.hpp"

namespace natten_emu {
namespace {

Dispatch dispatch(const char* kernel, unsigned threads, std::vector<std::size_t> tg_bytes, ThreadOrder order) {
  Dispatch d;
  d.kernel = kernel;
  d.entry = find_kernel(kernel);
  d.threads[0] = threads;
  d.threadgroup_bytes = std::move(tg_bytes);
  d.order = order;
  return d;
}

TEST(EmulatorSelfTest, CollectivesCombineTheirSimdgroup) {
  for (ThreadOrder order : {ThreadOrder::forward, ThreadOrder::reverse, ThreadOrder::shuffled}) {
    std::vector<float> in(64), out(3 * 64, -1.0f);
    for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>((i * 7) % 64);
    Dispatch d = dispatch("selftest_collectives", 64, {}, order);
    d.buffers[0] = in.data();
    d.buffers[1] = out.data();
    run(d);
    for (unsigned t = 0; t < 64; ++t) {
      const unsigned base = t / 32 * 32;
      float sum = 0.0f, mx = -1.0f;
      for (unsigned l = 0; l < 32; ++l) {
        sum += in[base + l];
        mx = std::max(mx, in[base + l]);
      }
      EXPECT_EQ(out[3 * t], sum) << t;
      EXPECT_EQ(out[3 * t + 1], mx) << t;
      EXPECT_EQ(out[3 * t + 2], in[base + 31 - t % 32]) << t;
    }
  }
}

TEST(EmulatorSelfTest, BarrierOrdersThreadgroupMemory) {
  for (ThreadOrder order : {ThreadOrder::forward, ThreadOrder::reverse, ThreadOrder::shuffled}) {
    std::vector<float> out(48);
    Dispatch d = dispatch("selftest_neighbour_with_barrier", 48, {48 * sizeof(float)}, order);
    d.buffers[0] = out.data();
    run(d);
    for (unsigned t = 0; t < 48; ++t) EXPECT_EQ(out[t], static_cast<float>((t + 1) % 48));
  }
}

// Without the barrier some order reads a slot before its owner wrote it: poison (NaN) shows up.
TEST(EmulatorSelfTest, MissingBarrierIsVisibleInSomeThreadOrder) {
  bool poisoned = false;
  for (ThreadOrder order : {ThreadOrder::forward, ThreadOrder::reverse, ThreadOrder::shuffled}) {
    std::vector<float> out(64);
    Dispatch d = dispatch("selftest_neighbour_without_barrier", 64, {64 * sizeof(float)}, order);
    d.buffers[0] = out.data();
    run(d);
    for (float v : out) poisoned = poisoned || std::isnan(v);
  }
  EXPECT_TRUE(poisoned);
}

TEST(EmulatorSelfTest, BarrierDivergenceIsAnError) {
  std::vector<float> out(32);
  Dispatch d = dispatch("selftest_barrier_divergence", 32, {}, ThreadOrder::forward);
  d.buffers[0] = out.data();
  try {
    run(d);
    FAIL() << "divergent barrier not reported";
  } catch (const DispatchError& e) {
    EXPECT_NE(std::string(e.what()).find("barrier divergence"), std::string::npos) << e.what();
  }
}

TEST(EmulatorSelfTest, CollectiveInDivergentFlowIsAnError) {
  std::vector<float> out(32);
  Dispatch d = dispatch("selftest_divergent_collective", 32, {}, ThreadOrder::reverse);
  d.buffers[0] = out.data();
  try {
    run(d);
    FAIL() << "divergent collective not reported";
  } catch (const DispatchError& e) {
    EXPECT_NE(std::string(e.what()).find("divergent control flow"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace natten_emu
