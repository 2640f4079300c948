// natten-check's reading and writing: round trips through write_ref_case, heads-first files,
// candidate files and the JSON writer.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <stdexcept>
#include <variant>

#include "check_runner.hpp"
#include "compare_case.hpp"
#include "natten/io/json.hpp"
#include "natten/core/error.hpp"
#include "natten/io/h5.hpp"
#include "natten/op/op_table.hpp"
#include "report.hpp"
#include "support/check_options.hpp"
#include "support/ref_fixtures.hpp"

namespace natten {
namespace {

using check::RunOptions;
using check::RunReport;
using check::Status;

using testing::quiet_reference;

TEST(CheckIo, WrittenCasesLoadBackIdentically) {
  const std::string path = testing::temp_path("roundtrip");
  const RefCase a = testing::tiny_case("a", 1, DType::f32, true, 2);
  const RefCase b = testing::tiny_case("b", 2, DType::f16, false);
  testing::write_cases(path, {a, b}, /*compress=*/true);
  const h5::File f = h5::File::open(path);
  const RefCase a2 = std::get<RefCase>(load_case(f.root(), "a", kMaxElements).data);
  EXPECT_EQ(a2.params.kernel[0], a.params.kernel[0]);
  EXPECT_EQ(a2.params.scale.value_or(0.0), 0.5);  // written resolved: head_dim 4 ** -0.5
  EXPECT_EQ(a2.dtype, DType::f32);
  EXPECT_TRUE(a2.has_backward());
  EXPECT_EQ(max_abs_diff(a2.inputs.additional_key, a.inputs.additional_key), 0.0);
  for (const auto& [name, t] : a.expected) EXPECT_EQ(max_abs_diff(a2.expected.at(name), t), 0.0) << name;
  const RefCase b2 = std::get<RefCase>(load_case(f.root(), "b", kMaxElements).data);
  EXPECT_EQ(b2.dtype, DType::f16);
  EXPECT_FALSE(b2.has_backward());
  EXPECT_EQ(max_abs_diff(b2.inputs.query, b.inputs.query), 0.0);
  const RunReport r = check::run_backend_checks(path, quiet_reference());
  EXPECT_EQ(check::exit_code(r, false), 0);
  ASSERT_EQ(r.results.size(), 2u);
  EXPECT_EQ(r.results[0].tensors.size(), 7u);  // output, lse, 3 grads, 2 additional-KV grads
  EXPECT_EQ(r.results[1].tensors.size(), 2u);
}

// A heads-first reference ([B, H, *S, D], older upstream) must load into the same heads-last case.
TEST(CheckIo, HeadsFirstReferenceMatchesHeadsLast) {
  const std::string path = testing::temp_path("heads_first");
  const RefCase c = testing::tiny_case("hf", 2, DType::f32, true, 2);
  {
    const h5::File f = h5::File::create(path);
    const h5::Group g = f.root().create_group("hf");
    g.write_attribute("op", std::string("na"));
    g.write_attribute("rank", std::int64_t{2});
    g.write_attribute("kernel_size", std::vector<std::int64_t>{3, 3});
    g.write_attribute("stride", std::vector<std::int64_t>{1, 1});
    g.write_attribute("dilation", std::vector<std::int64_t>{1, 1});
    g.write_attribute_int8("is_causal", {0, 0});
    g.write_attribute("dtype", std::string("float32"));
    g.write_attribute("layout", std::string("heads_first"));
    const std::pair<const char*, const Tensor*> token_tensors[] = {
        {"query", &c.inputs.query},        {"key", &c.inputs.key},
        {"value", &c.inputs.value},        {"output", &c.expected.at("output")},
        {"grad_output", &c.grad_output},   {"grad_query", &c.expected.at("grad_query")},
        {"grad_key", &c.expected.at("grad_key")}, {"grad_value", &c.expected.at("grad_value")}};
    for (const auto& [name, t] : token_tensors) g.write_dataset(name, testing::to_heads_first(*t, 2, true));
    g.write_dataset("logsumexp", testing::to_heads_first(c.expected.at("logsumexp"), 2, false));
    // Additional KV is [B, N, H, D] in both layouts.
    g.write_dataset("additional_key", c.inputs.additional_key);
    g.write_dataset("additional_value", c.inputs.additional_value);
    g.write_dataset("grad_additional_key", c.expected.at("grad_additional_key"));
    g.write_dataset("grad_additional_value", c.expected.at("grad_additional_value"));
  }
  const h5::File f = h5::File::open(path);
  const RefCase loaded = std::get<RefCase>(load_case(f.root(), "hf", kMaxElements).data);
  EXPECT_EQ(loaded.layout, "heads_first");
  EXPECT_EQ(max_abs_diff(loaded.inputs.query, c.inputs.query), 0.0);
  for (const auto& [name, t] : c.expected) EXPECT_EQ(max_abs_diff(loaded.expected.at(name), t), 0.0) << name;
  const RunReport r = check::run_backend_checks(path, quiet_reference());
  EXPECT_EQ(check::exit_code(r, false), 0) << (r.results.empty() ? r.file_error : r.results[0].message);
}

TEST(CheckIo, CandidateComparisons) {
  const std::string ref = testing::temp_path("cand_ref");
  const RefCase a = testing::tiny_case("a", 1);
  const RefCase b = testing::tiny_case("b", 2, DType::bf16);
  testing::write_cases(ref, {a, b});
  RunOptions o = quiet_reference();

  // Identical candidate: pass.
  EXPECT_EQ(check::exit_code(check::run_candidate_check(ref, ref, o), false), 0);

  // One perturbed element: fail, and the worst element is exactly that one.
  const std::string cand = testing::temp_path("cand");
  RefCase pa = a;
  pa.expected["grad_key"] = a.expected.at("grad_key").clone();
  pa.expected["grad_key"].set(13, pa.expected["grad_key"].get(13) + 0.01f);
  testing::write_cases(cand, {pa, b});
  RunReport r = check::run_candidate_check(ref, cand, o);
  EXPECT_EQ(check::exit_code(r, false), 1);
  ASSERT_EQ(r.results.size(), 2u);
  EXPECT_EQ(r.results[0].status, Status::fail);
  EXPECT_EQ(r.results[1].status, Status::pass);
  for (const auto& t : r.results[0].tensors) {
    if (t.name != "grad_key") {
      EXPECT_TRUE(t.passed()) << t.name;
      continue;
    }
    EXPECT_EQ(t.cmp.failures, 1);
    EXPECT_EQ(t.cmp.worst_index, 13);
    EXPECT_EQ(check::index_str(13, t.shape), "[0, 1, 1, 1]");  // 13 = 1*8 + 1*4 + 1 in [1, 10, 2, 4]
    EXPECT_NEAR(t.cmp.max_abs_error, 0.01, 1e-6);
  }

  // A candidate with only the output (e.g. an implementation without backward): passes, with a note.
  const std::string partial = testing::temp_path("cand_partial");
  RefCase oa = a;
  oa.expected = {{"output", a.expected.at("output")}};
  oa.grad_output = Tensor();
  RefCase ob = b;
  ob.expected = {{"output", b.expected.at("output")}};
  ob.grad_output = Tensor();
  testing::write_cases(partial, {oa, ob});
  r = check::run_candidate_check(ref, partial, o);
  EXPECT_EQ(check::exit_code(r, false), 0);
  ASSERT_EQ(r.results[0].notes.size(), 1u);
  EXPECT_EQ(r.results[0].notes[0], "not in the candidate: grad_key, grad_query, grad_value, logsumexp");
  EXPECT_EQ(check::exit_code(r, /*strict=*/true), 1);

  // A NaN in the candidate is a parity failure, not an input error.
  const std::string nan_cand = testing::temp_path("cand_nan");
  RefCase na = a;
  na.expected["output"] = a.expected.at("output").clone();
  na.expected["output"].set(0, std::numeric_limits<float>::quiet_NaN());
  testing::write_cases(nan_cand, {na, b});
  r = check::run_candidate_check(ref, nan_cand, o);
  EXPECT_EQ(r.results[0].status, Status::fail);
  EXPECT_EQ(check::exit_code(r, false), 1);

  // A candidate missing a case: not compared (a skip: --strict fails it), the other still compared.
  // The file is well formed; a one-case candidate is not 16 input errors.
  const std::string missing = testing::temp_path("cand_missing");
  testing::write_cases(missing, {b});
  r = check::run_candidate_check(ref, missing, o);
  EXPECT_EQ(r.results[0].status, Status::skip);
  EXPECT_EQ(r.results[0].message, "not compared: the candidate file has no group 'a'");
  EXPECT_EQ(r.results[1].status, Status::pass);
  EXPECT_EQ(check::exit_code(r, false), 0);
  EXPECT_EQ(check::exit_code(r, true), 1);

  // A missing candidate file: file error.
  r = check::run_candidate_check(ref, "/nonexistent/cand.h5", o);
  EXPECT_EQ(r.file_error, "candidate HDF5 file /nonexistent/cand.h5: No such file or directory");
  EXPECT_EQ(check::exit_code(r, false), 2);
}

// A well-formed candidate tensor of another shape is the implementation's difference: that tensor's
// parity failure (exit 1) naming both shapes and a likely cause, the case's other tensors still
// compared (a dataset that is not floats stays an input error: test_check_bad_inputs.cpp).
TEST(CheckIo, CandidateOfAnotherShapeIsAParityFailure) {
  const std::string ref = testing::temp_path("shape_ref");
  const RefCase a = testing::tiny_case("a", 1);  // output [1, 10, 2, 4]
  testing::write_cases(ref, {a});
  RunOptions o = quiet_reference();
  const auto check_with = [&](const std::string& tag, const std::function<void(const h5::Group&)>& fill) {
    const std::string cand = testing::temp_path(tag);
    {
      const h5::File f = h5::File::create(cand);
      fill(f.root().create_group("a"));
    }
    return check::run_candidate_check(ref, cand, o);
  };
  const auto tensor = [](const check::CaseResult& c, const std::string& name) -> const check::TensorResult& {
    for (const check::TensorResult& t : c.tensors) {
      if (t.name == name) return t;
    }
    throw std::runtime_error("no tensor " + name);
  };

  // Subsampled under stride (every other query), gradients right: output and logsumexp fail.
  RunReport r = check_with("shape_strided", [&](const h5::Group& g) {
    g.write_dataset("output", Tensor::zeros({1, 5, 2, 4}, DType::f32));
    g.write_dataset("logsumexp", Tensor::zeros({1, 5, 2}, DType::f32));
    for (const char* n : {"grad_query", "grad_key", "grad_value"}) g.write_dataset(n, a.expected.at(n));
  });
  ASSERT_EQ(r.results.size(), 1u);
  const check::CaseResult& c = r.results[0];
  EXPECT_EQ(c.status, Status::fail) << c.message;
  EXPECT_EQ(check::exit_code(r, false), 1);
  EXPECT_EQ(c.tensors.size(), 5u);
  const check::TensorResult& out = tensor(c, "output");
  EXPECT_FALSE(out.passed());
  EXPECT_EQ(out.other_shape, (Shape{1, 5, 2, 4}));
  EXPECT_EQ(out.cmp.failures, 80);
  EXPECT_EQ(out.shape_mismatch,
            "candidate output [1, 5, 2, 4] vs reference [1, 10, 2, 4]: a strided result subsampled (one query per "
            "stride group) where upstream keeps the input's shape?");
  EXPECT_FALSE(tensor(c, "logsumexp").passed());
  EXPECT_TRUE(tensor(c, "grad_query").passed());
  EXPECT_TRUE(tensor(c, "grad_key").passed());
  EXPECT_TRUE(tensor(c, "grad_value").passed());
  EXPECT_TRUE(c.notes.empty());
  // The table row and the JSON report carry the message.
  const std::string json = check::report_json(r, false, "natten-check test", 0.0);
  EXPECT_NE(json.find("\"candidate_shape\": [1, 5, 2, 4],\n            \"message\": \"candidate output [1, 5, 2, 4] vs"),
            std::string::npos)
      << json;

  // Another axis count, and a heads-first tensor without the layout attribute.
  r = check_with("shape_axes", [&](const h5::Group& g) {
    g.write_dataset("output", Tensor::zeros({10, 2, 4}, DType::f32));
    g.write_dataset("logsumexp", Tensor::zeros({1, 2, 10}, DType::f32));
  });
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(check::exit_code(r, false), 1);
  EXPECT_EQ(tensor(r.results[0], "output").shape_mismatch,
            "candidate output [10, 2, 4] vs reference [1, 10, 2, 4]: 3 axes where the reference has 4: a missing or "
            "extra axis (batch, heads, a trailing 1)?");
  EXPECT_EQ(tensor(r.results[0], "logsumexp").shape_mismatch,
            "candidate logsumexp [1, 2, 10] vs reference [1, 10, 2]: the same extents in another order: heads-first "
            "data without layout = heads_first?");
  EXPECT_EQ(r.results[0].notes, std::vector<std::string>{"not in the candidate: grad_key, grad_query, grad_value"});

  // A heads-first candidate of another shape is named in heads-last order.
  r = check_with("shape_hf", [&](const h5::Group& g) {
    g.write_attribute("layout", std::string("heads_first"));
    g.write_dataset("output", Tensor::zeros({1, 2, 10, 5}, DType::f32));
  });
  EXPECT_EQ(tensor(r.results[0], "output").shape_mismatch, "candidate output [1, 10, 2, 5] vs reference [1, 10, 2, 4]");

  // The implementation declined the case (make_candidate.py writes `skipped`): skip, exit 0 (1 with --strict).
  r = check_with("shape_skipped", [&](const h5::Group& g) { g.write_attribute("skipped", std::string("NotImplementedError: 1D")); });
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].status, Status::skip);
  EXPECT_EQ(r.results[0].message, "the candidate's implementation declined the case: NotImplementedError: 1D");
  EXPECT_EQ(check::exit_code(r, false), 0);
  EXPECT_EQ(check::exit_code(r, true), 1);
}

