// Cases of a "natten-ref v1" file (apps/natten-check/FORMAT.md): loading them into library tensors
// (heads-last layout, the case's dtype) and writing them back.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "natten/core/problem.hpp"
#include "natten/io/h5.hpp"

namespace natten {

struct RefCase {
  std::string name;
  std::string op;       // "na" (fused)
  std::string layout;   // as stored: "heads_last" or "heads_first"
  NAParams params;
  DType dtype = DType::f32;
  NAInputs inputs;      // heads-last, in dtype
  Tensor grad_output;   // undefined when the case has no backward
  // Expected tensors by dataset name ("output", "logsumexp", "grad_query", ...), heads-last, float32.
  std::map<std::string, Tensor> expected;
  bool has_backward() const { return grad_output.defined(); }
};

// The `op` attribute of case `name` (throws when it is missing or not a string).
std::string read_case_op(const h5::Group& root, const std::string& name);

// Reads the attributes every op shares (op, rank, kernel_size, stride, dilation, is_causal, scale,
// dtype, layout) into c.op/params/dtype/layout; c.name must be set. Op loaders start here.
void load_case_header(const h5::Group& case_group, RefCase& c);

// Names of the top-level groups that carry an `op` attribute, sorted.
std::vector<std::string> list_ref_cases(const h5::Group& root);

// Loads one case; throws Error with a one-line message naming the case and the problem. Every
// dataset is checked for shape and for NaN/Inf before it is accepted.
RefCase load_ref_case(const h5::Group& root, const std::string& name, std::int64_t max_elements = kMaxElements);

// Writes a case (heads-last) with its expected tensors; bf16 tensors are stored as float32.
// compress: gzip in chunks (readers must handle both).
void write_ref_case(const h5::Group& root, const RefCase& c, const std::string& producer_backend,
                    bool compress = false);
// The same without validating the case (and so without a `scale` attribute): for tests that
// store broken cases on purpose to check that readers reject them.
void write_ref_case_unvalidated(const h5::Group& root, const RefCase& c, const std::string& producer_backend);

}  // namespace natten
