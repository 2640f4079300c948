// The ops a natten-ref case can hold (its `op` attribute), and for each: how to load a case, compute
// its expected tensors with a backend, describe it, and generate and write one from an INI case
// config. This table is THE place where ops are dispatched: natten-check (checking, --list,
// --candidate, --write) and the parity tests go through it, so adding an op means adding one entry
// here. Ops: "na" (fused), "na_qk" and "na_av" (upstream 0.14-0.17 split ops), "merge"
// (merge_attentions); apps/natten-check/FORMAT.md documents each one's datasets.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "natten/backend.hpp"
#include "natten/config/case_spec.hpp"
#include "natten/io/ref_case.hpp"
#include "natten/io/split_case.hpp"

namespace natten {

struct CaseOp;

// A loaded case of any op: the op's own form (RefCase for "na"; SplitCase for "na_qk", "na_av"
// and "merge") and its table entry. What every op shares is reachable through the accessors, so
// checkers never look inside `data`; only the op's own table functions do.
struct ParityCase {
  const CaseOp* op = nullptr;
  std::variant<RefCase, SplitCase> data;

  const std::string& name() const;
  const std::string& op_name() const;
  DType dtype() const;
  // Expected tensors by dataset name, heads-last, float32.
  const std::map<std::string, Tensor>& expected() const;
};

// What one backend computed for a case.
struct OpOutputs {
  std::map<std::string, Tensor> tensors;  // keyed like ParityCase::expected()
  std::vector<std::string> not_run;       // parts the backend declined, each "backward: <why>"
};

struct CaseOp {
  std::string_view op;           // the `op` attribute value
  std::string_view description;  // one line, for docs and messages
  // Loads and validates a case of this op; throws Error naming the case and the problem.
  ParityCase (*load)(const h5::Group& root, const std::string& name, std::int64_t max_elements);
  // Computes the tensors named in expected(). Throws Unsupported when the backend cannot run the
  // case at all; parts it cannot run (e.g. backward only) are listed in OpOutputs::not_run. The
  // backward is always fed the case's own forward results where it needs them, so each tensor is
  // checked in isolation.
  OpOutputs (*compute)(Backend& backend, const ParityCase& c);
  // One line for --list: shapes, parameters, dtype, which parts are checked.
  std::string (*describe)(const ParityCase& c);
  // natten-check --write: seeded inputs for the config (case_generator.hpp), expected tensors from
  // `backend`; and writing the case (heads-last; compress: gzip in chunks).
  ParityCase (*generate)(const config::ResolvedCase& cfg, Backend& backend);
  void (*write)(const h5::Group& root, const ParityCase& c, const std::string& producer_backend, bool compress);
};

// nullptr when `op` is not known.
const CaseOp* find_case_op(std::string_view op);
// Known op names, comma-separated, for messages ("na, na_qk, na_av, merge").
std::string known_case_ops();

// Reads the case's `op` and loads it through its table entry; an unknown op is an Error
// "case 'x': unsupported op 'y' (this natten-check knows: na, ...)".
ParityCase load_case(const h5::Group& root, const std::string& name, std::int64_t max_elements);

// The table entry for a config's op (ResolvedCase::op is checked when the config is parsed).
const CaseOp& case_op_for(const config::ResolvedCase& cfg);

}  // namespace natten
