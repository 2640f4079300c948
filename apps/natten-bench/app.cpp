#include "app.hpp"

#include <cstdio>
#include <optional>
#include <set>
#include <sys/stat.h>

#include <fmt/format.h>

#include "ab_mode.hpp"
#include "compare_mode.hpp"
#include "cli.hpp"
#include "natten/backend.hpp"
#include "natten/backend/cpu/simd_targets.hpp"
#include "natten/app/diagnostics.hpp"
#include "natten/bench/guard.hpp"
#include "natten/bench/plot.hpp"
#include "natten/bench/report.hpp"
#include "natten/core/error.hpp"
#include "natten/io/files.hpp"
#include "outputs.hpp"
#include "suite.hpp"
#include "work_mode.hpp"

namespace natten::bench {
namespace {

int list_backends_mode() {
  fmt::print("{}", app::backend_listing(default_backend()));
  return 0;
}

int peak_mode(const Options& o) {
  std::set<int> counts{1, app::resolve_threads(o.overrides.threads ? o.overrides.threads->value : 0)};
  const app::MachineInfo m = app::machine_info();
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

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// More threads than usable cores time the scheduler as much as the kernels: say so (not an error:
// measuring oversubscription can be the point).
void warn_about_oversubscription(const Options& o) {
  if (!o.overrides.threads || o.mode == Mode::count_work) return;
  const int usable = app::resolve_threads(0), asked = o.overrides.threads->value;
  if (asked > usable)
    app::print_warning("natten-bench", fmt::format("--threads {} is more than the {} usable core{}: threads will share cores "
                                                   "and the times will show it",
                                                   asked, usable, usable == 1 ? "" : "s"));
}

int run_mode(const Options& o, const BackendFactory& factory) {
  // A bad baseline or output fails before a long run, not after it.
  const Fingerprint machine = machine_fingerprint();
  std::optional<Baseline> baseline;
  if (!o.baseline_path.empty()) baseline = select_baseline(o.baseline_path, machine);
  const Outputs out(o, is_directory(o.save_baseline_path) ? o.save_baseline_path + "/" + baseline_file_name(machine)
                                                          : o.save_baseline_path);
  const auto cases = assemble_cases(o);
  const RunReport report = run_cases(cases, o, factory);

  int failures = 0;
  for (const CaseResult& r : report.results) failures += r.status == Status::failed;
  std::optional<GuardReport> guard;
  if (!o.baseline_path.empty())
    guard = baseline ? compare_runs(guard_entries(report), report.fingerprint, *baseline, o.guard)
                     : no_baseline_in_store(o.baseline_path, report.fingerprint);
  const std::string guard_label = baseline ? baseline->path : o.baseline_path;

  Json json = report_json(report);
  if (guard) json.set("guard", guard_json(*guard, guard_label, o.guard));
  const std::string json_text = json.dump() + "\n";
  const bool machine_stdout = out.any_stdout() || o.markdown_to_stdout;
  if (!machine_stdout) fmt::print("{}", report_table(report, o.verbose, app::terminal_columns(stdout)));
  if (o.markdown_to_stdout) fmt::print("{}", report_markdown(report));
  if (out.markdown) out.markdown->write(report_markdown(report));
  if (out.csv) out.csv->write(report_csv(report));
  if (out.json) out.json->write(json_text);
  if (out.plot) out.plot->write(run_svg(report));

  if (failures > 0)
    std::fprintf(stderr, "natten-bench: %d case(s) failed verification or errored (see the table)\n", failures);
  if (guard) {
    const std::string text = guard_table(*guard, guard_label, o.guard);
    std::fprintf(machine_stdout ? stderr : stdout, "\n%s", text.c_str());
  }
  if (out.baseline) {
    if (failures > 0) {
      std::fprintf(stderr, "natten-bench: not saving a baseline from a run with failures\n");
    } else {
      out.baseline->write(report_json(report).dump() + "\n");
      std::fprintf(stderr, "natten-bench: baseline written to %s\n", out.baseline->path().c_str());
    }
  }
  return failures > 0 || (guard && guard->failed()) ? 1 : 0;
}

}  // namespace

int natten_bench_main(int argc, char** argv, const BackendFactory& factory) {
  try {
    const Options o = parse_command_line(argc, argv);
    if (!o.fake_cpu.empty()) fake_cpu_identity(o.fake_cpu);
    if (!o.simd.empty()) cpu::force_simd_target(o.simd);
    warn_about_oversubscription(o);
    switch (o.mode) {
      case Mode::list_backends: return list_backends_mode();
      case Mode::peak: return peak_mode(o);
      case Mode::dry_run: fmt::print("{}", describe_cases(assemble_cases(o), o, factory)); return 0;
      case Mode::run: return run_mode(o, factory);
      case Mode::count_work: return count_work_mode(o, argc, argv, factory);
      case Mode::ab: return ab_mode(o);
      case Mode::compare: return compare_mode(o);
    }
  } catch (const HelpRequested& h) {
    fmt::print("{}", h.text);
    return 0;
  } catch (const std::exception& e) {
    app::print_error("natten-bench", e.what());
    return 2;
  }
  return 0;
}

}  // namespace natten::bench
