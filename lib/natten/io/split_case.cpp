#include "natten/io/split_case.hpp"

#include <fmt/format.h>

#include "natten/core/error.hpp"
#include "natten/io/case_reader.hpp"

namespace natten {

bool is_split_case_op(std::string_view op) { return op == "na_qk" || op == "na_av" || op == "merge"; }

namespace {

// Runs the validation `f`, prefixing any Error with the case name. A case read as heads-first
// says so: a heads-last file mislabelled (or the reverse) fails validation in confusing ways.
template <typename F>
auto in_case(const SplitCase& c, F&& f) {
  try {
    return f();
  } catch (const Error& e) {
    fail("case '{}': {}{}", c.name, e.what(),
         c.layout == "heads_first" ? " (tensors read as heads-first: layout = heads_first)" : "");
  }
}

// Like expect_case_shape, but a wrong neighbor-slot count (the last axis) gets its own message: it is
// the usual symptom of a kernel_size that does not match the data, or of a heads-first/last mix-up.
void expect_attention_shape(const SplitCase& c, const char* dataset, const Tensor& t, const Problem& p) {
  const Shape want = attention_shape(p);
  if (t.dim() == static_cast<int>(want.size()) && t.size(-1) != want.back()) {
    fail("case '{}': dataset '{}' has {} neighbor slots in its last axis, expected {} (prod(kernel_size) = {}{})",
         c.name, dataset, t.size(-1), want.back(), window_slots(p),
         p.extra_kv ? fmt::format(" + {} additional tokens", p.extra_kv) : std::string());
  }
  expect_case_shape(c.name, dataset, t, want);
}

void load_qk(const CaseReader& r, bool hf, SplitCase& c) {
  const int rank = c.params.rank, nd = rank + 3;
  c.qk.query = r.tensor("query", c.dtype, nd, hf, rank, true);
  c.qk.key = r.tensor("key", c.dtype, nd, hf, rank, true);
  if (r.has("rpb")) c.qk.rpb = r.tensor("rpb", c.dtype, rank + 1, hf, rank, false, false);
  if (r.has("additional_key")) c.qk.additional_key = r.tensor("additional_key", c.dtype, 4, hf, rank, true, false);
  const Problem p = in_case(c, [&] { return validate_qk(c.params, c.qk); });
  c.expected["attention"] = r.tensor("attention", DType::f32, nd, hf, rank, true, true, CaseReader::Values::finite_or_neg_inf);
  expect_attention_shape(c, "attention", c.expected["attention"], p);
  if (!r.has("grad_attention")) return;
  c.grad_result = r.tensor("grad_attention", c.dtype, nd, hf, rank, true);
  expect_attention_shape(c, "grad_attention", c.grad_result, p);
  c.expected["grad_query"] = r.tensor("grad_query", DType::f32, nd, hf, rank, true);
  expect_case_shape(c.name, "grad_query", c.expected["grad_query"], p.query_shape());
  c.expected["grad_key"] = r.tensor("grad_key", DType::f32, nd, hf, rank, true);
  expect_case_shape(c.name, "grad_key", c.expected["grad_key"], p.kv_shape(p.dim));
  if (c.qk.rpb.defined()) {
    c.expected["grad_rpb"] = r.tensor("grad_rpb", DType::f32, rank + 1, hf, rank, false, false);
    expect_case_shape(c.name, "grad_rpb", c.expected["grad_rpb"], rpb_shape(p));
  }
  if (p.extra_kv > 0) {
    c.expected["grad_additional_key"] = r.tensor("grad_additional_key", DType::f32, 4, hf, rank, true, false);
    expect_case_shape(c.name, "grad_additional_key", c.expected["grad_additional_key"], p.extra_kv_shape(p.dim));
  }
}

void load_av(const CaseReader& r, bool hf, SplitCase& c) {
  const int rank = c.params.rank, nd = rank + 3;
  c.av.attention = r.tensor("attention", c.dtype, nd, hf, rank, true, true, CaseReader::Values::finite_or_neg_inf);
  c.av.value = r.tensor("value", c.dtype, nd, hf, rank, true);
  if (r.has("additional_value"))
    c.av.additional_value = r.tensor("additional_value", c.dtype, 4, hf, rank, true, false);
  const Problem p = in_case(c, [&] { return validate_av(c.params, c.av); });
  c.expected["output"] = r.tensor("output", DType::f32, nd, hf, rank, true);
  expect_case_shape(c.name, "output", c.expected["output"], p.output_shape());
  if (!r.has("grad_output")) return;
  c.grad_result = r.tensor("grad_output", c.dtype, nd, hf, rank, true);
  expect_case_shape(c.name, "grad_output", c.grad_result, p.output_shape());
  c.expected["grad_attention"] = r.tensor("grad_attention", DType::f32, nd, hf, rank, true);
  expect_attention_shape(c, "grad_attention", c.expected["grad_attention"], p);
  c.expected["grad_value"] = r.tensor("grad_value", DType::f32, nd, hf, rank, true);
  expect_case_shape(c.name, "grad_value", c.expected["grad_value"], p.kv_shape(p.dim_v));
  if (p.extra_kv > 0) {
    c.expected["grad_additional_value"] = r.tensor("grad_additional_value", DType::f32, 4, hf, rank, true, false);
    expect_case_shape(c.name, "grad_additional_value", c.expected["grad_additional_value"], p.extra_kv_shape(p.dim_v));
  }
}

void load_merge(const h5::Group& g, const CaseReader& r, bool hf, SplitCase& c) {
  const std::vector<std::int64_t> parts = r.ints("parts", 1);
  if (parts[0] < 2 || parts[0] > 1024) fail("case '{}': attribute 'parts' is {}, expected 2..1024", c.name, parts[0]);
  const std::string first = "output_0";
  if (!r.has(first.c_str())) fail("case '{}': dataset 'output_0' is missing", c.name);
  const int axes = static_cast<int>(g.dataset_info(first).shape.size());
  if (axes < 3 || axes > kMaxRank + 3)
    fail("case '{}': dataset 'output_0' has {} axes, expected 4 to 6 ([B, *spatial, heads, dim])", c.name, axes);
  const int rank = axes - 3;
  auto out = [&](const std::string& ds, DType t) { return r.tensor(ds.c_str(), t, axes, hf, rank, true); };
  auto lse = [&](const std::string& ds) { return r.tensor(ds.c_str(), DType::f32, axes - 1, hf, rank, false, true, CaseReader::Values::finite_or_neg_inf); };
  for (std::int64_t i = 0; i < parts[0]; ++i) {
    c.merge_outputs.push_back(out(fmt::format("output_{}", i), c.dtype));
    c.merge_lses.push_back(lse(fmt::format("logsumexp_{}", i)));
  }
  const MergeProblem m = in_case(c, [&] { return validate_merge(c.merge_outputs, c.merge_lses); });
  c.expected["output"] = out("output", DType::f32);
  expect_case_shape(c.name, "output", c.expected["output"], m.output_shape);
  c.expected["logsumexp"] = lse("logsumexp");
  expect_case_shape(c.name, "logsumexp", c.expected["logsumexp"], m.lse_shape);
  if (!r.has("grad_output")) return;
  c.grad_result = out("grad_output", c.dtype);
  expect_case_shape(c.name, "grad_output", c.grad_result, m.output_shape);
  if (r.has("grad_logsumexp")) {
    c.grad_lse = r.tensor("grad_logsumexp", DType::f32, axes - 1, hf, rank, false);
    expect_case_shape(c.name, "grad_logsumexp", c.grad_lse, m.lse_shape);
  }
  for (std::int64_t i = 0; i < parts[0]; ++i) {
    const std::string go = fmt::format("grad_output_{}", i), gl = fmt::format("grad_logsumexp_{}", i);
    c.expected[go] = out(go, DType::f32);
    expect_case_shape(c.name, go.c_str(), c.expected[go], m.output_shape);
    c.expected[gl] = r.tensor(gl.c_str(), DType::f32, axes - 1, hf, rank, false);
    expect_case_shape(c.name, gl.c_str(), c.expected[gl], m.lse_shape);
  }
}

}  // namespace

SplitCase load_split_case(const h5::Group& root, const std::string& name, std::int64_t max_elements) {
  const h5::Group g = root.subgroup(name);
  CaseReader r(g, name, max_elements);
  SplitCase c;
  c.name = name;
  c.op = r.str("op");
  if (!is_split_case_op(c.op)) fail("case '{}': unknown op '{}' (expected na_qk, na_av or merge)", name, c.op);
  c.dtype = r.dtype();
  const bool hf = r.heads_first();
  c.layout = hf ? "heads_first" : "heads_last";
  if (c.op == "merge") {
    load_merge(g, r, hf, c);
    return c;
  }
  c.params = r.na_params();
  if (c.params.scale) {
    if (*c.params.scale != 1.0)
      fail("case '{}': scale = {}, but {} does not scale (expected 1 or no attribute)", name, *c.params.scale, c.op);
    c.params.scale.reset();
  }
  if (c.op == "na_qk") {
    load_qk(r, hf, c);
  } else {
    load_av(r, hf, c);
  }
  return c;
}

void write_split_case(const h5::Group& root, const SplitCase& c, const std::string& producer_backend, bool compress) {
  if (!is_split_case_op(c.op)) fail("case '{}': unknown op '{}' (expected na_qk, na_av or merge)", c.name, c.op);
  const h5::Group g = root.create_group(c.name);
  g.write_attribute("op", c.op);
  g.write_attribute("dtype", std::string(dtype_name(c.dtype)));
  g.write_attribute("layout", std::string("heads_last"));
  g.write_attribute("backend", producer_backend);
  std::vector<std::pair<std::string, Tensor>> inputs;
  if (c.op == "merge") {
    g.write_attribute("parts", static_cast<std::int64_t>(c.merge_outputs.size()));
    for (std::size_t i = 0; i < c.merge_outputs.size(); ++i) {
      inputs.emplace_back(fmt::format("output_{}", i), c.merge_outputs[i]);
      inputs.emplace_back(fmt::format("logsumexp_{}", i), c.merge_lses[i]);
    }
    inputs.emplace_back("grad_output", c.grad_result);
    inputs.emplace_back("grad_logsumexp", c.grad_lse);
  } else {
    write_na_params(g, c.params);
    g.write_attribute("scale", 1.0);
    if (c.op == "na_qk") {
      inputs = {{"query", c.qk.query}, {"key", c.qk.key}, {"rpb", c.qk.rpb}, {"additional_key", c.qk.additional_key},
                {"grad_attention", c.grad_result}};
    } else {
      inputs = {{"attention", c.av.attention}, {"value", c.av.value}, {"additional_value", c.av.additional_value},
                {"grad_output", c.grad_result}};
    }
  }
  for (const auto& [ds, t] : inputs) {
    if (t.defined()) g.write_dataset(ds, t, compress);
  }
  for (const auto& [ds, t] : c.expected) {
    const bool is_lse = ds.rfind("logsumexp", 0) == 0 || ds.rfind("grad_logsumexp", 0) == 0;
    g.write_dataset(ds, is_lse ? t : t.to(c.dtype == DType::f16 ? DType::f16 : DType::f32), compress);
  }
}

}  // namespace natten
