// Checks that need no shader execution: the host plans' buffer bindings against the [[buffer(n)]]
// attributes parsed from the shaders, the plan shapes, and the MSL-subset lint.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "msl_source.hpp"
#include "natten/backend.hpp"
#include "natten/backend/metal/metal_plan.hpp"
#include "natten/core/error.hpp"
#include "support/random_problem.hpp"

namespace natten::metal {
namespace {

namespace fs = std::filesystem;

// Preprocessed shaders (macros expanded, signatures as written) from the build directory.
std::vector<fs::path> preprocessed_shaders() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(NATTEN_METAL_PREPROCESSED_DIR)) {
    if (e.path().extension() == ".i" && e.path().stem() != "emu_selftest") out.push_back(e.path());
  }
  return out;
}

std::map<std::string, natten_msl::KernelSignature> shader_kernels() {
  std::map<std::string, natten_msl::KernelSignature> all;
  for (const fs::path& p : preprocessed_shaders()) {
    for (auto& k : natten_msl::parse_kernels(natten_msl::read_file(p.string()))) all[k.name] = k;
  }
  return all;
}

// Everything wrong with a plan's bindings, as messages (empty = consistent with the shader).
std::vector<std::string> binding_errors(const LaunchPlan& plan,
                                        const std::map<std::string, natten_msl::KernelSignature>& kernels) {
  std::vector<std::string> errors;
  const auto it = kernels.find(plan.kernel);
  if (it == kernels.end()) return {"no kernel named " + plan.kernel + " in shaders/"};
  std::map<int, const natten_msl::KernelParam*> buffers, threadgroup;
  for (const auto& p : it->second.params) {
    if (p.attribute == "buffer") buffers[p.index] = &p;
    if (p.attribute == "threadgroup") threadgroup[p.index] = &p;
  }
  std::set<int> bound;
  auto check = [&](int index, const std::string& param) {
    bound.insert(index);
    const auto b = buffers.find(index);
    if (b == buffers.end()) {
      errors.push_back(plan.kernel + ": plan binds '" + param + "' at buffer(" + std::to_string(index) +
                       ") which the kernel does not declare");
    } else if (b->second->name != param) {
      errors.push_back(plan.kernel + ": plan binds '" + param + "' at buffer(" + std::to_string(index) +
                       ") where the kernel expects '" + b->second->name + "'");
    }
  };
  for (const Binding& b : plan.buffers) check(b.index, b.param);
  check(plan.args_index, plan.args_param);
  for (const auto& [index, p] : buffers) {
    if (bound.count(index) == 0) errors.push_back(plan.kernel + ": buffer(" + std::to_string(index) + ") '" + p->name + "' is not bound");
  }
  for (const auto& [index, p] : threadgroup) {
    if (static_cast<std::size_t>(index) >= plan.threadgroup_memory.size()) {
      errors.push_back(plan.kernel + ": threadgroup(" + std::to_string(index) + ") '" + p->name + "' has no memory");
    }
  }
  if (plan.threadgroup_memory.size() > threadgroup.size()) errors.push_back(plan.kernel + ": extra threadgroup memory");
  return errors;
}

// Plans for a sweep of problems: every kernel family, dtype, with and without additional KV,
// staged and unstaged.
std::vector<LaunchPlan> sample_plans() {
  std::vector<LaunchPlan> plans;
  std::mt19937_64 rng(3);
  for (DType t : {DType::f32, DType::f16, DType::bf16}) {
    for (int i = 0; i < 12; ++i) {
      const Problem p = testing::random_problem(rng, t);
      for (std::size_t budget : {std::size_t{16384}, std::size_t{0}}) {
        PlanOptions o;
        o.threadgroup_memory_budget = budget;
        for (auto* plan : {&plan_forward, &plan_backward}) {
          for (const LaunchPlan& l : plan(p, o).launches) plans.push_back(l);
        }
      }
      for (const LaunchSequence& seq : {plan_qk(p, i % 2 == 0), plan_qk_backward(p, i % 2 == 0), plan_av(p),
                                        plan_av_backward(p)}) {
        for (const LaunchPlan& l : seq.launches) plans.push_back(l);
      }
    }
  }
  return plans;
}

TEST(MetalBindings, EveryPlanMatchesTheShaderAttributes) {
  const auto kernels = shader_kernels();
  ASSERT_FALSE(kernels.empty());
  std::set<std::string> planned;
  for (const LaunchPlan& l : sample_plans()) {
    planned.insert(l.kernel);
    for (const std::string& e : binding_errors(l, kernels)) ADD_FAILURE() << e;
  }
  EXPECT_EQ(planned.size(), kernels.size()) << "some shader kernel has no plan";
}

TEST(MetalBindings, SwappingTwoBindingsIsCaught) {
  const auto kernels = shader_kernels();
  std::mt19937_64 rng(1);
  for (const LaunchPlan& original : plan_backward(testing::random_problem(rng, DType::f32)).launches) {
    ASSERT_TRUE(binding_errors(original, kernels).empty());
    LaunchPlan swapped = original;
    std::swap(swapped.buffers[0].index, swapped.buffers[1].index);
    EXPECT_FALSE(binding_errors(swapped, kernels).empty()) << original.kernel;
    LaunchPlan args_moved = original;
    std::swap(args_moved.args_index, args_moved.buffers.back().index);
    EXPECT_FALSE(binding_errors(args_moved, kernels).empty()) << original.kernel;
  }
}

