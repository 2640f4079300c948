// natten-check on the split ops ("na_qk", "na_av") and "merge": cases written from
// configs/parity_split.ini read back and pass, backends without the ops are skipped (not failed),
// candidates are compared (perturbed attention fails, heads-first candidates are permuted), and
// every kind of bad split case is a clear per-case input error while the run goes on.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <set>
#include <variant>

#include "check_runner.hpp"
#include "natten/core/error.hpp"
#include "natten/io/h5.hpp"
#include "natten/io/split_case.hpp"
#include "natten/parity/case_generator.hpp"
#include "natten/op/op_table.hpp"
#include "support/check_options.hpp"
#include "support/ref_fixtures.hpp"
#include "write_refs.hpp"

namespace natten {
namespace {

using check::RunOptions;
using check::RunReport;
using check::Status;

using testing::quiet_reference;

const char* const kSplitConfig = NATTEN_SOURCE_DIR "/configs/parity_split.ini";

// Writes the config's cases (matching `globs`) from the reference backend, as --write does.
std::string write_split_file(const std::string& stem, const std::vector<std::string>& globs, bool compress = false) {
  check::WriteOptions w;
  w.output = testing::temp_path(stem);
  w.config = kSplitConfig;
  w.case_globs = globs;
  w.compress = compress;
  w.progress = false;
  std::FILE* devnull = std::fopen("/dev/null", "w");
  check::write_refs(w, devnull);
  std::fclose(devnull);
  return w.output;
}

const check::CaseResult& result_for(const RunReport& r, const std::string& name) {
  for (const check::CaseResult& c : r.results) {
    if (c.case_name == name) return c;
  }
  throw std::runtime_error("no result for case " + name);
}

std::set<std::string> tensor_names(const check::CaseResult& r) {
  std::set<std::string> names;
  for (const auto& t : r.tensors) names.insert(t.name);
  return names;
}

TEST(CheckSplit, WrittenCasesOfEveryOpReadBackAndPass) {
  const std::string path = write_split_file("split_all", {}, /*compress=*/true);
  const RunReport r = check::run_backend_checks(path, quiet_reference());
  EXPECT_EQ(check::exit_code(r, /*strict=*/true), 0);
  ASSERT_EQ(r.results.size(), 16u);
  for (const check::CaseResult& c : r.results) {
    EXPECT_EQ(c.status, Status::pass) << c.case_name << ": " << c.message;
    for (const auto& t : c.tensors) EXPECT_EQ(t.cmp.max_abs_error, 0.0) << c.case_name << " " << t.name;
  }
  const std::set<std::string> qk{"attention", "grad_query", "grad_key", "grad_rpb", "grad_additional_key"};
  EXPECT_EQ(tensor_names(result_for(r, "qk2d_causal_gqa_add_kv")), qk);
  EXPECT_EQ(tensor_names(result_for(r, "qk2d_no_rpb_dilated")),
            (std::set<std::string>{"attention", "grad_query", "grad_key"}));
  EXPECT_EQ(tensor_names(result_for(r, "av2d_causal_add_kv")),
            (std::set<std::string>{"output", "grad_attention", "grad_value", "grad_additional_value"}));
  EXPECT_EQ(tensor_names(result_for(r, "merge3_1d_fp16")),
            (std::set<std::string>{"output", "logsumexp", "grad_output_0", "grad_logsumexp_0", "grad_output_1",
                                   "grad_logsumexp_1", "grad_output_2", "grad_logsumexp_2"}));
  EXPECT_EQ(tensor_names(result_for(r, "merge2_3d_forward")), (std::set<std::string>{"output", "logsumexp"}));
  EXPECT_EQ(result_for(r, "qk2d_fp16").dtype, "float16");
  EXPECT_EQ(result_for(r, "av2d_bf16").dtype, "bfloat16");

  // What was written is what the generator made: inputs and expected tensors round-trip exactly,
  // including the -inf logits in slots a causal window lacks.
  const std::unique_ptr<Backend> ref = make_backend("reference");
  const h5::File f = h5::File::open(path);
  for (const config::ResolvedCase& cfg : config::read_resolved_cases(kSplitConfig, config::CaseKeys::parity)) {
    SCOPED_TRACE(cfg.name);
    const SplitCase made = generate_split_case(cfg, *ref);
    const ParityCase loaded = load_case(f.root(), cfg.name, kMaxElements);
    ASSERT_EQ(loaded.op_name(), cfg.op);
    const SplitCase& c = std::get<SplitCase>(loaded.data);
    EXPECT_EQ(c.dtype, cfg.spec.dtype);
    EXPECT_EQ(c.has_backward(), cfg.backward);
    EXPECT_EQ(c.qk.rpb.defined(), cfg.rpb);
    ASSERT_EQ(c.expected.size(), made.expected.size());
    for (const auto& [name, t] : made.expected) {
      const Tensor& back = c.expected.at(name);
      ASSERT_EQ(back.shape(), t.shape()) << name;
      for (std::int64_t i = 0; i < t.numel(); ++i) {
        // Stored in the case's storage precision; logsumexps and their gradients in float32.
        const bool f16 = c.dtype == DType::f16 && name.find("logsumexp") == std::string::npos;
        const double want = t.to(f16 ? DType::f16 : DType::f32).get(i);
        if (std::isinf(want)) {
          EXPECT_EQ(back.get(i), want) << name << " at " << i;
        } else {
          ASSERT_EQ(back.get(i), want) << name << " at " << i;
        }
      }
    }
    if (cfg.op == "na_qk") {
      EXPECT_EQ(max_abs_diff(c.qk.query, made.qk.query), 0.0);
    } else if (cfg.op == "na_av") {
      EXPECT_EQ(max_abs_diff(c.av.attention, made.av.attention), 0.0);
    } else {
      EXPECT_EQ(max_abs_diff(c.merge_lses.back(), made.merge_lses.back()), 0.0);
    }
  }
  // Causal na_qk cases really hold masked slots.
  const ParityCase causal_case = load_case(f.root(), "qk2d_causal_gqa_add_kv", kMaxElements);
  const SplitCase& causal = std::get<SplitCase>(causal_case.data);
  int masked = 0;
  for (std::int64_t i = 0; i < causal.expected.at("attention").numel(); ++i)
    masked += causal.expected.at("attention").get(i) == -std::numeric_limits<float>::infinity();
  EXPECT_GT(masked, 0);
}

// A backend that implements only some ops, delegating those to the reference backend.
class PartialBackend : public Backend {
 public:
  PartialBackend(std::string name, std::set<Op> ops)
      : name_(std::move(name)), ops_(std::move(ops)), inner_(make_backend("reference")) {}
  std::string name() const override { return name_; }
  std::string description() const override { return "test double"; }
  bool implements(Op op) const override { return ops_.count(op) > 0; }
  std::string why_unsupported(Op op, const Problem& p) const override { return inner_->why_unsupported(op, p); }
  void forward(const Problem& p, const NAInputs& in, Tensor& out, Tensor& lse) override { inner_->forward(p, in, out, lse); }
  void backward(const Problem& p, const NAInputs& in, const Tensor& o, const Tensor& l, const Tensor& d,
                Gradients& g) override {
    inner_->backward(p, in, o, l, d, g);
  }
  void qk_forward(const Problem& p, const SplitQKInputs& in, Tensor& a) override { inner_->qk_forward(p, in, a); }
  void av_forward(const Problem& p, const SplitAVInputs& in, Tensor& o) override { inner_->av_forward(p, in, o); }
  void merge_forward(const MergeProblem& m, const std::vector<Tensor>& o, const std::vector<Tensor>& l, Tensor& out,
                     Tensor& lse) override {
    inner_->merge_forward(m, o, l, out, lse);
  }

