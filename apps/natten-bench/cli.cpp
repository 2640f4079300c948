#include "cli.hpp"

#include <algorithm>
#include <map>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

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
    {"-b,--batch-size", "batch", "Batch size (default 1)", 1},
    {"-n,--heads", "heads", "Query heads (default 4)", 1},
    {"--heads-kv", "heads_kv", "Key/value heads for GQA/MQA (default: --heads)", 1},
    {"-d,--dim", "dim", "Head dim (default 32)", 1},
    {"-w,--window-size,--k", "window_size", "Kernel (window) size: one value or one per axis (default 7 in the suite)", 3},
    {"-s,--stride", "stride", "Stride: one value or one per axis (default 1)", 3},
    {"--dilation", "dilation", "Dilation: one value or one per axis (default 1)", 3},
    {"--dtype", "dtype", "Element type: fp32, fp16 or bf16 (default fp32)", 1},
    {"--add-kv", "add_kv", "Additional KV tokens every query attends to (default 0)", 1},
    {"--seed", "seed", "Input generator seed (default 0)", 1},
    {"--backend", "backend", "Backend(s) to time: a name, a comma list, or 'all' (default: cpu if available, else reference)", 64},
    {"--threads", "threads", "CPU worker threads, 0 = all usable cores (default 0)", 1},
    {"--op", "op", "Operation: na (fused, default), na_qk, na_av, merge, varlen", 1},
    {"--parts", "parts", "merge: number of partial results merged (default 2)", 1},
    {"--varlen-sizes", "varlen_sizes",
     "varlen: one extent per sample (48x48 64x64, or 48x48;64x64); batch = samples, -i = padded size (default: max)", 1024},
};

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

std::string single_line(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

}  // namespace

