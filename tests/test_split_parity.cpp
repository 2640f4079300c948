// Parity of every backend's split ops with upstream NATTEN 0.14.6 on every split-op reference file
// (tests/data/upstream, and ../shared/natten-refs when present; tests/support/ref_files.hpp), and
// a write/load round trip of the na_qk, na_av and merge case formats.
#include <gtest/gtest.h>

#include <cmath>
#include <unistd.h>

#include <filesystem>

#include "natten/core/error.hpp"
#include "natten/io/case_reader.hpp"
#include "natten/io/ref_case.hpp"
#include "natten/io/split_case.hpp"
#include "natten/op/op_table.hpp"
#include "natten/ops.hpp"
#include "natten/parity/compare.hpp"
#include "support/backend_test.hpp"
#include "support/random_problem.hpp"
#include "support/ref_files.hpp"

namespace natten {
namespace {

using testing::random_tensor;

void expect_parity(const std::map<std::string, Tensor>& ours, const SplitCase& c, double max_f32_abs) {
  for (const auto& [tensor, expected] : c.expected) {
    ASSERT_TRUE(ours.count(tensor)) << tensor;
    const TensorComparison cmp = compare_tensors(ours.at(tensor), expected, default_tolerance(c.dtype, tensor));
    EXPECT_EQ(cmp.failures, 0) << tensor << ": max abs error " << cmp.max_abs_error << " at " << cmp.worst_index
                               << " (ours " << cmp.worst_ours << ", expected " << cmp.worst_reference << ")";
    // The absolute bound is for forward results; gradients such as grad_rpb sum hundreds of terms
    // and are held to the default (relative) tolerance only.
    if (c.dtype == DType::f32 && tensor.rfind("grad_", 0) != 0) {
      EXPECT_LE(cmp.max_abs_error, max_f32_abs) << tensor;
    }
  }
}

class SplitParity : public testing::BackendTest {};

TEST_P(SplitParity, EveryCaseMatchesUpstream) {
  const std::vector<std::string> files = testing::upstream_ref_files(testing::RefKind::split);
  ASSERT_GE(files.size(), 1u);  // the shipped one at least
  Backend* backend = backend_.get();
  int ran = 0, cases = 0;
  for (const std::string& path : files) {
    SCOPED_TRACE(path);
    const h5::File file = h5::File::open(path);
    const h5::Group root = file.root();
    const std::vector<std::string> names = list_ref_cases(root);
    ASSERT_GE(names.size(), 10u);
    for (const std::string& name : names) {
      SCOPED_TRACE(name);
      ++cases;
      const SplitCase c = load_split_case(root, name);
      EXPECT_TRUE(c.has_backward());
      const Op op = c.op == "na_qk" ? Op::qk_backward : Op::av_backward;
      if (!backend->implements(op)) continue;
      expect_parity(run_case(*backend, ParityCase{find_case_op(c.op), c}), c, 1e-5);
      ++ran;
    }
  }
  if (ran == 0) GTEST_SKIP() << "backend " << GetParam() << " implements no split op";
  EXPECT_EQ(ran, cases);
}

INSTANTIATE_FOR_ALL_BACKENDS(SplitParity);

// Cases written by our reference backend load back and pass on it: na_qk with rpb, causal slots
// (-inf), GQA and additional keys; na_av with additional values; merge with an empty part.
TEST(SplitCaseFormat, WriteThenLoadRoundTrips) {
  std::unique_ptr<Backend> ref = make_backend("reference");
  std::mt19937_64 rng(51);
  std::vector<SplitCase> written;

  SplitCase qk;
  qk.name = "qk_causal_gqa";
  qk.op = "na_qk";
  qk.params = NAParams::uniform(2, 3, 1, 1);
  qk.params.causal[0] = true;
  const Shape q_shape{2, 5, 4, 4, 3}, kv_shape{2, 5, 4, 2, 3};
  qk.qk = {random_tensor(rng, q_shape, DType::f32), random_tensor(rng, kv_shape, DType::f32),
           random_tensor(rng, {4, 5, 5}, DType::f32), random_tensor(rng, {2, 2, 2, 3}, DType::f32)};
  qk.expected["attention"] = na_qk(*ref, qk.params, qk.qk);
  qk.grad_result = random_tensor(rng, qk.expected["attention"].shape(), DType::f32);
  const SplitQKGrads gq = na_qk_backward(*ref, qk.params, qk.qk, qk.grad_result);
  qk.expected["grad_query"] = gq.query;
  qk.expected["grad_key"] = gq.key;
  qk.expected["grad_rpb"] = gq.rpb;
  qk.expected["grad_additional_key"] = gq.additional_key;
  written.push_back(qk);

  SplitCase av;
  av.name = "av_1d_extra";
  av.op = "na_av";
  av.params = NAParams::uniform(1, 4, 2, 2);
  av.av = {random_tensor(rng, {1, 9, 2, 6}, DType::f32), random_tensor(rng, {1, 9, 1, 5}, DType::f32),
           random_tensor(rng, {1, 2, 1, 5}, DType::f32)};
  av.expected["output"] = na_av(*ref, av.params, av.av);
  av.grad_result = random_tensor(rng, av.expected["output"].shape(), DType::f32);
  const SplitAVGrads ga = na_av_backward(*ref, av.params, av.av, av.grad_result);
  av.expected["grad_attention"] = ga.attention;
  av.expected["grad_value"] = ga.value;
  av.expected["grad_additional_value"] = ga.additional_value;
  written.push_back(av);

  SplitCase mg;
  mg.name = "merge_three";
  mg.op = "merge";
  Tensor empty_lse = Tensor::empty({1, 3, 3, 2}, DType::f32);
  empty_lse.fill(-INFINITY);
  for (int i = 0; i < 3; ++i) {
    mg.merge_outputs.push_back(random_tensor(rng, {1, 3, 3, 2, 4}, DType::f32));
    mg.merge_lses.push_back(i == 2 ? empty_lse : random_tensor(rng, {1, 3, 3, 2}, DType::f32, 2.0f));
  }
  const ForwardResult m = merge_attentions(*ref, mg.merge_outputs, mg.merge_lses);
  mg.expected["output"] = m.output;
  mg.expected["logsumexp"] = m.lse;
  mg.grad_result = random_tensor(rng, m.output.shape(), DType::f32);
  mg.grad_lse = random_tensor(rng, m.lse.shape(), DType::f32);
  const MergeGrads gm = merge_attentions_backward(*ref, mg.merge_outputs, mg.merge_lses, m.output, m.lse,
                                                  mg.grad_result, mg.grad_lse);
  for (int i = 0; i < 3; ++i) {
    mg.expected["grad_output_" + std::to_string(i)] = gm.outputs[static_cast<std::size_t>(i)];
    mg.expected["grad_logsumexp_" + std::to_string(i)] = gm.lses[static_cast<std::size_t>(i)];
  }
  written.push_back(mg);

  const std::string path =
      (std::filesystem::temp_directory_path() / ("natten-split-roundtrip-" + std::to_string(::getpid()) + ".h5")).string();
  {
    const h5::File f = h5::File::create(path);
    for (const SplitCase& c : written) write_split_case(f.root(), c, "reference");
  }
  const h5::File f = h5::File::open(path);
  EXPECT_EQ(list_ref_cases(f.root()), (std::vector<std::string>{"av_1d_extra", "merge_three", "qk_causal_gqa"}));
  for (const SplitCase& w : written) {
    SCOPED_TRACE(w.name);
    const SplitCase c = load_split_case(f.root(), w.name);
    EXPECT_EQ(c.op, w.op);
    EXPECT_EQ(c.expected.size(), w.expected.size());
    expect_parity(run_case(*ref, ParityCase{find_case_op(c.op), c}), c, 0.0);
  }
  std::filesystem::remove(path);
}

TEST(SplitCaseFormat, LoadErrorsNameTheCaseAndTheProblem) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("natten-split-bad-" + std::to_string(::getpid()) + ".h5")).string();
  std::mt19937_64 rng(52);
  {
    const h5::File f = h5::File::create(path);
    const h5::Group g = f.root().create_group("bad_rpb");
    g.write_attribute("op", std::string("na_qk"));
    write_na_params(g, NAParams::uniform(1, 3));
    g.write_attribute("dtype", std::string("float32"));
    g.write_dataset("query", random_tensor(rng, {1, 6, 2, 4}, DType::f32));
    g.write_dataset("key", random_tensor(rng, {1, 6, 2, 4}, DType::f32));
    g.write_dataset("rpb", random_tensor(rng, {2, 4}, DType::f32));
    const h5::Group m = f.root().create_group("bad_merge");
    m.write_attribute("op", std::string("merge"));
    m.write_attribute("dtype", std::string("float32"));
    m.write_attribute("parts", std::int64_t{1});
    const h5::Group s = f.root().create_group("scaled_qk");
    s.write_attribute("op", std::string("na_qk"));
    write_na_params(s, NAParams::uniform(1, 3));
    s.write_attribute("scale", 0.5);
    s.write_attribute("dtype", std::string("float32"));
  }
  const h5::File f = h5::File::open(path);
  auto expect_error = [&](const char* name, const char* message) {
    try {
      load_split_case(f.root(), name);
      ADD_FAILURE() << name << ": no error";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), message);
    }
  };
  expect_error("bad_rpb", "case 'bad_rpb': rpb: expected shape [2, 5], got [2, 4]");
  expect_error("bad_merge", "case 'bad_merge': attribute 'parts' is 1, expected 2..1024");
  expect_error("scaled_qk", "case 'scaled_qk': scale = 0.5, but na_qk does not scale (expected 1 or no attribute)");
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace natten
