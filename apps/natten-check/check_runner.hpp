// The two ways natten-check compares: running backends on every case of a reference file, and
// (--candidate) comparing another file's results with the reference without running kernels.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "natten/backend.hpp"
#include "results.hpp"

namespace natten::check {

struct RunOptions {
  std::vector<std::string> backends;    // names, already resolved (ignored by --candidate)
  std::vector<std::string> case_globs;  // --case
  ToleranceOverride tol;
  std::int64_t max_elements = std::int64_t{1} << 28;  // per dataset; guards corrupt shapes
  // Every HDF5 read is first dry-run in a forked child with this time limit (0: no guard), so a
  // libhdf5 crash or hang on a corrupt file becomes an error (natten/io/read_guard.hpp).
  unsigned read_guard_seconds = 120;
  bool progress = true;
  // How backends are made from their names: the registry (natten::make_backend) when unset; tests
  // inject test doubles here.
  std::function<std::unique_ptr<Backend>(const std::string& name)> make_backend;
};

// Every selected case x backend. Never throws for problems with the file or a case: they become
// RunReport::file_error or per-case errors. Unknown backend names throw (usage error).
RunReport run_backend_checks(const std::string& file, const RunOptions& opt);

// Every selected reference case against the same-named group of `candidate`.
RunReport run_candidate_check(const std::string& file, const std::string& candidate, const RunOptions& opt);

}  // namespace natten::check
