// The ops a natten-ref case can hold (its `op` attribute), and for each: how to load a case and how
// to compute its expected tensors with a backend. This table is THE place where ops are dispatched:
// natten-check (checking, --list, --candidate) and the parity tests go through it, so adding an op
// (e.g. the split "na_qk"/"na_av" ops, "merge") means adding one entry here.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "natten/backend.hpp"
#include "natten/io/ref_case.hpp"

namespace natten {

// What one backend computed for a case.
struct OpOutputs {
  std::map<std::string, Tensor> tensors;  // keyed like RefCase::expected
  std::vector<std::string> not_run;       // parts the backend declined, each "backward: <why>"
};

struct CaseOp {
  std::string_view op;           // the `op` attribute value
  std::string_view description;  // one line, for --list and docs
  // Loads and validates a case of this op; throws Error naming the case and the problem.
  RefCase (*load)(const h5::Group& root, const std::string& name, std::int64_t max_elements);
  // Computes the tensors named in c.expected. Throws Unsupported when the backend cannot run the
  // case at all; parts it cannot run (e.g. backward only) are listed in OpOutputs::not_run.
  OpOutputs (*compute)(Backend& backend, const RefCase& c);
  // One line for --list: shapes, parameters, dtype, which tensors are checked.
  std::string (*describe)(const RefCase& c);
};

// nullptr when `op` is not known.
const CaseOp* find_case_op(std::string_view op);
// Known op names, comma-separated, for messages ("na").
std::string known_case_ops();

// Reads the case's `op` and loads it through its table entry; an unknown op is an Error
// "case 'x': unsupported op 'y' (this natten-check knows: na)".
RefCase load_case(const h5::Group& root, const std::string& name, std::int64_t max_elements);

}  // namespace natten
