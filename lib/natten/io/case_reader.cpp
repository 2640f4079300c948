#include "natten/io/case_reader.hpp"

#include <cmath>

#include "natten/core/error.hpp"

namespace natten {

std::vector<int> heads_first_to_last(int rank, bool has_dim) {
  std::vector<int> order{0};
  for (int a = 0; a < rank; ++a) order.push_back(a + 2);
  order.push_back(1);
  if (has_dim) order.push_back(rank + 2);
  return order;
}

void CaseReader::require(const char* attr) const {
  if (!g_.has_attribute(attr)) fail("case '{}': attribute '{}' is missing", name_, attr);
}

std::string CaseReader::str(const char* attr) const {
  require(attr);
  return g_.read_string_attribute(attr);
}

std::vector<std::int64_t> CaseReader::ints(const char* attr, int rank) const {
  require(attr);
  std::vector<std::int64_t> v = g_.read_int_attribute(attr);
  if (static_cast<int>(v.size()) != rank)
    fail("case '{}': attribute '{}' has {} values, expected {} (one per axis)", name_, attr, v.size(), rank);
  for (auto x : v) {
    if (x < 0 || x > (1 << 30)) fail("case '{}': attribute '{}' holds {} (out of range)", name_, attr, x);
  }
  return v;
}

NAParams CaseReader::na_params() const {
  if (!g_.has_attribute("rank")) fail("case '{}': attribute 'rank' is missing", name_);
  const std::vector<std::int64_t> rank_v = g_.read_int_attribute("rank");
  if (rank_v.size() != 1 || rank_v[0] < 1 || rank_v[0] > kMaxRank)
    fail("case '{}': attribute 'rank' must be 1, 2 or 3", name_);
  const int rank = static_cast<int>(rank_v[0]);
  NAParams params;
  params.rank = rank;
  const auto k = ints("kernel_size", rank);
  const auto s = ints("stride", rank);
  const auto d = ints("dilation", rank);
  const auto causal = ints("is_causal", rank);
  for (int a = 0; a < rank; ++a) {
    params.kernel[a] = static_cast<int>(k[a]);
    params.stride[a] = static_cast<int>(s[a]);
    params.dilation[a] = static_cast<int>(d[a]);
    if (causal[a] > 1) fail("case '{}': is_causal[{}] = {} (expected 0 or 1)", name_, a, causal[a]);
    params.causal[a] = causal[a] != 0;
  }
  if (g_.has_attribute("scale")) params.scale = g_.read_float_attribute("scale");
  return params;
}

DType CaseReader::dtype() const {
  try {
    return parse_dtype(str("dtype"));
  } catch (const Error& e) {
    fail("case '{}': {}", name_, e.what());
  }
}

bool CaseReader::heads_first() const {
  const std::string layout = g_.has_attribute("layout") ? g_.read_string_attribute("layout") : "heads_last";
  if (layout != "heads_last" && layout != "heads_first")
    fail("case '{}': layout '{}' (expected heads_last or heads_first)", name_, layout);
  return layout == "heads_first";
}

Tensor CaseReader::tensor(const char* dataset, DType dtype, int axes, bool heads_first, int na_rank, bool has_dim,
                          bool permute, Values allowed) const {
  if (!has(dataset)) fail("case '{}': dataset '{}' is missing", name_, dataset);
  h5::Array a = g_.read(dataset, max_);
  if (static_cast<int>(a.shape.size()) != axes)
    fail("case '{}': dataset '{}' has shape {}, expected {} axes", name_, dataset, shape_str(a.shape), axes);
  for (std::size_t i = 0; i < a.values.size(); ++i) {
    const double v = a.values[i];
    if (allowed != Values::any && !std::isfinite(v) && !(allowed == Values::finite_or_neg_inf && v == -INFINITY))
      fail("case '{}': dataset '{}' holds a non-finite value ({}) at flat index {}", name_, dataset, v, i);
  }
  Tensor t = Tensor::empty(a.shape, dtype);
  for (std::size_t i = 0; i < a.values.size(); ++i) t.set(static_cast<std::int64_t>(i), static_cast<float>(a.values[i]));
  if (heads_first && permute) t = t.permute(heads_first_to_last(na_rank, has_dim)).contiguous();
  return t;
}

void write_na_params(const h5::Group& g, const NAParams& params) {
  std::vector<std::int64_t> k, s, d;
  std::vector<std::int8_t> causal;
  for (int a = 0; a < params.rank; ++a) {
    k.push_back(params.kernel[a]);
    s.push_back(params.stride[a]);
    d.push_back(params.dilation[a]);
    causal.push_back(params.causal[a] ? 1 : 0);
  }
  g.write_attribute("rank", static_cast<std::int64_t>(params.rank));
  g.write_attribute("kernel_size", k);
  g.write_attribute("stride", s);
  g.write_attribute("dilation", d);
  g.write_attribute_int8("is_causal", causal);
}

void expect_case_shape(const std::string& name, const char* dataset, const Tensor& t, const Shape& want) {
  if (t.shape() != want)
    fail("case '{}': dataset '{}' has shape {} (heads-last), expected {}", name, dataset, shape_str(t.shape()),
         shape_str(want));
}

}  // namespace natten
