#include "natten/io/ref_case.hpp"

#include <optional>

#include "natten/core/error.hpp"
#include "natten/io/case_reader.hpp"

namespace natten {

std::vector<std::string> list_ref_cases(const h5::Group& root) {
  std::vector<std::string> out;
  for (const std::string& n : root.subgroups()) {
    if (root.subgroup(n).has_attribute("op")) out.push_back(n);
  }
  return out;
}

std::string read_case_op(const h5::Group& root, const std::string& name) {
  const h5::Group g = root.subgroup(name);
  if (!g.has_attribute("op")) fail("case '{}': attribute 'op' is missing", name);
  return g.read_string_attribute("op");
}

void load_case_header(const h5::Group& g, RefCase& c) {
  const CaseReader r(g, c.name, 0);
  c.op = r.str("op");
  c.params = r.na_params();
  c.dtype = r.dtype();
  c.layout = r.heads_first() ? "heads_first" : "heads_last";
}

RefCase load_ref_case(const h5::Group& root, const std::string& name, std::int64_t max_elements) {
  const h5::Group g = root.subgroup(name);
  CaseReader r(g, name, max_elements);
  RefCase c;
  c.name = name;
  load_case_header(g, c);
  if (c.op != "na") fail("case '{}': op '{}' is not the fused op \"na\"", name, c.op);
  const int rank = c.params.rank;
  const bool hf = c.layout == "heads_first";
  const int nd = rank + 3;

  c.inputs.query = r.tensor("query", c.dtype, nd, hf, rank, true);
  c.inputs.key = r.tensor("key", c.dtype, nd, hf, rank, true);
  c.inputs.value = r.tensor("value", c.dtype, nd, hf, rank, true);
  if (r.has("additional_key") || r.has("additional_value")) {
    c.inputs.additional_key = r.tensor("additional_key", c.dtype, 4, hf, rank, true, false);
    c.inputs.additional_value = r.tensor("additional_value", c.dtype, 4, hf, rank, true, false);
  }
  Problem p;
  try {
    p = validate_forward(c.params, c.inputs);
  } catch (const Error& e) {
    fail("case '{}': {}", name, e.what());
  }
  c.expected["output"] = r.tensor("output", DType::f32, nd, hf, rank, true);
  expect_case_shape(name, "output", c.expected["output"], p.output_shape());
  c.expected["logsumexp"] = r.tensor("logsumexp", DType::f32, nd - 1, hf, rank, false);
  expect_case_shape(name, "logsumexp", c.expected["logsumexp"], p.lse_shape());
  if (r.has("grad_output")) {
    c.grad_output = r.tensor("grad_output", c.dtype, nd, hf, rank, true);
    expect_case_shape(name, "grad_output", c.grad_output, p.output_shape());
    const std::pair<const char*, Shape> grads[] = {
        {"grad_query", p.query_shape()}, {"grad_key", p.kv_shape(p.dim)}, {"grad_value", p.kv_shape(p.dim_v)}};
    for (const auto& [ds, shape] : grads) {
      c.expected[ds] = r.tensor(ds, DType::f32, nd, hf, rank, true);
      expect_case_shape(name, ds, c.expected[ds], shape);
    }
    if (p.extra_kv > 0) {
      const std::pair<const char*, Shape> extra[] = {{"grad_additional_key", p.extra_kv_shape(p.dim)},
                                                     {"grad_additional_value", p.extra_kv_shape(p.dim_v)}};
      for (const auto& [ds, shape] : extra) {
        c.expected[ds] = r.tensor(ds, DType::f32, 4, hf, rank, true, false);
        expect_case_shape(name, ds, c.expected[ds], shape);
      }
    }
  }
  return c;
}

namespace {

// `scale` is written when known (a validated case); the expected tensors are stored in the case's
// storage precision (float16 for fp16 cases).
void write_case_group(const h5::Group& root, const RefCase& c, const std::string& producer_backend, bool compress,
                      std::optional<double> scale) {
  const h5::Group g = root.create_group(c.name);
  g.write_attribute("op", c.op);
  write_na_params(g, c.params);
  if (scale) g.write_attribute("scale", *scale);
  g.write_attribute("dtype", std::string(dtype_name(c.dtype)));
  g.write_attribute("layout", std::string("heads_last"));
  g.write_attribute("backend", producer_backend);
  const std::pair<const char*, const Tensor*> inputs[] = {
      {"query", &c.inputs.query},
      {"key", &c.inputs.key},
      {"value", &c.inputs.value},
      {"additional_key", &c.inputs.additional_key},
      {"additional_value", &c.inputs.additional_value},
      {"grad_output", &c.grad_output}};
  for (const auto& [ds, t] : inputs) {
    if (t->defined()) g.write_dataset(ds, *t, compress);
  }
  for (const auto& [ds, t] : c.expected) {
    g.write_dataset(ds, ds == "logsumexp" ? t : t.to(c.dtype == DType::f16 ? DType::f16 : DType::f32), compress);
  }
}

}  // namespace

void write_ref_case(const h5::Group& root, const RefCase& c, const std::string& producer_backend, bool compress) {
  write_case_group(root, c, producer_backend, compress, validate_forward(c.params, c.inputs).scale);
}

void write_ref_case_unvalidated(const h5::Group& root, const RefCase& c, const std::string& producer_backend) {
  write_case_group(root, c, producer_backend, false, std::nullopt);
}

}  // namespace natten
