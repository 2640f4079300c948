// Reading a candidate's results (natten-check --candidate): another implementation's tensors for a
// reference case, stored in a group of the same name in another file, in either layout.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "natten/core/tensor.hpp"
#include "natten/io/h5.hpp"

namespace natten {

// How a dataset of any op is stored when its group says layout = heads_first. Token tensors are
// [B, H, *S, (X)] there and permuted to heads-last on load; the additional-KV tensors
// ([B, N, H, D]) and the relative positional bias ([H, 2K-1, ...]) are stored the same way in both
// layouts. Logsumexps have no trailing feature axis.
struct HeadsFirstStorage {
  bool permuted = true;  // a token tensor
  bool has_dim = true;   // a trailing feature axis (head dim, or the neighbor slots of attention)
};
HeadsFirstStorage heads_first_storage(std::string_view dataset);

// A candidate dataset whose shape differs from the reference's: a well-formed result of another
// shape (the implementation differs, e.g. it subsamples under stride), which natten-check reports
// as that tensor's parity failure, not as an input error.
struct ShapeMismatch {
  Shape shape;          // the candidate's, heads-last where it has the axes to permute, else as stored
  std::string message;  // "candidate output [1, 8, 2, 16] vs reference [1, 16, 2, 16]: <likely cause>"
};

struct CandidateTensors {
  std::map<std::string, Tensor> tensors;          // heads-last, shaped like the reference's
  std::map<std::string, ShapeMismatch> mismatched;
  std::string skipped;  // the group's `skipped` attribute: the implementation declined the case (why)
  std::string missing;  // the candidate has no such group, or none of the expected tensors (why)
  std::vector<std::string> unknown;  // datasets the reference case does not have (typos: "outptu")
};

// The candidate group named `name`: its datasets among `expected`'s names, converted to heads-last
// per the group's own `layout` attribute (default heads_last) and shape-checked against the
// expected tensors (a readable float dataset of another shape goes to `mismatched`). Non-finite
// values are kept (they fail the comparison). Datasets that the reference case's group
// (`reference_datasets`) does not have are listed in `unknown`. A group with a `skipped` string
// attribute returns just that; a missing group, or one with none of the expected tensors, says so
// in `missing` (not compared: natten-check's --strict fails it). Throws Error when a dataset
// cannot be read as floats.
CandidateTensors load_candidate_tensors(const h5::Group& candidate_root, const std::string& name,
                                        const std::map<std::string, Tensor>& expected,
                                        const std::vector<std::string>& reference_datasets, std::int64_t max_elements);

// Why a result may have `candidate`'s shape where the reference has `reference`'s (heads-last,
// `rank` spatial axes after the batch axis); "" when no common cause fits.
std::string shape_mismatch_cause(const Shape& candidate, const Shape& reference, int rank);

}  // namespace natten
