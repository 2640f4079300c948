#include "check_runner.hpp"

#include <chrono>
#include <memory>
#include <new>
#include <optional>

#include "case_selection.hpp"
#include "natten/app/case_globs.hpp"
#include "compare_case.hpp"
#include "natten/backend.hpp"
#include "natten/core/error.hpp"
#include "natten/io/candidate.hpp"
#include "natten/io/read_guard.hpp"
#include "natten/op/op_table.hpp"
#include "progress.hpp"

namespace natten::check {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

CaseResult error_result(const std::string& name, const std::string& backend, const std::string& message) {
  CaseResult r;
  r.case_name = name;
  r.backend = backend;
  r.status = Status::error;
  r.message = message;
  return r;
}

// Opens the file and selects its cases; on failure records file_error and returns nothing.
struct OpenedFile {
  h5::File file;
  std::vector<DiscoveredCase> cases;
};
std::optional<OpenedFile> open_and_select(const std::string& path, const RunOptions& opt, RunReport& report) {
  const std::vector<std::string>& globs = opt.case_globs;
  const std::string crash = dry_run_read([&] { (void)discover_cases(h5::File::open(path).root()); },
                                         opt.read_guard_seconds);
  if (!crash.empty()) {
    report.file_error = path + ": " + crash;
    return std::nullopt;
  }
  try {
    OpenedFile f{h5::File::open(path), {}};
    std::vector<std::string> names;
    const std::vector<DiscoveredCase> all = discover_cases(f.file.root());
    for (const DiscoveredCase& c : all) names.push_back(c.name);
    if (all.empty()) fail("{}: no cases (no top-level group has an 'op' attribute)", path);
    const std::vector<std::string> chosen = app::select_cases(names, globs);
    for (const DiscoveredCase& c : all) {
      if (app::matches_any(c.name, globs)) f.cases.push_back(c);
    }
    report.case_count = chosen.size();
    return f;
  } catch (const Error& e) {
    report.file_error = e.what();
  } catch (const std::bad_alloc&) {
    report.file_error = path + ": out of memory while reading the file structure";
  }
  return std::nullopt;
}

// Loads a case; on failure returns nothing and appends the error result.
std::optional<ParityCase> load_or_report(const h5::Group& root, const DiscoveredCase& c, const RunOptions& opt,
                                      const std::string& backend_label, RunReport& report) {
  if (!c.error.empty()) {
    report.results.push_back(error_result(c.name, backend_label, c.error));
    return std::nullopt;
  }
  const std::string crash = dry_run_read([&] { (void)load_case(root, c.name, opt.max_elements); }, opt.read_guard_seconds);
  if (!crash.empty()) {
    report.results.push_back(error_result(c.name, backend_label, fmt::format("case '{}': {}", c.name, crash)));
    return std::nullopt;
  }
  try {
    return load_case(root, c.name, opt.max_elements);
  } catch (const Error& e) {
    report.results.push_back(error_result(c.name, backend_label, e.what()));
  } catch (const std::bad_alloc&) {
    report.results.push_back(error_result(c.name, backend_label, fmt::format("case '{}': out of memory", c.name)));
  }
  return std::nullopt;
}

void describe(CaseResult& r, const ParityCase& c) {
  r.op = c.op_name();
  r.dtype = std::string(dtype_name(c.dtype()));
}

}  // namespace

