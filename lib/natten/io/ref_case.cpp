#include "natten/io/ref_case.hpp"

#include <cmath>

#include "natten/core/error.hpp"

namespace natten {
namespace {

// Axis order taking a heads-first tensor [B, H, *S, (D)] to heads-last [B, *S, H, (D)].
std::vector<int> heads_first_to_last(int rank, bool has_dim) {
  std::vector<int> order{0};
  for (int a = 0; a < rank; ++a) order.push_back(a + 2);
  order.push_back(1);
  if (has_dim) order.push_back(rank + 2);
  return order;
}

class CaseReader {
 public:
  CaseReader(const h5::Group& g, const std::string& name, std::int64_t max_elements)
      : g_(g), name_(name), max_(max_elements) {}

  std::string str(const char* attr) const {
    require(attr);
    return g_.read_string_attribute(attr);
  }

  std::vector<std::int64_t> ints(const char* attr, int rank) const {
    require(attr);
    std::vector<std::int64_t> v = g_.read_int_attribute(attr);
    if (static_cast<int>(v.size()) != rank)
      fail("case '{}': attribute '{}' has {} values, expected {} (one per axis)", name_, attr, v.size(), rank);
    for (auto x : v) {
      if (x < 0 || x > (1 << 30)) fail("case '{}': attribute '{}' holds {} (out of range)", name_, attr, x);
    }
    return v;
  }

  bool has(const char* dataset) const { return g_.has_dataset(dataset); }

  // Reads a dataset, checks it is finite and has `rank` axes, converts it to heads-last.
  // Reference data must be finite (a NaN there would make every comparison meaningless); a
  // candidate's NaN is a result to report, so candidates pass require_finite = false.
  Tensor tensor(const char* dataset, DType dtype, int axes, bool heads_first, int na_rank, bool has_dim,
                bool permute = true, bool require_finite = true) const {
    if (!has(dataset)) fail("case '{}': dataset '{}' is missing", name_, dataset);
    h5::Array a = g_.read(dataset, max_);
    if (static_cast<int>(a.shape.size()) != axes)
      fail("case '{}': dataset '{}' has shape {}, expected {} axes", name_, dataset, shape_str(a.shape), axes);
    for (std::size_t i = 0; require_finite && i < a.values.size(); ++i) {
      if (!std::isfinite(a.values[i]))
        fail("case '{}': dataset '{}' holds a non-finite value ({}) at flat index {}", name_, dataset, a.values[i], i);
    }
    Tensor t = Tensor::empty(a.shape, dtype);
    for (std::size_t i = 0; i < a.values.size(); ++i) t.set(static_cast<std::int64_t>(i), static_cast<float>(a.values[i]));
    if (heads_first && permute) t = t.permute(heads_first_to_last(na_rank, has_dim)).contiguous();
    return t;
  }