 private:
  std::string name_;
  std::set<Op> ops_;
  std::unique_ptr<Backend> inner_;
};

TEST(CheckSplit, BackendsWithoutSplitOpsAreSkippedWithTheReason) {
  const std::string path = write_split_file("split_partial", {"qk1d_rpb", "av1d", "merge2_2d"});
  RunOptions o = quiet_reference();
  o.backends = {"fused_only", "forward_only"};
  o.make_backend = [](const std::string& name) -> std::unique_ptr<Backend> {
    if (name == "fused_only") return std::make_unique<PartialBackend>(name, std::set<Op>{Op::forward, Op::backward});
    return std::make_unique<PartialBackend>(name, std::set<Op>{Op::qk_forward, Op::av_forward, Op::merge_forward});
  };
  const RunReport r = check::run_backend_checks(path, o);
  ASSERT_EQ(r.results.size(), 6u);
  EXPECT_EQ(check::exit_code(r, false), 0);  // skips and parts not run are not failures...
  EXPECT_EQ(check::exit_code(r, true), 1);   // ...unless --strict
  for (const check::CaseResult& c : r.results) {
    SCOPED_TRACE(c.case_name + " on " + c.backend);
    if (c.backend == "fused_only") {
      ASSERT_EQ(c.status, Status::skip);
      EXPECT_EQ(c.message.rfind("backend fused_only: ", 0), 0u) << c.message;
      EXPECT_TRUE(c.message.find(" not implemented") != std::string::npos) << c.message;
      EXPECT_TRUE(c.tensors.empty());
      continue;
    }
    // Forward compared and passing; the backward noted as not run, with the reason.
    EXPECT_EQ(c.status, Status::pass) << c.message;
    ASSERT_FALSE(c.notes.empty());
    EXPECT_EQ(c.notes[0].rfind("backward: ", 0), 0u) << c.notes[0];
    EXPECT_TRUE(c.notes[0].find("backward not implemented by backend forward_only") != std::string::npos) << c.notes[0];
    EXPECT_FALSE(c.tensors.empty());
    for (const auto& t : c.tensors) EXPECT_EQ(t.name.rfind("grad_", 0), std::string::npos) << t.name;
  }
  EXPECT_EQ(result_for(r, "qk1d_rpb").message,
            "backend fused_only: na_qk not supported: na_qk not implemented by backend fused_only");
}

// Writes `cases` (SplitCase) to a fresh file.
std::string write_split_cases(const std::string& stem, const std::vector<SplitCase>& cases) {
  const std::string path = testing::temp_path(stem);
  const h5::File f = h5::File::create(path);
  for (const SplitCase& c : cases) write_split_case(f.root(), c, "reference");
  return path;
}

SplitCase generated(const std::string& name) {
  for (const config::ResolvedCase& cfg : config::read_resolved_cases(kSplitConfig, config::CaseKeys::parity)) {
    if (cfg.name == name) return generate_split_case(cfg, *make_backend("reference"));
  }
  throw std::runtime_error("no case " + name);
}

TEST(CheckSplit, CandidateWithPerturbedAttentionFails) {
  const SplitCase qk = generated("qk2d_rpb");
  const SplitCase av = generated("av1d");
  const SplitCase mg = generated("merge2_2d");
  const std::string ref = write_split_cases("split_cand_ref", {qk, av, mg});
  const RunOptions o = quiet_reference();
  EXPECT_EQ(check::exit_code(check::run_candidate_check(ref, ref, o), true), 0);

  SplitCase bad = qk;
  bad.expected["attention"] = qk.expected.at("attention").clone();
  bad.expected["attention"].set(17, bad.expected["attention"].get(17) + 1e-3f);
  const std::string cand = write_split_cases("split_cand", {bad, av, mg});
  const RunReport r = check::run_candidate_check(ref, cand, o);
  EXPECT_EQ(check::exit_code(r, false), 1);
  const check::CaseResult& c = result_for(r, "qk2d_rpb");
  EXPECT_EQ(c.status, Status::fail);
  for (const auto& t : c.tensors) {
    if (t.name != "attention") {
      EXPECT_TRUE(t.passed()) << t.name;
      continue;
    }
    EXPECT_EQ(t.cmp.failures, 1);
    EXPECT_EQ(t.cmp.worst_index, 17);
  }
  EXPECT_EQ(result_for(r, "av1d").status, Status::pass);
  EXPECT_EQ(result_for(r, "merge2_2d").status, Status::pass);
}

// A heads-first candidate: token tensors [B, H, *S, X] (attention included), rpb and merge
// logsumexps stored as their rule says (FORMAT.md "Heads-first layout").
TEST(CheckSplit, HeadsFirstCandidateIsPermuted) {
  const std::vector<std::pair<SplitCase, int>> cases = {
      {generated("qk2d_causal_gqa_add_kv"), 2}, {generated("qk1d_rpb"), 1}, {generated("av1d"), 1},
      {generated("merge2_2d"), 2}};
  std::vector<SplitCase> refs;
  for (const auto& [c, rank] : cases) refs.push_back(c);
  const std::string ref = write_split_cases("split_hf_ref", refs);
  const std::string cand = testing::temp_path("split_hf_cand");
  {
    const h5::File f = h5::File::create(cand);
    for (const auto& [c, rank] : cases) {
      const h5::Group g = f.root().create_group(c.name);
      g.write_attribute("layout", std::string("heads_first"));
      for (const auto& [name, t] : c.expected) {
        const bool keep = name == "grad_rpb" || name.find("additional") != std::string::npos;
        const bool lse = name.find("logsumexp") != std::string::npos;
        g.write_dataset(name, keep ? t : testing::to_heads_first(t, rank, !lse));
      }
    }
  }
  const RunReport r = check::run_candidate_check(ref, cand, quiet_reference());
  EXPECT_EQ(check::exit_code(r, true), 0) << (r.results.empty() ? r.file_error : r.results[0].message);
  ASSERT_EQ(r.results.size(), 4u);
  for (const check::CaseResult& c : r.results) {
    EXPECT_EQ(c.status, Status::pass) << c.case_name << ": " << c.message;
    for (const auto& t : c.tensors) EXPECT_EQ(t.cmp.max_abs_error, 0.0) << c.case_name << " " << t.name;
  }
  EXPECT_EQ(result_for(r, "qk2d_causal_gqa_add_kv").tensors.size(), 5u);
  EXPECT_EQ(result_for(r, "qk1d_rpb").tensors.size(), 4u);
  EXPECT_EQ(result_for(r, "merge2_2d").tensors.size(), 6u);
}

// Raw HDF5 edit the library's writer would never make: replace a string attribute.
void set_string_attribute(const std::string& path, const std::string& group, const char* attr, const std::string& v) {
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  const hid_t g = H5Gopen2(f, group.c_str(), H5P_DEFAULT);
  ASSERT_GE(g, 0);
  H5Adelete(g, attr);
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, v.size());
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t a = H5Acreate2(g, attr, type, space, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, type, v.c_str());
  H5Aclose(a);
  H5Sclose(space);
  H5Tclose(type);
  H5Gclose(g);
  H5Fclose(f);
}

void delete_link(const std::string& path, const std::string& link) {
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  ASSERT_GE(H5Ldelete(f, link.c_str(), H5P_DEFAULT), 0) << link;
  H5Fclose(f);
}

Tensor drop_last_slot(const Tensor& t) {
  Shape s = t.shape();
  s.back() -= 1;
  Tensor out = Tensor::empty(s, t.dtype());
  const std::int64_t w = t.size(-1);
  for (std::int64_t i = 0, j = 0; i < t.numel(); ++i) {
    if (i % w != w - 1) out.set(j++, t.get(i));
  }
  return out;
}

struct BadSplitCase {
  std::string name;
  std::string base;                                          // case of parity_split.ini it starts from
  std::function<void(SplitCase&)> edit_case;                 // before writing
  std::function<void(const std::string& path)> edit_file;    // after writing, raw HDF5
  std::string expected_message;                              // exact
};

TEST(CheckSplit, EachBadSplitCaseIsAClearErrorAndTheRunGoesOn) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<BadSplitCase> bad = {
      {"qk_slot_count", "qk2d_rpb",
       [](SplitCase& c) { c.expected["attention"] = drop_last_slot(c.expected.at("attention")); }, nullptr,
       "case 'qk_slot_count': dataset 'attention' has 14 neighbor slots in its last axis, expected 15 "
       "(prod(kernel_size) = 15)"},
      {"qk_grad_slot_count", "qk2d_causal_gqa_add_kv",
       [](SplitCase& c) { c.grad_result = drop_last_slot(c.grad_result); }, nullptr,
       "case 'qk_grad_slot_count': dataset 'grad_attention' has 10 neighbor slots in its last axis, expected 11 "
       "(prod(kernel_size) = 9 + 2 additional tokens)"},
      {"qk_rpb_shape", "qk2d_rpb", [](SplitCase& c) { c.qk.rpb = Tensor::zeros({2, 9, 4}, DType::f32); }, nullptr,
       "case 'qk_rpb_shape': rpb: expected shape [2, 9, 5], got [2, 9, 4]"},
      {"qk_rpb_axes", "qk2d_rpb", [](SplitCase& c) { c.qk.rpb = Tensor::zeros({2, 9}, DType::f32); }, nullptr,
       "case 'qk_rpb_axes': dataset 'rpb' has shape [2, 9], expected 3 axes"},
      {"qk_rpb_per_kv_head", "qk2d_causal_gqa_add_kv",
       [](SplitCase& c) { c.qk.rpb = Tensor::zeros({2, 5, 5}, DType::f32); }, nullptr,
       "case 'qk_rpb_per_kv_head': rpb: expected shape [4, 5, 5], got [2, 5, 5]"},
      {"qk_missing_grad_rpb", "qk1d_rpb", nullptr,
       [](const std::string& p) { delete_link(p, "qk_missing_grad_rpb/grad_rpb"); },
       "case 'qk_missing_grad_rpb': dataset 'grad_rpb' is missing"},
      {"qk_nan_attention", "qk1d_rpb", [nan](SplitCase& c) { c.expected["attention"].set(3, nan); }, nullptr,
       "case 'qk_nan_attention': dataset 'attention' holds a non-finite value (nan) at flat index 3"},
      {"qk_scaled", "qk1d_rpb", nullptr,
       [](const std::string& p) {
         const hid_t f = H5Fopen(p.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
         const hid_t g = H5Gopen2(f, "qk_scaled", H5P_DEFAULT);
         const double half = 0.5;
         const hid_t a = H5Aopen(g, "scale", H5P_DEFAULT);
         H5Awrite(a, H5T_NATIVE_DOUBLE, &half);
         H5Aclose(a);
         H5Gclose(g);
         H5Fclose(f);
       },
       "case 'qk_scaled': scale = 0.5, but na_qk does not scale (expected 1 or no attribute)"},
      {"av_slot_count", "av1d", [](SplitCase& c) { c.av.attention = drop_last_slot(c.av.attention); }, nullptr,
       "case 'av_slot_count': attention: last axis holds 4 weights, expected 5 (prod(kernel_size) = 5)"},
      {"av_heads_first_mixup", "av2d_dilated", nullptr,
       [](const std::string& p) { set_string_attribute(p, "av_heads_first_mixup", "layout", "heads_first"); },
       "case 'av_heads_first_mixup': kernel_size[1] * dilation[1] = 3 * 3 exceeds input size 2 along axis 1 "
       "(tensors read as heads-first: layout = heads_first)"},
      {"av_inf_weight", "av1d", [inf](SplitCase& c) { c.av.attention.set(0, inf); }, nullptr,
       "case 'av_inf_weight': dataset 'attention' holds a non-finite value (inf) at flat index 0"},
      {"av_missing_grad_value", "av1d", nullptr,
       [](const std::string& p) { delete_link(p, "av_missing_grad_value/grad_value"); },
       "case 'av_missing_grad_value': dataset 'grad_value' is missing"},
      {"merge_missing_part", "merge2_2d", nullptr,
       [](const std::string& p) { delete_link(p, "merge_missing_part/logsumexp_1"); },
       "case 'merge_missing_part': dataset 'logsumexp_1' is missing"},
      {"merge_part_shape", "merge2_2d",
       [](SplitCase& c) { c.merge_outputs[1] = Tensor::zeros({2, 6, 7, 2, 4}, DType::f32); }, nullptr,
       "case 'merge_part_shape': merge: output 1 has shape [2, 6, 7, 2, 4], expected [2, 6, 7, 2, 8]"},
  };
  std::vector<SplitCase> cases = {generated("av1d")};
  cases[0].name = "aaa_good";
  for (const BadSplitCase& b : bad) {
    SplitCase c = generated(b.base);
    c.name = b.name;
    if (b.edit_case) b.edit_case(c);
    cases.push_back(c);
  }
  const std::string path = write_split_cases("split_bad", cases);
  for (const BadSplitCase& b : bad) {
    if (b.edit_file) b.edit_file(path);
  }
  const RunReport r = check::run_backend_checks(path, quiet_reference());
  EXPECT_EQ(check::exit_code(r, false), 2);
  ASSERT_EQ(r.results.size(), bad.size() + 1);
  EXPECT_EQ(result_for(r, "aaa_good").status, Status::pass);
  for (const BadSplitCase& b : bad) {
    const check::CaseResult& c = result_for(r, b.name);
    EXPECT_EQ(c.status, Status::error) << b.name << ": " << c.message;
    EXPECT_EQ(c.message, b.expected_message) << b.name;
    EXPECT_EQ(c.message.find('\n'), std::string::npos) << b.name;
  }
}

}  // namespace
}  // namespace natten