RunReport run_backend_checks(const std::string& file, const RunOptions& opt) {
  RunReport report;
  report.mode = "check";
  report.file = file;
  report.backends = opt.backends;
  std::vector<std::unique_ptr<Backend>> backends;
  for (const std::string& name : opt.backends) {  // usage errors throw
    backends.push_back(opt.make_backend ? opt.make_backend(name) : make_backend(name));
  }

  std::optional<OpenedFile> f = open_and_select(file, opt, report);
  if (!f) return report;
  const h5::Group root = f->file.root();
  Progress progress(opt.progress, f->cases.size() * backends.size());
  for (const DiscoveredCase& dc : f->cases) {
    const std::optional<ParityCase> c = load_or_report(root, dc, opt, "-", report);
    if (!c) continue;
    for (const auto& backend : backends) {
      progress.step(dc.name + " on " + backend->name());
      CaseResult r;
      r.case_name = dc.name;
      r.backend = backend->name();
      describe(r, *c);
      const auto t0 = std::chrono::steady_clock::now();
      try {
        const OpOutputs out = c->op->compute(*backend, *c);
        r.notes = out.not_run;
        compare_case(c->expected(), c->dtype(), out.tensors, opt.tol, "not compared", r);
      } catch (const Unsupported& e) {
        r.status = Status::skip;
        r.message = e.what();
      } catch (const Error& e) {
        r.status = Status::fail;
        r.message = fmt::format("backend {} failed: {}", backend->name(), e.what());
      } catch (const std::bad_alloc&) {
        r.status = Status::fail;
        r.message = fmt::format("backend {} ran out of memory", backend->name());
      }
      r.seconds = seconds_since(t0);
      report.results.push_back(std::move(r));
    }
  }
  return report;
}

RunReport run_candidate_check(const std::string& file, const std::string& candidate, const RunOptions& opt) {
  RunReport report;
  report.mode = "candidate";
  report.file = file;
  report.candidate = candidate;
  report.backends = {"candidate"};
  std::optional<h5::File> cand;
  const std::string crash = dry_run_read([&] { (void)h5::File::open(candidate).root(); }, opt.read_guard_seconds);
  if (!crash.empty()) {
    report.file_error = "candidate " + candidate + ": " + crash;
    return report;
  }
  try {
    cand = h5::File::open(candidate);
  } catch (const Error& e) {
    report.file_error = std::string("candidate ") + e.what();
    return report;
  }
  std::optional<OpenedFile> f = open_and_select(file, opt, report);
  if (!f) return report;
  const h5::Group root = f->file.root();
  const h5::Group cand_root = cand->root();
  Progress progress(opt.progress, f->cases.size());
  for (const DiscoveredCase& dc : f->cases) {
    progress.step(dc.name);
    const std::optional<ParityCase> c = load_or_report(root, dc, opt, "candidate", report);
    if (!c) continue;
    CaseResult r;
    r.case_name = dc.name;
    r.backend = "candidate";
    describe(r, *c);
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<std::string> reference_datasets = root.subgroup(dc.name).datasets();
    const std::string cand_crash = dry_run_read(
        [&] { (void)load_candidate_tensors(cand_root, dc.name, c->expected(), reference_datasets, opt.max_elements); },
        opt.read_guard_seconds);
    try {
      if (!cand_crash.empty()) fail("case '{}': candidate: {}", dc.name, cand_crash);
      const CandidateTensors cand_tensors =
          load_candidate_tensors(cand_root, dc.name, c->expected(), reference_datasets, opt.max_elements);
      if (!cand_tensors.skipped.empty()) {
        r.status = Status::skip;
        r.message = "the candidate's implementation declined the case: " + cand_tensors.skipped;
      } else if (!cand_tensors.missing.empty()) {
        // Not compared, not an input error: the file is well formed, the case is just not in it.
        r.status = Status::skip;
        r.message = "not compared: " + cand_tensors.missing;
      } else {
        compare_case(c->expected(), c->dtype(), cand_tensors.tensors, opt.tol, "not in the candidate", r,
                     cand_tensors.mismatched);
      }
      for (const std::string& u : cand_tensors.unknown)
        r.notes.push_back(fmt::format("candidate dataset '{}' is not one of this case's: ignored (a misspelled name?)", u));
    } catch (const Error& e) {
      r.status = Status::error;
      r.message = e.what();
    } catch (const std::bad_alloc&) {
      r.status = Status::error;
      r.message = fmt::format("case '{}': out of memory reading the candidate", dc.name);
    }
    r.seconds = seconds_since(t0);
    report.results.push_back(std::move(r));
  }
  return report;
}

}  // namespace natten::check
