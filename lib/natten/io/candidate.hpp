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

// The candidate group named `name`: its datasets among `expected`'s names (others are ignored),
// converted to heads-last per the group's own `layout` attribute (default heads_last) and
// shape-checked against the expected tensors. Non-finite values are kept (they fail the
// comparison). Throws Error when the group is missing or holds none of the expected tensors.
std::map<std::string, Tensor> load_candidate_tensors(const h5::Group& candidate_root, const std::string& name,
                                                     const std::map<std::string, Tensor>& expected,
                                                     std::int64_t max_elements);

}  // namespace natten