// Heads-first candidates (e.g. from older upstream or an Apple port) are permuted before comparing.
TEST(CheckIo, HeadsFirstCandidate) {
  const std::string ref = testing::temp_path("hf_ref");
  const RefCase a = testing::tiny_case("a", 2, DType::f32, true, 1);
  testing::write_cases(ref, {a});
  const std::string cand = testing::temp_path("hf_cand");
  {
    const h5::File f = h5::File::create(cand);
    const h5::Group g = f.root().create_group("a");
    g.write_attribute("layout", std::string("heads_first"));
    for (const auto& [name, t] : a.expected) {
      const bool extra = name.find("additional") != std::string::npos;
      g.write_dataset(name, extra ? t : testing::to_heads_first(t, 2, name != "logsumexp"));
    }
  }
  RunOptions o = quiet_reference();
  const RunReport r = check::run_candidate_check(ref, cand, o);
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].status, Status::pass) << r.results[0].message;
  EXPECT_EQ(r.results[0].tensors.size(), 7u);
  for (const auto& t : r.results[0].tensors) EXPECT_EQ(t.cmp.max_abs_error, 0.0) << t.name;
}

// A backend that declines work through why_unsupported: forward-only, or nothing at all.
class DecliningBackend : public Backend {
 public:
  explicit DecliningBackend(bool forward_ok) : forward_ok_(forward_ok), inner_(make_backend("reference")) {}
  std::string name() const override { return "declining"; }
  std::string description() const override { return "test double"; }
  std::string why_unsupported(Op op, const Problem&) const override {
    if (op == Op::forward && forward_ok_) return {};
    return "not implemented in this test double";
  }
  void forward(const Problem& p, const NAInputs& in, Tensor& out, Tensor& lse) override { inner_->forward(p, in, out, lse); }
  void backward(const Problem&, const NAInputs&, const Tensor&, const Tensor&, const Tensor&, Gradients&) override {
    ADD_FAILURE() << "backward must not be called when declined";
  }

