#include "cli.hpp"

#include <algorithm>
#include <map>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "natten/app/diagnostics.hpp"
#include "natten/app/help_format.hpp"
#include "natten/app/machine.hpp"
#include "natten/bench/report.hpp"
#include "natten/bench/work_guard.hpp"
#include "natten/config/case_spec.hpp"
#include "natten/core/error.hpp"

namespace natten::bench {
namespace {

// A problem flag feeds the same key parser as the INI files, so both accept and reject the same
// values with the same messages (naming the flag instead of file:line).
struct ProblemFlag {
  const char* names;
  const char* key;
  const char* help;
  int max_values;  // 1, or 3 for per-axis lists; values may also be comma separated
};

const ProblemFlag kProblemFlags[] = {
    {"-i,--input-size", "input_size", "Spatial extents, one per axis (64,64 or 64 64); sets the rank", 3},
    {"-b,--batch-size", "batch", "Batch size", 1},
    {"-n,--heads", "heads", "Query heads", 1},
    {"--heads-kv", "heads_kv", "Key/value heads for GQA/MQA (default: --heads)", 1},
    {"-d,--dim", "dim", "Head dim", 1},
    {"-w,--window-size,--k", "window_size", "Kernel (window) size: one value or one per axis (default 7 in the suite)", 3},
    {"-s,--stride", "stride", "Stride: one value or one per axis", 3},
    {"--dilation", "dilation", "Dilation: one value or one per axis", 3},
    {"--dtype", "dtype", "Element type: fp32, fp16 or bf16", 1},
    {"--add-kv", "add_kv", "Additional KV tokens every query attends to", 1},
    {"--seed", "seed", "Input generator seed (default: the FNV-1a hash of the case name)", 1},
    {"--backend", "backend", "Backend(s) to time: a name, a comma list, or 'all' (default: cpu if available, else reference)", 64},
    {"--threads", "threads", "CPU worker threads, 0 = all usable cores", 1},
    {"--op", "op", "Operation: na (fused, default), na_qk, na_av, merge, varlen", 1},
    {"--parts", "parts", "merge: number of partial results merged", 1},
    {"--varlen-sizes", "varlen_sizes",
     "varlen: one extent per sample (48x48 64x64, or 48x48;64x64); batch = samples, -i = padded size (default: max)", 1024},
};

// The default --help shows for a problem flag, from the values resolve_case fills in; empty where
// the default is a rule the help text states.
std::string problem_default(std::string_view key) {
  const config::CaseDefaults& d = config::kCaseDefaults;
  if (key == "batch") return std::to_string(d.batch);
  if (key == "heads") return std::to_string(d.heads);
  if (key == "dim") return std::to_string(d.dim);
  if (key == "stride") return std::to_string(d.stride);
  if (key == "dilation") return std::to_string(d.dilation);
  if (key == "dtype") return short_dtype(d.dtype);
  if (key == "add_kv") return std::to_string(d.add_kv);
  if (key == "threads") return std::to_string(d.threads);
  if (key == "parts") return std::to_string(d.parts);
  return {};
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

std::string first_name(const char* names) {
  std::string n = names;
  // The long name reads best in messages: "--input-size" rather than "-i".
  const auto dd = n.find("--");
  n = dd == std::string::npos ? n : n.substr(dd);
  return n.substr(0, n.find(','));
}

// The modes an option takes effect in. An option given in any other mode is an error, never a
// silent no-op.
enum ModeBit : unsigned {
  kRun = 1u << static_cast<int>(Mode::run),
  kDry = 1u << static_cast<int>(Mode::dry_run),
  kPeak = 1u << static_cast<int>(Mode::peak),
  kList = 1u << static_cast<int>(Mode::list_backends),
  kCount = 1u << static_cast<int>(Mode::count_work),
  kAb = 1u << static_cast<int>(Mode::ab),
  kCompare = 1u << static_cast<int>(Mode::compare),
};
constexpr unsigned kCases = kRun | kDry | kCount | kAb;  // everything that assembles cases

std::string mode_label(Mode m) {
  switch (m) {
    case Mode::run: return "a timed run";
    case Mode::dry_run: return "--dry-run";
    case Mode::peak: return "--peak";
    case Mode::list_backends: return "--list-backends";
    case Mode::count_work: return "--count-work";
    case Mode::ab: return "--ab";
    case Mode::compare: return "--compare";
  }
  return "?";
}

}  // namespace

Options parse_command_line(int argc, const char* const* argv) {
  Options o;
  for (int i = 0; i < argc; ++i) o.command_line += (i ? " " : "") + std::string(argv[i]);
  for (int i = 1; i < argc; ++i) o.args.emplace_back(argv[i]);

  CLI::App app{
      "natten-bench: time neighborhood-attention backends with exact FLOP counts, verification against the "
      "reference backend, % of measured FMA peak, and regression guards.\n"
      "Examples:\n"
      "  natten-bench --rank 2 --k 7 --backward\n"
      "  natten-bench -i 64 64 -w 7 --dtype fp16 --backend all --json out.json\n"
      "  natten-bench --config configs/ci-work.ini --count-work --baseline configs/ci-work-baseline.json\n"
      "  natten-bench --config configs/ci-quick.ini --ab base/natten-bench\n"
      "  natten-bench --compare before.json after.json",
      "natten-bench"};
  app::use_wrapping_help(app, 32);
  std::vector<std::pair<CLI::Option*, unsigned>> applies;  // option -> modes it takes effect in
  const auto in = [&](CLI::Option* opt, unsigned modes) {
    applies.emplace_back(opt, modes);
    return opt;
  };
  std::vector<CLI::Option*> paths;  // options naming a file: an empty value is an error
  const auto path = [&](CLI::Option* opt) {
    paths.push_back(opt);
    return opt;
  };

  std::map<std::string, std::vector<std::string>> values;
  std::vector<std::pair<const ProblemFlag*, CLI::Option*>> problem_opts;
  for (const ProblemFlag& f : kProblemFlags) {
    CLI::Option* opt = app.add_option(f.names, values[f.key], f.help)->group("Problem");
    opt->default_str(problem_default(f.key));  // shown only: an absent flag leaves the key unset
    if (std::string(f.key) == "varlen_sizes") opt->expected(1, f.max_values)->delimiter(';');
    else if (f.max_values > 1) opt->expected(1, f.max_values)->delimiter(',');
    problem_opts.emplace_back(&f, opt);
    in(opt, std::string(f.key) == "threads" ? kCases | kPeak : kCases);
  }
  std::vector<std::string> causal;
  CLI::Option* causal_opt = in(app.add_option("-c,--causal", causal, "Causal masking: alone = every axis, or one value per axis (1,0)")
                                   ->expected(0, 3)
                                   ->delimiter(',')
                                   ->group("Problem"),
                               kCases);
  bool rpb = false;
  in(app.add_flag("--rpb", rpb, "na_qk: with a relative positional bias")->group("Problem"), kCases);
  bool backward = false;
  in(app.add_flag("--backward,--backprop", backward, "Also time the backward pass (timed apart from the forward)")
         ->group("Problem"),
     kCases);
  std::string rank;
  in(app.add_option("--rank", rank, "With no -i: run this rank's standard suite; with --config: only cases of this rank")
         ->group("Problem"),
     kCases);
  CLI::Option* config_opt =
      in(path(app.add_option("--config", o.config_path,
                             "INI file of cases ([defaults] + one section per case); problem flags override its keys")
                  ->group("Problem")),
         kCases);
  in(app.add_option("--case", o.case_globs, "Only cases whose name matches this glob (repeatable, or a,b); each must match")
         ->delimiter(',')
         ->group("Problem"),
     kCases);

  TimingPolicy& p = o.policy;
  const auto timing = [&](CLI::Option* opt) { return in(opt->capture_default_str()->group("Timing"), kRun | kAb); };
  timing(app.add_option("--warmup", p.warmup_reps, "Warmup calls at least"));
  timing(app.add_option("--warmup-time", p.warmup_time, "Warmup seconds at least"));
  timing(app.add_option("--min-reps", p.min_reps, "Samples at least before the noise target may stop"));
  timing(app.add_option("--max-reps", p.max_reps, "Samples at most"));
  timing(app.add_option("--min-time", p.min_time, "Sampling seconds at least before the noise target may stop"));
  timing(app.add_option("--max-time", p.max_time, "Sampling seconds at most per case, backend and op"));
  timing(app.add_option("--noise-target", p.noise_target, "Stop once relative noise (1.4826 MAD/median) is below this"));
  in(app.add_option("--repetitions", o.repetitions,
                    "Repeat the whole run N times; each row's statistics cover every repetition's samples")
         ->capture_default_str()
         ->group("Timing"),
     kRun);
  bool no_fast_path = false;
  in(app.add_flag("--no-fast-path", no_fast_path,
                  "Time the neighborhood kernel even where every window covers the whole grid (no FMHA fast path)")
         ->group("Timing"),
     kCases);
  bool no_verify = false;
  in(app.add_flag("--no-verify", no_verify, "Do not check results against the reference backend before timing")
         ->group("Timing"),
     kRun | kDry | kAb);
  in(app.add_option("--verify-max-gflop", o.verify_max_gflop,
                    "Skip verification (with a note) when the reference backend would need more GFLOP than this")
         ->capture_default_str()
         ->group("Timing"),
     kRun | kDry);
  in(app.add_option("--simd", o.simd, "cpu backend: run the kernels on this SIMD target (AVX3, AVX2, SSE4, ...; default: the best)")
         ->group("Timing"),
     kCases);

  in(path(app.add_option("--json", o.json_path, "Write the full report as JSON ('-' = stdout)")->group("Output")),
     kRun | kCount | kAb | kCompare);
  in(path(app.add_option("--csv", o.csv_path, "Write one CSV row per case, backend and op ('-' = stdout)")->group("Output")),
     kRun);
  CLI::Option* md = in(app.add_option("--markdown", o.markdown_path, "Markdown table to FILE, or to stdout instead of the table")
                           ->expected(0, 1)
                           ->group("Output"),
                       kRun);
  in(path(app.add_option("--plot", o.plot_path,
                         "Draw the run (time per case and backend, p10..p90 bars) or the comparison as SVG")
              ->group("Output")),
     kRun | kAb | kCompare);
  in(app.add_flag("-v,--verbose", o.verbose, "Every statistic in the table (default: a compact table that fits the terminal)")
         ->group("Output"),
     kRun | kCount | kAb | kCompare);
  in(app.add_flag("-q,--quiet", o.quiet, "No progress line on stderr")->group("Output"), kRun | kCount | kAb);
  bool version = false;
  CLI::Option* version_opt = app.add_flag("--version", version, "Print the version and build, then exit")->group("Modes");

  CLI::Option* baseline_opt =
      in(path(app.add_option("--baseline", o.baseline_path,
                             "Compare with a stored report, or a directory of them (one per machine); exit 1 on a "
                             "regression. With --count-work: a work baseline")
                  ->group("Guard")),
         kRun | kCount);
  in(path(app.add_option("--save-baseline", o.save_baseline_path,
                         "Write this run as a baseline (its JSON report); a directory: DIR/<machine fingerprint>.json")
              ->group("Guard")),
     kRun | kCount);
  CLI::Option* allow_missing =
      in(app.add_flag("--allow-missing", o.guard.allow_missing, "Baseline rows this run lacks are notes, not failures")
             ->group("Guard"),
         kRun | kCount);
  double max_slowdown = o.guard.max_slowdown;
  CLI::Option* max_slowdown_opt =
      in(app.add_option("--max-slowdown", max_slowdown, "Time guard: allowed slowdown ratio beyond measured noise")
             ->capture_default_str()
             ->group("Guard"),
         kRun);
  std::string guard_stat = "median";
  CLI::Option* guard_stat_opt =
      in(app.add_option("--guard-stat", guard_stat, "Time guard: compare the median or min time")->capture_default_str()->group("Guard"),
         kRun);

  WorkOptions& wo = o.work;
  bool count_work = false;
  CLI::Option* count_opt = app.add_flag("--count-work", count_work,
                                        "Count the instructions and simulated cache misses of one call per case under "
                                        "valgrind's callgrind (one thread, one SIMD target): the deterministic guard")
                               ->group("Modes");
  in(app.add_option("--work-max-increase", wo.guard.max_increase, "Work guard: fail above this increase per call (0.03 = +3%)")
         ->capture_default_str()
         ->group("Work guard"),
     kCount);
  std::string work_gate = "instructions";
  in(app.add_option("--work-gate", work_gate,
                    "Work guard: metrics that fail it: instructions, d1_misses, ll_misses, cycles_estimate; comma list")
         ->capture_default_str()
         ->group("Work guard"),
     kCount);
  in(path(app.add_option("--valgrind", wo.valgrind, "The valgrind executable")->capture_default_str()->group("Work guard")),
     kCount);
  bool no_cache_sim = false;
  in(app.add_flag("--no-cache-sim", no_cache_sim, "Count instructions only (no simulated caches: about 2x faster)")
         ->group("Work guard"),
     kCount);
  in(app.add_option("--count-calls", wo.calls, "Calls counted per row after the warm-up call")
         ->capture_default_str()
         ->group("Work guard"),
     kCount);

  AbOptions& ab = o.ab;
  CLI::Option* ab_opt = path(app.add_option("--ab", ab.base_exe,
                                            "Time the base build BASE_EXE (a natten-bench) and this one in alternating "
                                            "runs; exit 1 on a significant slowdown")
                                 ->group("Modes"));
  CLI::Option* compare_opt = app.add_option("--compare", o.compare_paths,
                                            "Compare two natten-bench --json reports, A then B (rank test on their raw "
                                            "samples); exit 1 when B is significantly slower")
                                 ->expected(2)
                                 ->group("Modes");
  in(path(app.add_option("--ab-new", ab.new_exe, "The new build's natten-bench (default: this one)")->group("A/B")), kAb);
  in(app.add_option("--ab-rounds", ab.rounds, "Runs of each build")->capture_default_str()->group("A/B"), kAb);
  in(app.add_option("--ab-seed", ab.seed, "Seed of the run order and the bootstrap")->capture_default_str()->group("A/B"), kAb);
  std::string ab_stat = "min";
  in(app.add_option("--ab-stat", ab_stat, "Each run's time per row: min (least disturbed by load) or median")
         ->capture_default_str()
         ->group("A/B"),
     kAb);
  in(app.add_option("--min-slowdown", ab.max_slowdown, "--ab, --compare: slowdowns below this fraction never fail")
         ->capture_default_str()
         ->group("A/B"),
     kAb | kCompare);
  in(app.add_option("--alpha", ab.alpha, "--ab, --compare: false-alarm rate over all rows (Holm-corrected)")
         ->capture_default_str()
         ->group("A/B"),
     kAb | kCompare);

  bool peak = false, dry_run = false, list = false;
  CLI::Option* peak_opt = app.add_flag("--peak", peak, "Measure and print the fp32 FMA peak, then exit")->group("Modes");
  CLI::Option* dry_opt =
      app.add_flag("--dry-run", dry_run, "Describe the problems, their FLOPs and which backends support them; time nothing")
          ->group("Modes");
  CLI::Option* list_opt = app.add_flag("--list-backends", list, "List the backends and whether they are available")->group("Modes");
  const std::vector<CLI::Option*> modes = {peak_opt, dry_opt, list_opt, count_opt, ab_opt, compare_opt, version_opt};
  for (std::size_t i = 0; i < modes.size(); ++i)
    for (std::size_t j = i + 1; j < modes.size(); ++j) modes[i]->excludes(modes[j]);
  // Test hooks, hidden from --help: every timed call runs the kernel N times, so a test can prove
  // the regression guard fails when the code gets slower; a fake CPU identity, so a test can prove
  // a baseline of another machine is never compared.
  app.add_option("--inject-slowdown", o.inject_slowdown)->group("");
  app.add_option("--fake-cpu", o.fake_cpu)->group("");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    throw HelpRequested{app.help()};
  } catch (const CLI::CallForAllHelp&) {
    throw HelpRequested{app.help("", CLI::AppFormatMode::All)};
  } catch (const CLI::ParseError& e) {
    throw Error(app::describe_parse_error(e));
  }
  if (version) throw HelpRequested{app::version_line("natten-bench") + "\n"};

