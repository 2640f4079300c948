// The op table (lib/natten/op/op_table.hpp) is complete and every entry works end to end: each
// backend op belongs to one family, each family has its entry, the config parser accepts exactly
// the families' names, and for one small case per family natten-bench's workload verifies on the
// reference backend and natten-check's generate -> write -> load -> compute round trip reproduces
// the generated tensors exactly. A family added to natten/backend.hpp without working entries fails
// here (or does not compile: op_table.cpp's static_assert).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>

#include "natten/backend.hpp"
#include "natten/config/case_spec.hpp"
#include "natten/core/error.hpp"
#include "natten/io/h5.hpp"
#include "natten/io/ini.hpp"
#include "natten/op/op_table.hpp"
#include "support/temp_file.hpp"

namespace natten {
namespace {

// One small case per family, forward and backward.
std::string case_text(std::string_view family) {
  const std::string common = "heads = 2\ndim = 4\nbackward = true\n";
  if (family == "merge") return "op = merge\ninput_size = 6,5\nparts = 3\n" + common;
  if (family == "varlen") return "op = varlen\nvarlen_sizes = 6x5;4x3\nwindow_size = 3\n" + common;
  std::string s = "op = " + std::string(family) + "\ninput_size = 6,5\nwindow_size = 3\n" + common;
  if (family == "na_qk") s += "rpb = true\n";
  return s;
}

config::ResolvedCase resolve(std::string_view family, config::CaseKeys keys) {
  const std::string text = "[" + std::string(family) + "_case]\n" + case_text(family);
  return config::resolve_cases(parse_ini(text, "t.ini"), keys).at(0);
}

TEST(OpTable, EveryBackendOpBelongsToOneFamily) {
  std::set<std::string_view> names;
  for (Op op : all_ops()) {
    EXPECT_TRUE(names.insert(op_name(op)).second) << "two ops named " << op_name(op);
    const OpFamilyInfo& f = family_info(family_of(op));
    const bool fast_path = op == Op::fmha_forward || op == Op::fmha_backward;
    EXPECT_TRUE(fast_path || f.forward == op || f.backward == op) << op_name(op);
  }
  EXPECT_EQ(static_cast<int>(all_ops().size()), kOpCount);
}

TEST(OpTable, EveryFamilyHasItsEntry) {
  ASSERT_NO_THROW(op_table());
  ASSERT_EQ(op_table().size(), op_families().size());
  for (const OpFamilyInfo& f : op_families()) {
    const CaseOp& e = case_op(f.family);
    EXPECT_EQ(e.name(), f.name);
    EXPECT_EQ(find_case_op(f.name) != nullptr, f.in_case_files) << f.name;
    EXPECT_NE(family_names(false).find(std::string(f.name)), std::string::npos);
  }
}

TEST(OpTable, ConfigsAcceptExactlyTheFamilies) {
  for (const OpFamilyInfo& f : op_families()) {
    EXPECT_NO_THROW(resolve(f.name, config::CaseKeys::bench)) << f.name;
    if (f.in_case_files) {
      EXPECT_NO_THROW(resolve(f.name, config::CaseKeys::parity)) << f.name;
    } else {
      EXPECT_THROW(resolve(f.name, config::CaseKeys::parity), Error) << f.name;
    }
  }
  EXPECT_THROW(resolve("na_qv", config::CaseKeys::bench), Error);
}

TEST(OpTable, EveryWorkloadVerifiesOnTheReference) {
  auto ref = make_backend("reference");
  for (const OpFamilyInfo& f : op_families()) {
    SCOPED_TRACE(std::string(f.name));
    const auto w = make_workload(resolve(f.name, config::CaseKeys::bench), true);
    EXPECT_FALSE(w->problem_str().empty());
    for (bool backward : {false, true}) {
      EXPECT_EQ(w->op(backward), backward ? f.backward : f.forward);
      EXPECT_GT(w->flops(backward), 0);
      EXPECT_GT(w->bytes(backward), 0);
      EXPECT_EQ(w->unsupported(*ref, backward), "");
      const bench::Verification v = w->verify(*ref, backward);
      EXPECT_EQ(v.status, "ok") << v.detail;
      const std::function<void()> call = w->prepare(*ref, backward);
      EXPECT_NO_THROW(call());
    }
  }
}

TEST(OpTable, EveryCaseFileFamilyRoundTripsThroughHdf5) {
  auto ref = make_backend("reference");
  for (const OpFamilyInfo& f : op_families()) {
    if (!f.in_case_files) continue;
    SCOPED_TRACE(std::string(f.name));
    const config::ResolvedCase cfg = resolve(f.name, config::CaseKeys::parity);
    const CaseOp& e = case_op_for(cfg);
    const ParityCase made = e.generate(cfg, *ref);
    EXPECT_GT(made.expected().size(), 2u);  // forward and backward tensors
    const testing::TempFile file(".h5");
    e.write(h5::File::create(file.path()).root(), made, "reference", false);
    const ParityCase loaded = load_case(h5::File::open(file.path()).root(), cfg.name, kMaxElements);
    EXPECT_EQ(loaded.op, &e);
    EXPECT_FALSE(e.describe(loaded).empty());
    const OpOutputs out = e.compute(*ref, loaded);
    EXPECT_TRUE(out.not_run.empty());
    ASSERT_EQ(out.tensors.size(), loaded.expected().size());
    for (const auto& [name, want] : loaded.expected()) {
      const Tensor& got = out.tensors.at(name);
      ASSERT_EQ(got.shape(), want.shape()) << name;
      double worst = 0;
      for (std::int64_t i = 0; i < got.numel(); ++i) worst = std::max(worst, std::abs(static_cast<double>(got.get(i)) - want.get(i)));
      EXPECT_EQ(worst, 0.0) << name;  // the same backend on the same inputs: bit-identical
    }
  }
}

}  // namespace
}  // namespace natten