 private:
  bool forward_ok_;
  std::unique_ptr<Backend> inner_;
};

TEST(CheckIo, DeclinedWorkIsReportedNotFailed) {
  const ParityCase c{find_case_op("na"), testing::tiny_case("a", 1)};
  const CaseOp* op = c.op;
  ASSERT_NE(op, nullptr);
  DecliningBackend forward_only(true);
  const OpOutputs out = op->compute(forward_only, c);
  EXPECT_EQ(out.tensors.size(), 2u);  // output, logsumexp
  ASSERT_EQ(out.not_run.size(), 1u);
  EXPECT_EQ(out.not_run[0], "backward: not implemented in this test double");
  check::CaseResult r;
  check::compare_case(c.expected(), c.dtype(), out.tensors, {}, "not compared", r);
  EXPECT_EQ(r.status, Status::pass);
  EXPECT_EQ(r.notes.back(), "not compared: grad_key, grad_query, grad_value");

  DecliningBackend nothing(false);
  EXPECT_THROW(op->compute(nothing, c), Unsupported);
  EXPECT_EQ(find_case_op("na_fancy"), nullptr);
  EXPECT_EQ(known_case_ops(), "na, na_qk, na_av, merge");
}

// The report's JSON (natten/io/json.hpp, shared with natten-bench): escapes, invalid UTF-8 as
// U+FFFD, non-finite statistics as strings.
TEST(CheckIo, JsonEscapesAndFormats) {
  Json j = Json::object();
  j.set("s", std::string("a\"b\\c\n\t\x01 \xc3\xa9 \xff end"));
  j.set("n", 0.1);
  j.set("i", std::int64_t{-3});
  j.set("nan", std::numeric_limits<double>::quiet_NaN());
  j.set("inf", -std::numeric_limits<double>::infinity());
  j.set("empty", Json::array());
  j.set("b", true);
  j.set("z", Json());
  EXPECT_EQ(j.dump(),
            "{\n  \"s\": \"a\\\"b\\\\c\\n\\t\\u0001 \xc3\xa9 \xef\xbf\xbd end\",\n  \"n\": 0.1,\n  \"i\": -3,\n"
            "  \"nan\": \"nan\",\n  \"inf\": \"-inf\",\n  \"empty\": [],\n  \"b\": true,\n  \"z\": null\n}");
}

}  // namespace
}  // namespace natten
