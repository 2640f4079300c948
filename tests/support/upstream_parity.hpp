// Comparisons with expected tensors at natten-check's default tolerances, and whole upstream
// reference files (support/ref_files.hpp: tests/data/upstream, ../shared) run through natten-check's op table
// (natten/op/op_table.hpp): the same load, compute and tolerances as natten-check, so the
// parity tests hold every backend to exactly what the tool checks.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>

#include "natten/backend.hpp"
#include "natten/op/op_table.hpp"

namespace natten::testing {

// `ours` within the default tolerance of `ref` for this dtype and tensor (equal infinities match).
void expect_close(const Tensor& ours, const Tensor& ref, DType dtype, const std::string& tensor,
                  const char* ref_name = "reference");

// Every expected tensor of an upstream case; float32 tensors named in `bounded` are also held to
// max abs error <= 1e-5 (the issues' bound on forward results).
void expect_upstream_parity(const std::map<std::string, Tensor>& ours, const std::map<std::string, Tensor>& expected,
                            DType dtype, const std::set<std::string>& bounded);

struct UpstreamRun {
  int checked = 0;
  std::string skipped;  // " name name ...": the cases `skip` left out
};

// Every case of the file at `path` on `backend` (forward, and backward where the case has grads;
// a backend declining any part fails), compared with expect_upstream_parity. `skip`, when given,
// names cases to leave out (e.g. too large to emulate).
UpstreamRun expect_upstream_file(Backend& backend, const std::string& path, const std::set<std::string>& bounded,
                                 const std::function<bool(const ParityCase&)>& skip = {});

}  // namespace natten::testing
