#include "natten/io/candidate.hpp"

#include <algorithm>

#include <fmt/format.h>

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

std::string shape_mismatch_cause(const Shape& candidate, const Shape& reference, int rank) {
  if (candidate.size() != reference.size())
    return fmt::format("{} axes where the reference has {}: a missing or extra axis (batch, heads, a trailing 1)?",
                       candidate.size(), reference.size());
  bool other_axes_equal = true, spatial_smaller = false, spatial_larger = false;
  for (std::size_t a = 0; a < reference.size(); ++a) {
    const bool spatial = a >= 1 && a <= static_cast<std::size_t>(rank);
    if (!spatial) other_axes_equal = other_axes_equal && candidate[a] == reference[a];
    if (spatial && candidate[a] < reference[a]) spatial_smaller = true;
    if (spatial && candidate[a] > reference[a]) spatial_larger = true;
  }
  if (other_axes_equal && spatial_smaller && !spatial_larger)
    return "a strided result subsampled (one query per stride group) where upstream keeps the input's shape?";
  Shape a = candidate, b = reference;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  if (a == b) return "the same extents in another order: heads-first data without layout = heads_first?";
  if (other_axes_equal) return "other spatial extents than the inputs'?";
  return "";
}

CandidateTensors load_candidate_tensors(const h5::Group& candidate_root, const std::string& name,
                                        const std::map<std::string, Tensor>& expected,
                                        const std::vector<std::string>& reference_datasets, std::int64_t max_elements) {
  CandidateTensors out;
  if (!candidate_root.has_group(name)) {
    out.missing = fmt::format("the candidate file has no group '{}'", name);
    return out;
  }
  const h5::Group g = candidate_root.subgroup(name);
  if (g.has_attribute("skipped")) {
    out.skipped = g.read_string_attribute("skipped");
    return out;
  }
  const CaseReader r(g, name, max_elements);
  const bool hf = r.heads_first();
  for (const auto& [ds, want] : expected) {
    if (!r.has(ds.c_str())) continue;
    const HeadsFirstStorage s = heads_first_storage(ds);
    // The spatial rank follows from the expected (heads-last) shape: [B, *S, H, (X)].
    const int rank = want.dim() - (s.has_dim ? 3 : 2);
    const bool permute = hf && s.permuted;
    Shape stored = g.dataset_info(ds).shape;
    Shape heads_last = stored;
    if (permute && static_cast<int>(stored.size()) == want.dim()) {
      const std::vector<int> order = heads_first_to_last(rank, s.has_dim);
      for (std::size_t a = 0; a < order.size(); ++a) heads_last[a] = stored[static_cast<std::size_t>(order[a])];
    }
    if (heads_last != want.shape()) {
      (void)g.read(ds, max_elements);  // a well-formed float dataset, else an input error as any other
      std::string cause = shape_mismatch_cause(heads_last, want.shape(), rank);
      out.mismatched[ds] = {heads_last, fmt::format("candidate {} {} vs reference {}{}{}", ds, shape_str(heads_last),
                                                    shape_str(want.shape()), cause.empty() ? "" : ": ", cause)};
      continue;
    }
    // A candidate's NaN/Inf is a result to report, not a malformed file.
    Tensor t = r.tensor(ds.c_str(), DType::f32, want.dim(), hf, rank, s.has_dim, s.permuted, CaseReader::Values::any);
    expect_case_shape(name, ds.c_str(), t, want.shape());
    out.tensors.emplace(ds, std::move(t));
  }
  for (const std::string& ds : g.datasets()) {
    if (std::find(reference_datasets.begin(), reference_datasets.end(), ds) == reference_datasets.end())
      out.unknown.push_back(ds);
  }
  if (out.tensors.empty() && out.mismatched.empty()) {
    std::string names;
    for (const auto& [ds, t] : expected) names += (names.empty() ? "" : ", ") + ds;
    out.missing = fmt::format("the candidate's group holds none of the tensors the reference has ({})", names);
  }
  return out;
}

}  // namespace natten
