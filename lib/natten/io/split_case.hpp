// Cases of the split ops ("na_qk", "na_av", as in ../shared/natten-refs/README.md "Split ops") and
// of merge_attentions ("merge", defined by this project) in a natten-ref v1 file: loading them into
// library tensors (heads-last, the case's dtype) and writing them (natten/op runs them).
// apps/natten-check/FORMAT.md documents the schema.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "natten/core/merge.hpp"
#include "natten/core/split.hpp"
#include "natten/io/h5.hpp"

namespace natten {

// True for the ops this file handles ("na_qk", "na_av", "merge"); "na" is ref_case.hpp's.
bool is_split_case_op(std::string_view op);

struct SplitCase {
  std::string name;
  std::string op;      // "na_qk", "na_av" or "merge"
  std::string layout;  // as stored
  NAParams params;     // na_qk / na_av (scale unset: the split ops do not scale)
  DType dtype = DType::f32;
  SplitQKInputs qk;    // na_qk
  SplitAVInputs av;    // na_av
  std::vector<Tensor> merge_outputs, merge_lses;  // merge: the partial results
  // The given gradient of the op's result: grad_attention (na_qk) or grad_output (na_av, merge);
  // undefined when the case has no backward. merge may also give grad_logsumexp.
  Tensor grad_result;
  Tensor grad_lse;
  // Expected tensors by dataset name, heads-last, float32 (names in apps/natten-check/FORMAT.md).
  std::map<std::string, Tensor> expected;
  bool has_backward() const { return grad_result.defined(); }
};

// Loads one case; throws Error with a one-line message naming the case and the problem. Datasets
// are checked for shape and for NaN/Inf (-inf is allowed where it has a meaning: masked attention
// slots, logsumexps of empty parts).
SplitCase load_split_case(const h5::Group& root, const std::string& name, std::int64_t max_elements = kMaxElements);

// Writes a case (heads-last) with its expected tensors; bf16 tensors are stored as float32.
// compress: gzip in chunks (readers must handle both).
void write_split_case(const h5::Group& root, const SplitCase& c, const std::string& producer_backend,
                      bool compress = false);

}  // namespace natten
