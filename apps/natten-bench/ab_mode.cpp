#include "ab_mode.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <unistd.h>

#include <fmt/format.h>

#include "natten/bench/ab_stats.hpp"
#include "natten/bench/machine.hpp"
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
  static const std::vector<std::string> with_value = {"--ab",     "--ab-new",      "--ab-rounds", "--ab-max-slowdown",
                                                      "--ab-alpha", "--ab-seed",   "--ab-stat", "--json"};
  static const std::vector<std::string> flags = {"-q", "--quiet", "--no-verify"};
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

struct Row {
  RowKey key;
  Observations obs;
  RatioEstimate ratio;
  double p_slower = 1, p_faster = 1, adj_slower = 1, adj_faster = 1;
  std::string verdict = "ok";
};

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

  std::vector<Row> rows;
  std::vector<std::string> notes;
  for (const auto& [key, ob] : obs) {
    if (static_cast<int>(ob.base.size()) != ab.rounds || static_cast<int>(ob.now.size()) != ab.rounds) {
      notes.push_back(fmt::format("{}: timed in {} base and {} new runs of {}, not compared", key.label(), ob.base.size(),
                                  ob.now.size(), ab.rounds));
      continue;
    }
    Row row;
    row.key = key;
    row.obs = ob;
    // Round k's two runs ran back to back: pair them (the log ratio cancels that moment's load).
    std::vector<double> up, down;
    for (int k = 0; k < ab.rounds; ++k) {
      up.push_back(std::log(ob.now[static_cast<std::size_t>(k)] / ob.base[static_cast<std::size_t>(k)]));
      down.push_back(-up.back());
    }
    row.ratio = ratio_of_medians(ob.base, ob.now, 0.95, 2000, ab.seed, /*paired=*/true);
    row.p_slower = wilcoxon_signed_rank_greater(up);
    row.p_faster = wilcoxon_signed_rank_greater(down);
    rows.push_back(row);
  }
  if (rows.empty()) fail("--ab: no row was timed by both builds in every run (compare the two builds' --dry-run)");
  std::vector<double> ps, pf;
  for (const Row& r : rows) ps.push_back(r.p_slower), pf.push_back(r.p_faster);
  const std::vector<double> adj_s = holm_adjust(ps), adj_f = holm_adjust(pf);
  bool regression = false;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    Row& r = rows[i];
    r.adj_slower = adj_s[i];
    r.adj_faster = adj_f[i];
    if (r.adj_slower < ab.alpha && r.ratio.ratio > 1 + ab.max_slowdown) r.verdict = "REGRESSION";
    else if (r.adj_faster < ab.alpha && r.ratio.ratio < 1 / (1 + ab.max_slowdown)) r.verdict = "faster";
    else if (r.adj_slower < ab.alpha) r.verdict = "slower (within the allowed fraction)";
    else if (r.adj_faster < ab.alpha) r.verdict = "faster (within the fraction)";
    regression = regression || r.verdict == "REGRESSION";
  }

  // Report.
  std::string text = fmt::format(
      "A/B: base {} vs new {}\n{} runs of each in random order (seed {}), each run's {} time per row; a row fails when "
      "it is slower by more than {:.0f}% at significance {} (Holm over {} rows)\n",
      ab.base_exe, new_exe, ab.rounds, ab.seed, stat, 100 * ab.max_slowdown, ab.alpha, rows.size());
  std::size_t w = 19;
  for (const Row& r : rows) w = std::max(w, r.key.label().size());
  text += fmt::format("{:<{}}  {:>9}  {:>9}  {:>7}  {:>15}  {:>8}  {}\n", "case / backend / op", w, "base", "new", "ratio",
                      "95% interval", "p (Holm)", "verdict");
  const auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return quantile_sorted(v, 0.5);
  };
  for (const Row& r : rows) {
    const double p = r.ratio.ratio >= 1 ? r.adj_slower : r.adj_faster;
    text += fmt::format("{:<{}}  {:>9}  {:>9}  {:>6.3f}x  {:>15}  {:>8.2g}  {}\n", r.key.label(), w,
                        format_seconds(median(r.obs.base)), format_seconds(median(r.obs.now)), r.ratio.ratio,
                        fmt::format("[{:.3f}, {:.3f}]", r.ratio.low, r.ratio.high), p, r.verdict);
  }
  for (const std::string& n : notes) text += "note: " + n + "\n";
  text += regression ? "verdict: REGRESSION\n" : fmt::format("verdict: ok ({} rows compared)\n", rows.size());
  std::fprintf(out.any_stdout() ? stderr : stdout, "%s", text.c_str());

  if (out.json) {
    Json j = Json::object();
    j.set("schema", kAbSchema);
    j.set("created", utc_now());
    j.set("command_line", o.command_line);
    j.set("base", ab.base_exe);
    j.set("new", new_exe);
    j.set("rounds", ab.rounds);
    j.set("seed", std::to_string(ab.seed));
    j.set("max_slowdown", ab.max_slowdown);
    j.set("alpha", ab.alpha);
    j.set("statistic", stat);
    j.set("order", json_array(order_log));
    Json results = Json::array();
    for (const Row& r : rows) {
      Json e = Json::object();
      e.set("case", r.key.case_name);
      e.set("backend", r.key.backend);
      e.set("op", r.key.op);
      e.set("base_s", json_array(r.obs.base));
      e.set("new_s", json_array(r.obs.now));
      e.set("ratio", r.ratio.ratio);
      e.set("ratio_low", r.ratio.low);
      e.set("ratio_high", r.ratio.high);
      e.set("p_slower", r.p_slower);
      e.set("p_slower_holm", r.adj_slower);
      e.set("p_faster", r.p_faster);
      e.set("p_faster_holm", r.adj_faster);
      e.set("verdict", r.verdict);
      results.push(e);
    }
    j.set("results", results);
    j.set("notes", json_array(notes));
    j.set("verdict", regression ? "REGRESSION" : "ok");
    out.json->write(j.dump() + "\n");
  }
  return regression ? 1 : 0;
}

}  // namespace natten::bench