 private:
  void require(const char* attr) const {
    if (!g_.has_attribute(attr)) fail("case '{}': attribute '{}' is missing", name_, attr);
  }
  const h5::Group& g_;
  const std::string& name_;
  std::int64_t max_;
};

void expect_shape(const std::string& name, const char* dataset, const Tensor& t, const Shape& want) {
  if (t.shape() != want)
    fail("case '{}': dataset '{}' has shape {} (heads-last), expected {}", name, dataset, shape_str(t.shape()),
         shape_str(want));
}

}  // namespace

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
  const std::string& name = c.name;
  CaseReader r(g, name, 0);
  c.op = r.str("op");
  if (!g.has_attribute("rank")) fail("case '{}': attribute 'rank' is missing", name);
  const std::vector<std::int64_t> rank_v = g.read_int_attribute("rank");
  if (rank_v.size() != 1 || rank_v[0] < 1 || rank_v[0] > kMaxRank)
    fail("case '{}': attribute 'rank' must be 1, 2 or 3", name);
  const int rank = static_cast<int>(rank_v[0]);
  c.params.rank = rank;
  const auto k = r.ints("kernel_size", rank);
  const auto s = r.ints("stride", rank);
  const auto d = r.ints("dilation", rank);
  const auto causal = r.ints("is_causal", rank);
  for (int a = 0; a < rank; ++a) {
    c.params.kernel[a] = static_cast<int>(k[a]);
    c.params.stride[a] = static_cast<int>(s[a]);
    c.params.dilation[a] = static_cast<int>(d[a]);
    if (causal[a] > 1) fail("case '{}': is_causal[{}] = {} (expected 0 or 1)", name, a, causal[a]);
    c.params.causal[a] = causal[a] != 0;
  }
  if (g.has_attribute("scale")) c.params.scale = g.read_float_attribute("scale");
  try {
    c.dtype = parse_dtype(r.str("dtype"));
  } catch (const Error& e) {
    fail("case '{}': {}", name, e.what());
  }
  c.layout = g.has_attribute("layout") ? g.read_string_attribute("layout") : "heads_last";
  if (c.layout != "heads_last" && c.layout != "heads_first")
    fail("case '{}': layout '{}' (expected heads_last or heads_first)", name, c.layout);
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
  expect_shape(name, "output", c.expected["output"], p.output_shape());
  c.expected["logsumexp"] = r.tensor("logsumexp", DType::f32, nd - 1, hf, rank, false);
  expect_shape(name, "logsumexp", c.expected["logsumexp"], p.lse_shape());
  if (r.has("grad_output")) {
    c.grad_output = r.tensor("grad_output", c.dtype, nd, hf, rank, true);
    expect_shape(name, "grad_output", c.grad_output, p.output_shape());
    const std::pair<const char*, Shape> grads[] = {
        {"grad_query", p.query_shape()}, {"grad_key", p.kv_shape(p.dim)}, {"grad_value", p.kv_shape(p.dim_v)}};
    for (const auto& [ds, shape] : grads) {
      c.expected[ds] = r.tensor(ds, DType::f32, nd, hf, rank, true);
      expect_shape(name, ds, c.expected[ds], shape);
    }
    if (p.extra_kv > 0) {
      const std::pair<const char*, Shape> extra[] = {{"grad_additional_key", p.extra_kv_shape(p.dim)},
                                                     {"grad_additional_value", p.extra_kv_shape(p.dim_v)}};
      for (const auto& [ds, shape] : extra) {
        c.expected[ds] = r.tensor(ds, DType::f32, 4, hf, rank, true, false);
        expect_shape(name, ds, c.expected[ds], shape);
      }
    }
  }
  return c;
}

std::map<std::string, Tensor> load_candidate_tensors(const h5::Group& candidate_root, const RefCase& ref,
                                                     std::int64_t max_elements) {
  const std::string& name = ref.name;
  if (!candidate_root.has_group(name)) fail("case '{}': the candidate file has no group '{}'", name, name);
  const h5::Group g = candidate_root.subgroup(name);
  const CaseReader r(g, name, max_elements);
  const std::string layout = g.has_attribute("layout") ? g.read_string_attribute("layout") : "heads_last";
  if (layout != "heads_last" && layout != "heads_first")
    fail("case '{}': candidate layout '{}' (expected heads_last or heads_first)", name, layout);
  std::map<std::string, Tensor> out;
  for (const auto& [ds, expected] : ref.expected) {
    if (!r.has(ds.c_str())) continue;
    // Additional-KV tensors are [B, N, H, D] in both layouts; logsumexp has no head-dim axis.
    const bool token_tensor = ds.find("additional") == std::string::npos;
    Tensor t = r.tensor(ds.c_str(), DType::f32, expected.dim(), layout == "heads_first", ref.params.rank,
                        ds != "logsumexp", token_tensor, /*require_finite=*/false);
    expect_shape(name, ds.c_str(), t, expected.shape());
    out.emplace(ds, std::move(t));
  }
  if (out.empty()) fail("case '{}': the candidate holds none of the tensors the reference has", name);
  return out;
}

void write_ref_case(const h5::Group& root, const RefCase& c, const std::string& producer_backend, bool compress) {
  const h5::Group g = root.create_group(c.name);
  const int rank = c.params.rank;
  std::vector<std::int64_t> k, s, d;
  std::vector<std::int8_t> causal;
  for (int a = 0; a < rank; ++a) {
    k.push_back(c.params.kernel[a]);
    s.push_back(c.params.stride[a]);
    d.push_back(c.params.dilation[a]);
    causal.push_back(c.params.causal[a] ? 1 : 0);
  }
  const Problem p = validate_forward(c.params, c.inputs);
  g.write_attribute("op", c.op);
  g.write_attribute("rank", static_cast<std::int64_t>(rank));
  g.write_attribute("kernel_size", k);
  g.write_attribute("stride", s);
  g.write_attribute("dilation", d);
  g.write_attribute_int8("is_causal", causal);
  g.write_attribute("scale", p.scale);
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
    // Expected tensors are stored in the case's storage precision (float16 for fp16 cases).
    g.write_dataset(ds, ds == "logsumexp" ? t : t.to(c.dtype == DType::f16 ? DType::f16 : DType::f32), compress);
  }
}

}  // namespace natten
