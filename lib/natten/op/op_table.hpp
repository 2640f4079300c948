// The op table: for each op family (natten/backend.hpp: na, na_qk, na_av, merge, varlen) how to
// load a natten-ref case, compute its tensors with a backend, describe, generate and write one
// (natten-check), and how to benchmark one (natten-bench's Workload). This table is THE place where
// ops are dispatched: natten-check, natten-bench and the tests iterate it. Each family's entry
// lives in its own file beside this one (na.cpp, na_qk.cpp, na_av.cpp, merge.cpp, varlen.cpp);
// apps/natten-check/FORMAT.md documents each one's datasets.
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
#include "natten/op/workload.hpp"

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
  OpFamily family;
  std::string_view name() const { return family_info(family).name; }  // the `op` value
  // natten-check; null for a family natten-ref files do not hold (OpFamilyInfo::in_case_files).
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
  // natten-bench: the case set up for timing (workload.hpp). Throws Error when it cannot be set up.
  std::unique_ptr<bench::Workload> (*workload)(const config::ResolvedCase& cfg, bool allow_fast_path);
};

// Every family's entry, in OpFamily order.
const std::vector<const CaseOp*>& op_table();
const CaseOp& case_op(OpFamily family);
// nullptr when `op` is not known or natten-ref files do not hold it.
const CaseOp* find_case_op(std::string_view op);
// Op names natten-ref files hold, comma-separated, for messages ("na, na_qk, na_av, merge").
std::string known_case_ops();

// Reads the case's `op` and loads it through its table entry; an unknown op is an Error
// "case 'x': unsupported op 'y' (this natten-check knows: na, ...)".
ParityCase load_case(const h5::Group& root, const std::string& name, std::int64_t max_elements);

// The table entry for a config's op (ResolvedCase::op is checked when the config is parsed).
const CaseOp& case_op_for(const config::ResolvedCase& cfg);
// natten-bench: case_op_for(cfg).workload(cfg, allow_fast_path).
std::unique_ptr<bench::Workload> make_workload(const config::ResolvedCase& cfg, bool allow_fast_path);

// Forward, and backward when the case has one, on `backend`; throws Unsupported naming the part
// the backend declines (tests that must run every part).
std::map<std::string, Tensor> run_case(Backend& backend, const ParityCase& c);

}  // namespace natten