Options parse_command_line(int argc, const char* const* argv) {
  Options o;
  for (int i = 0; i < argc; ++i) o.command_line += (i ? " " : "") + std::string(argv[i]);

  CLI::App app{
      "natten-bench: time neighborhood-attention backends with exact FLOP counts, verification against the\n"
      "reference backend, % of measured FMA peak, and baseline regression guards.\n"
      "Examples:  natten-bench --rank 2 --k 7 --backward\n"
      "           natten-bench -i 64 64 -w 7 --dtype fp16 --backend all --json out.json\n"
      "           natten-bench --config configs/ci-quick.ini --baseline configs/ci-baseline.json --guard peak,reference",
      "natten-bench"};
  app.get_formatter()->column_width(34);

  std::map<std::string, std::vector<std::string>> values;
  std::vector<std::pair<const ProblemFlag*, CLI::Option*>> problem_opts;
  for (const ProblemFlag& f : kProblemFlags) {
    CLI::Option* opt = app.add_option(f.names, values[f.key], f.help)->group("Problem");
    if (std::string(f.key) == "varlen_sizes") opt->expected(1, f.max_values)->delimiter(';');
    else if (f.max_values > 1) opt->expected(1, f.max_values)->delimiter(',');
    problem_opts.emplace_back(&f, opt);
  }
  std::vector<std::string> causal;
  CLI::Option* causal_opt = app.add_option("-c,--causal", causal, "Causal masking: alone = every axis, or one value per axis (1,0)")
                                ->expected(0, 3)
                                ->delimiter(',')
                                ->group("Problem");
  bool rpb = false;
  app.add_flag("--rpb", rpb, "na_qk: with a relative positional bias")->group("Problem");
  bool backward = false;
  app.add_flag("--backward,--backprop", backward, "Also time the backward pass (timed apart from the forward)")->group("Problem");
  std::string rank;
  app.add_option("--rank", rank, "With no -i: run this rank's standard suite; with --config: only cases of this rank")
      ->group("Problem");
  app.add_option("--config", o.config_path, "INI file of cases ([defaults] + one section per case); problem flags override its keys")
      ->group("Problem");
  app.add_option("--case", o.case_glob, "Only cases whose name matches this glob")->group("Problem");

  TimingPolicy& p = o.policy;
  app.add_option("--warmup", p.warmup_reps, "Warmup calls at least (default 1)")->group("Timing");
  app.add_option("--warmup-time", p.warmup_time, "Warmup seconds at least (default 0.05)")->group("Timing");
  app.add_option("--min-reps", p.min_reps, "Samples at least before the noise target may stop (default 5)")->group("Timing");
  app.add_option("--max-reps", p.max_reps, "Samples at most (default 100000)")->group("Timing");
  app.add_option("--min-time", p.min_time, "Sampling seconds at least before the noise target may stop (default 0.2)")->group("Timing");
  app.add_option("--max-time", p.max_time, "Sampling seconds at most per case, backend and op (default 1.5)")->group("Timing");
  app.add_option("--noise-target", p.noise_target, "Stop once relative noise (1.4826 MAD/median) is below this (default 0.02)")
      ->group("Timing");
  bool no_fast_path = false;
  app.add_flag("--no-fast-path", no_fast_path,
               "Time the neighborhood kernel even where every window covers the whole grid (no FMHA fast path)")
      ->group("Timing");
  bool no_verify = false;
  app.add_flag("--no-verify", no_verify, "Do not check results against the reference backend before timing")->group("Timing");
  app.add_option("--verify-max-gflop", o.verify_max_gflop,
                 "Skip verification (with a note) when the reference backend would need more GFLOP than this (default 4)")
      ->group("Timing");

  app.add_option("--json", o.json_path, "Write the full report as JSON ('-' = stdout)")->group("Output");
  app.add_option("--csv", o.csv_path, "Write one CSV row per case, backend and op ('-' = stdout)")->group("Output");
  CLI::Option* md = app.add_option("--markdown", o.markdown_path, "Markdown table to FILE, or to stdout instead of the table")
                        ->expected(0, 1)
                        ->group("Output");
  app.add_flag("-q,--quiet", o.quiet, "No progress line on stderr")->group("Output");

  app.add_option("--baseline", o.baseline_path, "Compare with a natten-bench JSON report; exit 1 on a regression")->group("Guard");
  app.add_option("--save-baseline", o.save_baseline_path, "Write this run as a baseline (the JSON report)")->group("Guard");
  double max_slowdown = o.guard.max_slowdown;
  app.add_option("--max-slowdown", max_slowdown, "Allowed slowdown ratio beyond measured noise (default 1.10)")->group("Guard");
  std::string guard = "time";
  app.add_option("--guard", guard,
                 "What to compare: time (same machine), peak (% of measured FMA peak), reference (speedup over the "
                 "reference backend); comma list (default time)")
      ->group("Guard");

  std::string guard_stat = "median";
  app.add_option("--guard-stat", guard_stat,
                 "Time statistic the guard compares: median (default) or min (least disturbed by other load)")
      ->group("Guard");

  bool peak = false, dry_run = false, list = false;
  CLI::Option* peak_opt = app.add_flag("--peak", peak, "Measure and print the fp32 FMA peak, then exit")->group("Modes");
  CLI::Option* dry_opt =
      app.add_flag("--dry-run", dry_run, "Describe the problems, their FLOPs and which backends support them; time nothing")
          ->group("Modes");
  CLI::Option* list_opt = app.add_flag("--list-backends", list, "List the backends and whether they are available")->group("Modes");
  peak_opt->excludes(dry_opt)->excludes(list_opt);
  dry_opt->excludes(list_opt);
  // Test hook, hidden from --help: makes every timed call run the kernel N times, so a test can
  // prove the regression guard fails when the code gets slower.
  app.add_option("--inject-slowdown", o.inject_slowdown)->group("");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    throw HelpRequested{app.help()};
  } catch (const CLI::CallForAllHelp&) {
    throw HelpRequested{app.help("", CLI::AppFormatMode::All)};
  } catch (const CLI::ParseError& e) {
    throw Error(single_line(e.what()));
  }

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
  o.guard.kinds = parse_guards(guard);
  o.guard.stat = parse_guard_stat(guard_stat);
  if (o.inject_slowdown < 1) fail("--inject-slowdown: {} must be >= 1", o.inject_slowdown);
  validate_policy(p);

  o.mode = peak ? Mode::peak : dry_run ? Mode::dry_run : list ? Mode::list_backends : Mode::run;
  if (o.mode != Mode::run && (!o.baseline_path.empty() || !o.save_baseline_path.empty()))
    fail("--baseline/--save-baseline need a timed run (not --peak, --dry-run or --list-backends)");
  return o;
}

}  // namespace natten::bench