  for (CLI::Option* opt : paths) {
    if (opt->count() == 0) continue;
    for (const std::string& v : opt->results())
      if (v.empty()) fail("{}: the path is empty", opt->get_name());
  }
  for (const std::string& v : o.compare_paths)
    if (v.empty()) fail("--compare: the path is empty");

  for (const auto& [flag, opt] : problem_opts) {
    if (opt->count() == 0) continue;
    const std::vector<std::string>& v = values[flag->key];
    // Per-sample extents join with ';' (each holds its own axes); per-axis lists with ','.
    std::string text;
    for (const std::string& x : v) text += (text.empty() ? "" : std::string(flag->key) == "varlen_sizes" ? ";" : ",") + x;
    config::set_key(o.overrides, flag->key, text, first_name(flag->names));
  }
  // A bare -c may leave CLI11 an empty string: it means every axis.
  causal.erase(std::remove(causal.begin(), causal.end(), std::string()), causal.end());
  if (causal_opt->count() > 0) config::set_key(o.overrides, "causal", causal.empty() ? "true" : joined(causal), "--causal");
  if (backward) config::set_key(o.overrides, "backward", "true", "--backward");
  if (rpb) config::set_key(o.overrides, "rpb", "true", "--rpb");
  if (!rank.empty()) {
    config::CaseSettings r;
    config::set_key(r, "rank", rank, "--rank");
    o.rank = r.rank->value;
  }
  if (md->count() > 0 && o.markdown_path.empty()) o.markdown_to_stdout = true;
  o.verify = !no_verify;
  o.fast_path = !no_fast_path;
  if (!(o.verify_max_gflop >= 0)) fail("--verify-max-gflop: {} must be >= 0", o.verify_max_gflop);
  if (!(max_slowdown >= 1.0)) fail("--max-slowdown: {} must be >= 1", max_slowdown);
  o.guard.max_slowdown = max_slowdown;
  o.guard.stat = parse_guard_stat(guard_stat);
  if (o.inject_slowdown < 1) fail("--inject-slowdown: {} must be >= 1", o.inject_slowdown);
  if (o.repetitions < 1) fail("--repetitions: {} must be >= 1", o.repetitions);
  validate_policy(p);

