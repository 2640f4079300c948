// natten-bench: trustworthy timings of neighborhood-attention backends (README.md beside this file).
// Exit codes: 0 ok, 1 regression or verification failure, 2 usage or input error.
#include <cstdio>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "cli.hpp"
#include "natten/backend.hpp"
#include "natten/bench/guard.hpp"
#include "natten/bench/report.hpp"
#include "natten/core/error.hpp"
#include "runner.hpp"
#include "suite.hpp"

namespace natten::bench {
namespace {

int list_backends_mode() {
  for (const BackendInfo& b : list_backends()) {
    fmt::print("{:<10} {:<14} {}\n", b.name, b.available ? "available" : "not available",
               b.available ? b.description : b.unavailable_reason);
  }
  fmt::print("default: {}\n", default_backend());
  return 0;
}

int peak_mode(const Options& o) {
  std::set<int> counts{1, resolve_threads(o.overrides.threads ? o.overrides.threads->value : 0)};
  const MachineInfo m = machine_info();
  fmt::print("{} ({} usable of {} hardware threads)\n", m.cpu_model, m.usable_cores, m.logical_cores);
  double one = 0;
  for (int t : counts) {
    const PeakResult r = measure_fma_peak(t);
    if (t == 1) one = r.gflops;
    fmt::print("fp32 FMA peak, {} thread{}: {:8.1f} GFLOP/s  ({}, {} fp32 lanes{})\n", t, t == 1 ? " " : "s", r.gflops, r.isa,
               r.lanes, t > 1 && one > 0 ? fmt::format(", {:.2f}x one thread", r.gflops / one) : "");
  }
  return 0;
}

bool writes_stdout(const Options& o) {
  return o.json_path == "-" || o.csv_path == "-" || o.markdown_path == "-" || o.markdown_to_stdout;
}

int run_mode(const Options& o) {
  // A bad baseline fails before a long run, not after it.
  std::optional<Baseline> baseline;
  if (!o.baseline_path.empty()) baseline = read_baseline(o.baseline_path);
  const auto cases = assemble_cases(o);
  const RunReport report = run_cases(cases, o);

  const bool machine_stdout = writes_stdout(o);
  if (!machine_stdout) fmt::print("{}", report_table(report));
  if (o.markdown_to_stdout) fmt::print("{}", report_markdown(report));
  if (!o.markdown_path.empty()) write_file_atomically(o.markdown_path, report_markdown(report));
  if (!o.csv_path.empty()) write_file_atomically(o.csv_path, report_csv(report));
  const std::string json = report_json(report).dump() + "\n";
  if (!o.json_path.empty()) write_file_atomically(o.json_path, json);

  int failures = 0;
  for (const CaseResult& r : report.results) failures += r.status == Status::failed;
  if (failures > 0)
    std::fprintf(stderr, "natten-bench: %d case(s) failed verification or errored (see the table)\n", failures);

  bool regression = false;
  if (baseline) {
    const GuardReport g = compare_runs(guard_entries(report), *baseline, o.guard);
    const std::string text = guard_table(g, *baseline, o.guard);
    std::fprintf(machine_stdout ? stderr : stdout, "\n%s", text.c_str());
    const bool time_guard =
        std::find(o.guard.kinds.begin(), o.guard.kinds.end(), GuardKind::time) != o.guard.kinds.end();
    if (time_guard && baseline->cpu_model != report.machine.cpu_model)
      std::fprintf(stderr,
                   "natten-bench: warning: the baseline was recorded on '%s', this is '%s': the time guard compares "
                   "machines; use --guard peak,reference for a machine-independent check\n",
                   baseline->cpu_model.c_str(), report.machine.cpu_model.c_str());
    regression = g.regression;
  }
  if (!o.save_baseline_path.empty()) {
    if (failures > 0) {
      std::fprintf(stderr, "natten-bench: not saving a baseline from a run with failures\n");
    } else {
      write_file_atomically(o.save_baseline_path, json);
      std::fprintf(stderr, "natten-bench: baseline written to %s\n", o.save_baseline_path.c_str());
    }
  }
  return failures > 0 || regression ? 1 : 0;
}

}  // namespace
}  // namespace natten::bench

int main(int argc, char** argv) {
  using namespace natten::bench;
  try {
    const Options o = parse_command_line(argc, argv);
    switch (o.mode) {
      case Mode::list_backends: return list_backends_mode();
      case Mode::peak: return peak_mode(o);
      case Mode::dry_run: fmt::print("{}", describe_cases(assemble_cases(o), o)); return 0;
      case Mode::run: return run_mode(o);
    }
  } catch (const HelpRequested& h) {
    fmt::print("{}", h.text);
    return 0;
  } catch (const natten::Error& e) {
    std::fprintf(stderr, "natten-bench: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "natten-bench: error: %s\n", e.what());
    return 2;
  }
  return 0;
}
