#include "natten/bench/guard.hpp"

#include <algorithm>
#include <dirent.h>
#include <sys/stat.h>

#include <fmt/format.h>

#include "natten/bench/report.hpp"
#include "natten/core/error.hpp"

namespace natten::bench {

GuardStat parse_guard_stat(std::string_view name) {
  if (name == "median") return GuardStat::median;
  if (name == "min") return GuardStat::min;
  fail("--guard-stat: unknown statistic '{}' (expected median or min)", name);
}

std::vector<GuardEntry> guard_entries(const RunReport& report) {
  std::vector<GuardEntry> out;
  for (const CaseResult& r : report.results) {
    if (r.status != Status::timed) continue;
    out.push_back({r.case_name, r.backend, r.op, r.problem_str, r.threads, r.time.median, r.time.min, r.time.rel_noise,
                   r.flops, r.peak_gflops, r.reference_median, r.reference_min});
  }
  return out;
}

namespace {

std::optional<double> optional_number(const Json& obj, std::string_view key, const std::string& what) {
  const Json* j = obj.find(key);
  if (j == nullptr || j->is_null()) return std::nullopt;
  return j->as_number(what + "." + std::string(key));
}

std::string key_of(const GuardEntry& e) {
  return fmt::format("{} / {} / {} ({} thread{})", e.case_name, e.backend, e.op, e.threads, e.threads == 1 ? "" : "s");
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

Baseline parse_baseline(const Json& json, const std::string& path) {
  try {
    Baseline b;
    b.path = path;
    if (json.type() != Json::Type::object) fail("expected a JSON object (a natten-bench --json report)");
    const std::string& schema = json.at("schema", "report").as_string("schema");
    if (schema != kSchema && schema != "natten-bench/1") fail("schema '{}' is not '{}'", schema, kSchema);
    const Json& machine = json.at("machine", "report");
    b.cpu_model = machine.at("cpu_model", "machine").as_string("machine.cpu_model");
    if (const Json* f = machine.find("fingerprint")) b.fingerprint = parse_fingerprint(*f, "machine.fingerprint");
    if (const Json* c = json.find("created")) b.created = c->as_string("created");
    const Json& results = json.at("results", "report");
    if (results.type() != Json::Type::array) fail("results: expected an array");
    std::size_t i = 0;
    for (const Json& r : results.elements()) {
      const std::string what = fmt::format("results[{}]", i++);
      if (r.at("status", what).as_string(what + ".status") != "timed") continue;
      GuardEntry e;
      e.case_name = r.at("case", what).as_string(what + ".case");
      e.backend = r.at("backend", what).as_string(what + ".backend");
      e.op = r.at("op", what).as_string(what + ".op");
      e.problem = r.at("problem_str", what).as_string(what + ".problem_str");
      e.threads = static_cast<int>(r.at("threads", what).as_number(what + ".threads"));
      const Json& t = r.at("time_s", what);
      e.median = t.at("median", what + ".time_s").as_number(what + ".time_s.median");
      e.min = t.at("min", what + ".time_s").as_number(what + ".time_s.min");
      e.rel_noise = r.at("rel_noise", what).as_number(what + ".rel_noise");
      e.flops = r.at("flops", what).as_number(what + ".flops");
      e.peak_gflops = r.at("peak_gflops", what).as_number(what + ".peak_gflops");
      e.reference_median = optional_number(r, "reference_median_s", what);
      e.reference_min = optional_number(r, "reference_min_s", what);
      if (!(e.median > 0) || !(e.min > 0)) fail("{}.time_s: median {} and min {} must be > 0", what, e.median, e.min);
      b.entries.push_back(e);
    }
    return b;
  } catch (const Error& e) {
    throw Error(fmt::format("baseline {}: {}", path, e.what()));
  }
}

Baseline read_baseline(const std::string& path) { return parse_baseline(read_json_file(path, "baseline"), path); }

std::optional<Baseline> select_baseline(const std::string& path, const Fingerprint& machine) {
  if (!is_directory(path)) return read_baseline(path);
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) fail("baseline store {}: cannot read the directory", path);
  std::vector<std::string> files;
  while (const dirent* e = ::readdir(dir)) {
    const std::string name = e->d_name;
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0) files.push_back(path + "/" + name);
  }
  ::closedir(dir);
  std::sort(files.begin(), files.end());
  std::optional<Baseline> found;
  for (const std::string& f : files) {
    Baseline b = read_baseline(f);
    if (!b.fingerprint || *b.fingerprint != machine) continue;
    if (found) fail("baseline store {}: {} and {} are both for this machine", path, found->path, f);
    found = std::move(b);
  }
  return found;
}

GuardReport no_baseline_in_store(const std::string& store, const Fingerprint& machine) {
  GuardReport rep;
  rep.no_baseline_for_machine =
      fmt::format("no baseline for this machine in {} ({}); save one with --save-baseline {}/", store, describe(machine), store);
  return rep;
}

GuardReport compare_runs(const std::vector<GuardEntry>& now, const Fingerprint& machine, const Baseline& base,
                         const GuardOptions& opt) {
  GuardReport rep;
  if (!base.fingerprint) {
    rep.no_baseline_for_machine =
        fmt::format("no baseline for this machine: {} records no machine fingerprint (recorded on '{}')", base.path,
                    base.cpu_model);
    return rep;
  }
  const std::vector<std::string> diff = differences(*base.fingerprint, machine);
  if (!diff.empty()) {
    std::string d;
    for (const std::string& x : diff) d += (d.empty() ? "" : "; ") + x;
    rep.no_baseline_for_machine = fmt::format("no baseline for this machine: {} was recorded on another ({})", base.path, d);
    return rep;
  }
  const bool use_min = opt.stat == GuardStat::min;
  const auto same_row = [](const GuardEntry& a, const GuardEntry& b) {
    return a.case_name == b.case_name && a.backend == b.backend && a.op == b.op && a.threads == b.threads;
  };
  for (const GuardEntry& n : now) {
    const auto it = std::find_if(base.entries.begin(), base.entries.end(), [&](const GuardEntry& b) { return same_row(b, n); });
    if (it == base.entries.end()) {
      rep.notes.push_back(fmt::format("{}: not in the baseline (new case), not compared", key_of(n)));
      continue;
    }
    if (it->problem != n.problem) {
      rep.errors.push_back(fmt::format("{}: problem changed ({} -> {}): refresh the baseline", key_of(n), it->problem, n.problem));
      continue;
    }
    Comparison c;
    c.case_name = n.case_name;
    c.backend = n.backend;
    c.op = n.op;
    c.baseline = use_min ? it->min : it->median;
    c.now = use_min ? n.min : n.median;
    c.ratio = c.now / c.baseline;
    c.allowed = opt.max_slowdown * (1.0 + std::min(opt.noise_z * (n.rel_noise + it->rel_noise), opt.noise_cap));
    if (n.peak_gflops > 0 && it->peak_gflops > 0) c.ratio_vs_peak = c.ratio * n.peak_gflops / it->peak_gflops;
    const std::optional<double>& rn = use_min ? n.reference_min : n.reference_median;
    const std::optional<double>& rb = use_min ? it->reference_min : it->reference_median;
    if (rn && rb && *rn > 0 && *rb > 0) c.ratio_vs_reference = c.ratio * *rb / *rn;
    c.verdict = c.ratio > c.allowed ? "REGRESSION" : c.ratio < 1.0 / c.allowed ? "faster" : "ok";
    rep.regression = rep.regression || c.ratio > c.allowed;
    rep.rows.push_back(c);
  }
  for (const GuardEntry& b : base.entries) {
    const bool ran = std::any_of(now.begin(), now.end(), [&](const GuardEntry& n) { return same_row(b, n); });
    if (ran) continue;
    const std::string msg = fmt::format("{}: in the baseline but not timed in this run", key_of(b));
    (opt.allow_missing ? rep.notes : rep.errors).push_back(msg + (opt.allow_missing ? "" : " (--allow-missing to accept)"));
  }
  if (rep.rows.empty() && rep.errors.empty()) rep.errors.push_back("nothing was compared: no timed row of this run is in the baseline");
  return rep;
}

std::string guard_table(const GuardReport& rep, const std::string& label, const GuardOptions& opt) {
  if (!rep.no_baseline_for_machine.empty()) return "time guard: " + rep.no_baseline_for_machine + "\nverdict: ok (nothing to compare on this machine)\n";
  std::string out = fmt::format("time guard: baseline {}, {} time, max slowdown {:.2f}x beyond noise\n", label,
                                opt.stat == GuardStat::min ? "minimum" : "median", opt.max_slowdown);
  std::size_t w = 4;
  for (const Comparison& c : rep.rows) w = std::max(w, c.case_name.size() + c.backend.size() + c.op.size() + 6);
  const auto diag = [](const std::optional<double>& v) { return v ? fmt::format("{:.2f}x", *v) : std::string("-"); };
  out += fmt::format("{:<{}}  {:>9}  {:>9}  {:>6}  {:>7}  {:>6}  {:>6}  {}\n", "case / backend / op", w, "baseline", "now",
                     "ratio", "allowed", "/peak", "/ref", "verdict");
  for (const Comparison& c : rep.rows) {
    out += fmt::format("{:<{}}  {:>9}  {:>9}  {:>5.2f}x  {:>6.2f}x  {:>6}  {:>6}  {}\n",
                       c.case_name + " / " + c.backend + " / " + c.op, w, format_seconds(c.baseline), format_seconds(c.now),
                       c.ratio, c.allowed, diag(c.ratio_vs_peak), diag(c.ratio_vs_reference), c.verdict);
  }
  out += "(/peak, /ref: the ratio with each side's time relative to its own FMA peak or reference backend; diagnostics)\n";
  for (const std::string& n : rep.notes) out += "note: " + n + "\n";
  for (const std::string& e : rep.errors) out += "error: " + e + "\n";
  if (rep.regression) out += "verdict: REGRESSION\n";
  else if (!rep.errors.empty()) out += "verdict: FAILED (see the errors above)\n";
  else out += fmt::format("verdict: ok ({} rows compared)\n", rep.rows.size());
  return out;
}

Json guard_json(const GuardReport& rep, const std::string& label, const GuardOptions& opt) {
  Json g = Json::object();
  g.set("baseline", label);
  g.set("statistic", opt.stat == GuardStat::min ? "min" : "median");
  g.set("max_slowdown", opt.max_slowdown);
  if (!rep.no_baseline_for_machine.empty()) g.set("no_baseline_for_machine", rep.no_baseline_for_machine);
  Json rows = Json::array();
  const auto opt_num = [](const std::optional<double>& v) { return v ? Json(*v) : Json(); };
  for (const Comparison& c : rep.rows) {
    Json r = Json::object();
    r.set("case", c.case_name);
    r.set("backend", c.backend);
    r.set("op", c.op);
    r.set("baseline_s", c.baseline);
    r.set("now_s", c.now);
    r.set("ratio", c.ratio);
    r.set("allowed", c.allowed);
    r.set("ratio_vs_peak", opt_num(c.ratio_vs_peak));
    r.set("ratio_vs_reference", opt_num(c.ratio_vs_reference));
    r.set("verdict", c.verdict);
    rows.push(r);
  }
  g.set("comparisons", rows);
  g.set("notes", json_array(rep.notes));
  g.set("errors", json_array(rep.errors));
  g.set("verdict", rep.regression ? "REGRESSION" : !rep.errors.empty() ? "FAILED" : "ok");
  return g;
}

}  // namespace natten::bench