TEST(MetalPlans, ShapesFitAppleLimits) {
  for (const LaunchPlan& l : sample_plans()) {
    SCOPED_TRACE(l.kernel);
    const unsigned threads = l.threads[0] * l.threads[1] * l.threads[2];
    EXPECT_EQ(threads % 32, 0u) << "kernels assume whole simdgroups";
    EXPECT_LE(threads, 1024u);
    for (std::size_t bytes : l.threadgroup_memory) {
      EXPECT_EQ(bytes % 16, 0u);
      EXPECT_LE(bytes, 16384u);
    }
    for (unsigned g : l.threadgroups) EXPECT_GE(g, 1u);
  }
}

TEST(MetalPlans, NoCapOnKernelOrHeadDim) {
  ProblemSpec s;
  s.params = NAParams::uniform(2, 63);
  s.spatial = {64, 64, 1};
  s.dim = 4096;
  s.dim_v = 4096;
  const Problem p = make_problem(s);
  EXPECT_EQ(why_unplannable(p), "");
  const LaunchSequence seq = plan_backward(p);
  EXPECT_EQ(seq.launches.size(), 3u);
}

TEST(MetalShaderLint, ShadersAreClean) {
  const auto files = preprocessed_shaders();
  ASSERT_GE(files.size(), 1u);
  for (const fs::path& p : files) {
    for (const std::string& f : natten_msl::lint(natten_msl::read_file(p.string()))) ADD_FAILURE() << p << ": " << f;
  }
}

TEST(MetalShaderLint, EveryShaderIsPreprocessed) {
  std::set<std::string> have;
  for (const fs::path& p : preprocessed_shaders()) have.insert(p.stem().string());
  int shaders = 0;
  for (const auto& e : fs::directory_iterator(NATTEN_SHADER_DIR)) {
    if (e.path().extension() != ".metal") continue;
    ++shaders;
    EXPECT_TRUE(have.count(e.path().stem().string())) << e.path() << " is not checked (re-run cmake)";
  }
  EXPECT_GE(shaders, 1);
}

TEST(MetalShaderLint, RejectsEachForbiddenConstruct) {
  auto has = [](const std::string& src, const std::string& what) {
    for (const std::string& f : natten_msl::lint(src)) {
      if (f.find(what) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("inline float f(float x) { double y = x; return float(y); }", "double"));
  EXPECT_TRUE(has("inline float f(float x) { return std::exp(x); }", "std::"));
  EXPECT_TRUE(has("inline int f(int n) { return n > 0 ? f(n - 1) : 0; }", "recursion"));
  EXPECT_TRUE(has("inline int g(int n);\ninline int f(int n) { return g(n); }\ninline int g(int n) { return f(n); }",
                  "recursion"));
  EXPECT_TRUE(has("kernel void k(device float* o [[buffer(0)]]) { threadgroup float tile[32]; o[0] = tile[0]; }",
                  "threadgroup variable"));
  EXPECT_TRUE(natten_msl::lint("kernel void k(device float* o [[buffer(0)]], threadgroup float* t [[threadgroup(0)]]) "
                               "{ threadgroup float* p = t; o[0] = p[0]; }")
                  .empty());
}

#ifndef __APPLE__
// Off Apple the registry still lists `metal`, unavailable, and asking for it says why.
TEST(MetalRegistry, ListedAsUnavailableWithAReason) {
  bool listed = false;
  for (const BackendInfo& b : list_backends()) {
    if (b.name != "metal") continue;
    listed = true;
    EXPECT_FALSE(b.available);
    EXPECT_NE(b.unavailable_reason.find("Apple"), std::string::npos) << b.unavailable_reason;
  }
  EXPECT_TRUE(listed);
  try {
    make_backend("metal");
    FAIL() << "make_backend(\"metal\") succeeded off Apple";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("-DNATTEN_METAL=ON"), std::string::npos) << e.what();
  }
}
#endif

TEST(MetalShaderParse, ReadsKernelSignatures) {
  const auto ks = natten_msl::parse_kernels(
      "kernel void k(device const float* a [[buffer(2)]], constant Args& args [[buffer(0)]], "
      "threadgroup float* s [[threadgroup(1)]], uint3 tg [[threadgroup_position_in_grid]]) { }");
  ASSERT_EQ(ks.size(), 1u);
  ASSERT_EQ(ks[0].params.size(), 4u);
  EXPECT_EQ(ks[0].params[0].name, "a");
  EXPECT_EQ(ks[0].params[0].type, "device const float*");
  EXPECT_EQ(ks[0].params[0].index, 2);
  EXPECT_EQ(ks[0].params[1].type, "constant Args&");
  EXPECT_EQ(ks[0].params[2].attribute, "threadgroup");
  EXPECT_EQ(ks[0].params[3].attribute, "threadgroup_position_in_grid");
}

}  // namespace
}  // namespace natten::metal
