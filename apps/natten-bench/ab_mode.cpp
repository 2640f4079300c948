#include "ab_mode.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <unistd.h>

#include <fmt/format.h>

#include "natten/bench/comparison.hpp"
#include "natten/bench/plot.hpp"
#include "natten/app/diagnostics.hpp"
#include "natten/app/help_format.hpp"
#include "natten/app/machine.hpp"
#include "natten/bench/report.hpp"
#include "natten/bench/subprocess.hpp"
#include "natten/core/error.hpp"
#include "outputs.hpp"
#include "suite.hpp"

namespace natten::bench {
namespace {

constexpr const char* kAbSchema = "natten-bench-ab/1";

// The run's own flags minus what belongs to --ab itself or to this process's output; each build
// gets them plus its own --json, -q and --no-verify.
std::vector<std::string> forwarded_args(const std::vector<std::string>& args) {
  static const std::vector<std::string> with_value = {"--ab",   "--ab-new",       "--ab-rounds", "--ab-seed", "--ab-stat",
                                                      "--alpha", "--min-slowdown", "--json",      "--plot"};
  static const std::vector<std::string> flags = {"-q", "--quiet", "--no-verify", "-v", "--verbose"};
  std::vector<std::string> out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const std::string name = a.substr(0, a.find('='));
    if (std::find(flags.begin(), flags.end(), a) != flags.end()) continue;
    if (std::find(with_value.begin(), with_value.end(), name) != with_value.end()) {
      if (name == a) ++i;  // "--ab X": skip the value too
      continue;
    }
    out.push_back(a);
  }
  return out;
}

struct RowKey {
  std::string case_name, backend, op;
  bool operator<(const RowKey& o) const {
    return std::tie(case_name, backend, op) < std::tie(o.case_name, o.backend, o.op);
  }
  std::string label() const { return case_name + " / " + backend + " / " + op; }
};

struct Observations {
  std::vector<double> base, now;  // one value per run
};

// Each timed row's statistic (time_s.min or time_s.median) from one run's JSON report.
std::map<RowKey, double> row_values(const std::string& path, const std::string& who, const std::string& stat) {
  const Json j = read_json_file(path, who + "'s report");
  std::map<RowKey, double> out;
  for (const Json& r : j.at("results", who).elements()) {
    if (r.at("status", who).as_string("status") != "timed") continue;
    RowKey k{r.at("case", who).as_string("case"), r.at("backend", who).as_string("backend"), r.at("op", who).as_string("op")};
    out[k] = r.at("time_s", who).at(stat, who).as_number("time_s." + stat);
  }
  return out;
}


}  // namespace

int ab_mode(const Options& o) {
  const AbOptions& ab = o.ab;
  assemble_cases(o);  // bad flags fail here, before any run
  const std::string new_exe = ab.new_exe.empty() ? self_executable() : ab.new_exe;
  for (const std::string& exe : {ab.base_exe, new_exe})
    if (::access(exe.c_str(), X_OK) != 0) fail("--ab: '{}' is not an executable file", exe);
  const std::vector<std::string> args = forwarded_args(o.args);
  const Outputs out(o, "");

  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/natten-ab.XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) fail("cannot create a scratch directory {}", dir);
  const std::string json_path = dir + "/run.json", out_path = dir + "/run.out", err_path = dir + "/run.err";
  const auto cleanup = [&] {
    for (const std::string& f : {json_path, out_path, err_path}) std::remove(f.c_str());
    ::rmdir(dir.c_str());
  };

  const std::string stat = ab.stat == GuardStat::min ? "min" : "median";
  std::mt19937_64 rng(ab.seed);
  std::map<RowKey, Observations> obs;
  std::vector<std::string> order_log;
  try {
    for (int round = 0; round < ab.rounds; ++round) {
      const bool base_first = (rng() & 1) != 0;
      order_log.push_back(base_first ? "base,new" : "new,base");
      for (int k = 0; k < 2; ++k) {
        const bool base = (k == 0) == base_first;
        const std::string& exe = base ? ab.base_exe : new_exe;
        const std::string who = base ? "the base build" : "the new build";
        if (!o.quiet)
          std::fprintf(stderr, "\rnatten-bench --ab: round %d/%d, %-14s", round + 1, ab.rounds, base ? "base" : "new");
        ProcessSpec spec;
        spec.argv = {exe};
        spec.argv.insert(spec.argv.end(), args.begin(), args.end());
        for (const char* a : {"--json", json_path.c_str(), "-q", "--no-verify"}) spec.argv.emplace_back(a);
        spec.stdout_path = out_path;
        spec.stderr_path = err_path;
        const ProcessResult r = run_process(spec);
        if (r.exit_code != 0)
          fail("{} ({}) failed in round {} ({}): {}", who, exe, round + 1, r.describe(), tail_of_file(err_path, 3));
        for (const auto& [key, v] : row_values(json_path, who, stat)) (base ? obs[key].base : obs[key].now).push_back(v);
      }
    }
  } catch (...) {
    cleanup();
    throw;
  }
  cleanup();
  if (!o.quiet) std::fprintf(stderr, "\r%60s\r", "");

  std::vector<ComparedRow> rows;
  std::vector<std::string> notes;
  for (const auto& [key, ob] : obs) {
    if (static_cast<int>(ob.base.size()) != ab.rounds || static_cast<int>(ob.now.size()) != ab.rounds) {
      notes.push_back(fmt::format("{}: timed in {} base and {} new runs of {}, not compared", key.label(), ob.base.size(),
                                  ob.now.size(), ab.rounds));
      continue;
    }
    ComparedRow row;
    row.case_name = key.case_name;
    row.backend = key.backend;
    row.op = key.op;
    row.base = ob.base;
    row.now = ob.now;
    rows.push_back(row);
  }
  if (rows.empty()) fail("--ab: no row was timed by both builds in every run (compare the two builds' --dry-run)");
  // Round k's two runs ran back to back: paired.
  const ComparisonOptions copt{/*paired=*/true, ab.alpha, ab.max_slowdown, ab.seed};
  const bool regression = decide(rows, copt);

  std::FILE* stream = out.any_stdout() ? stderr : stdout;
  const std::string title =
      fmt::format("A/B: base {} vs new {}\n{} runs of each in random order (seed {}), each run's {} time per row; a "
                  "row fails when it is slower by more than {:.0f}% at significance {} (Holm over {} rows)",
                  ab.base_exe, new_exe, ab.rounds, ab.seed, stat, 100 * ab.max_slowdown, ab.alpha, rows.size());
  std::fprintf(stream, "%s\n%s", app::wrap(title, static_cast<std::size_t>(app::terminal_columns(stream)), 2).c_str(),
               comparison_table(rows, notes, regression).c_str());

  if (out.json) {
    Json j = app::report_header(kAbSchema, "natten-bench", o.command_line, app::machine_info(), app::utc_now());
    j.set("base", ab.base_exe);
    j.set("new", new_exe);
    j.set("rounds", ab.rounds);
    j.set("seed", ab.seed);
    j.set("statistic", stat);
    j.set("order", json_array(order_log));
    add_comparison(j, rows, notes, regression, copt);
    out.json->write(j.dump() + "\n");
  }
  if (out.plot) out.plot->write(comparison_svg(rows, "A/B: new / base"));
  return regression ? 1 : 0;
}

}  // namespace natten::bench
