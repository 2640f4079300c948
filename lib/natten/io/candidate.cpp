#include "natten/io/candidate.hpp"

#include "natten/core/error.hpp"
#include "natten/io/case_reader.hpp"

namespace natten {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

}  // namespace

HeadsFirstStorage heads_first_storage(std::string_view dataset) {
  HeadsFirstStorage s;
  s.permuted = dataset.find("additional") == std::string_view::npos && dataset != "rpb" && dataset != "grad_rpb";
  s.has_dim = !starts_with(dataset, "logsumexp") && !starts_with(dataset, "grad_logsumexp");
  return s;
}

std::map<std::string, Tensor> load_candidate_tensors(const h5::Group& candidate_root, const std::string& name,
                                                     const std::map<std::string, Tensor>& expected,
                                                     std::int64_t max_elements) {
  if (!candidate_root.has_group(name)) fail("case '{}': the candidate file has no group '{}'", name, name);
  const h5::Group g = candidate_root.subgroup(name);
  const CaseReader r(g, name, max_elements);
  const bool hf = r.heads_first();
  std::map<std::string, Tensor> out;
  for (const auto& [ds, want] : expected) {
    if (!r.has(ds.c_str())) continue;
    const HeadsFirstStorage s = heads_first_storage(ds);
    // The spatial rank follows from the expected (heads-last) shape: [B, *S, H, (X)].
    const int rank = want.dim() - (s.has_dim ? 3 : 2);
    // A candidate's NaN/Inf is a result to report, not a malformed file.
    Tensor t = r.tensor(ds.c_str(), DType::f32, want.dim(), hf, rank, s.has_dim, s.permuted, CaseReader::Values::any);
    expect_case_shape(name, ds.c_str(), t, want.shape());
    out.emplace(ds, std::move(t));
  }
  if (out.empty()) fail("case '{}': the candidate holds none of the tensors the reference has", name);
  return out;
}

}  // namespace natten