  o.mode = peak ? Mode::peak
           : dry_run ? Mode::dry_run
           : list ? Mode::list_backends
           : count_work ? Mode::count_work
           : ab_opt->count() > 0 ? Mode::ab
           : compare_opt->count() > 0 ? Mode::compare
                                      : Mode::run;
  const unsigned bit = 1u << static_cast<int>(o.mode);
  for (const auto& [opt, allowed] : applies) {
    if (opt->count() > 0 && (allowed & bit) == 0) fail("{} does not apply to {}", opt->get_name(), mode_label(o.mode));
  }
  if (problem_opts.front().second->count() > 0 && config_opt->count() > 0)
    fail("--input-size with --config would run every case at one shape under its own name: drop one (pick cases with "
         "--case)");
  if (CLI::Option* x = max_slowdown_opt->count() > 0 ? max_slowdown_opt : guard_stat_opt->count() > 0 ? guard_stat_opt : nullptr;
      x != nullptr && baseline_opt->count() == 0)
    fail("{} applies to the time guard only (a timed run with --baseline)", x->get_name());
  if (allow_missing->count() > 0 && baseline_opt->count() == 0) fail("--allow-missing needs --baseline");

  if (o.mode == Mode::count_work) {
    wo.cache_sim = !no_cache_sim;
    wo.guard.allow_missing = o.guard.allow_missing;
    wo.guard.gated.clear();
    for (std::string_view rest = work_gate;;) {
      const std::size_t comma = rest.find(',');
      const std::string m(rest.substr(0, comma));
      if (std::find(work_metrics().begin(), work_metrics().end(), m) == work_metrics().end())
        fail("--work-gate: unknown metric '{}' (expected instructions, d1_misses, ll_misses or cycles_estimate)", m);
      if (no_cache_sim && m != "instructions") fail("--work-gate {}: needs the simulated caches (drop --no-cache-sim)", m);
      wo.guard.gated.push_back(m);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    if (!(wo.guard.max_increase >= 0)) fail("--work-max-increase: {} must be >= 0", wo.guard.max_increase);
    if (wo.calls < 1) fail("--count-calls: {} must be >= 1", wo.calls);
    if (o.overrides.threads && o.overrides.threads->value != 1)
      fail("--threads {}: --count-work counts one thread (the count of several is not deterministic)",
           o.overrides.threads->value);
  }
  if (o.mode == Mode::ab || o.mode == Mode::compare) {
    if (!(ab.max_slowdown >= 0)) fail("--min-slowdown: {} must be >= 0", ab.max_slowdown);
    if (!(ab.alpha > 0 && ab.alpha < 1)) fail("--alpha: {} must be in (0, 1)", ab.alpha);
  }
  if (o.mode == Mode::ab) {
    if (ab.rounds < 3) fail("--ab-rounds: {} must be >= 3 (a rank test needs several runs of each build)", ab.rounds);
    if (ab_stat != "min" && ab_stat != "median") fail("--ab-stat: unknown statistic '{}' (expected min or median)", ab_stat);
    ab.stat = ab_stat == "min" ? GuardStat::min : GuardStat::median;
  }
  return o;
}

}  // namespace natten::bench
