#include "natten/bench/guard.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "natten/bench/report.hpp"
#include "natten/core/error.hpp"

namespace natten::bench {

std::string_view guard_name(GuardKind k) {
  switch (k) {
    case GuardKind::time: return "time";
    case GuardKind::peak: return "peak";
    case GuardKind::reference: return "reference";
  }
  return "?";
}

std::vector<GuardKind> parse_guards(std::string_view list) {
  std::vector<GuardKind> kinds;
  while (true) {
    const std::size_t comma = list.find(',');
    const std::string_view item = list.substr(0, comma);
    GuardKind k;
    if (item == "time") k = GuardKind::time;
    else if (item == "peak") k = GuardKind::peak;
    else if (item == "reference") k = GuardKind::reference;
    else fail("--guard: unknown guard '{}' (expected time, peak or reference, comma separated)", item);
    if (std::find(kinds.begin(), kinds.end(), k) == kinds.end()) kinds.push_back(k);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return kinds;
}

GuardStat parse_guard_stat(std::string_view name) {
  if (name == "median") return GuardStat::median;
  if (name == "min") return GuardStat::min;
  fail("--guard-stat: unknown statistic '{}' (expected median or min)", name);
}

std::vector<GuardEntry> guard_entries(const RunReport& report) {
  std::vector<GuardEntry> out;
  for (const CaseResult& r : report.results) {
    if (r.status != Status::timed) continue;
    out.push_back({r.case_name, r.backend, r.op, r.problem_str, r.time.median, r.time.min, r.time.rel_noise, r.flops,
                   r.peak_gflops, r.reference_median, r.reference_min, r.reference_rel_noise});
  }
  return out;
}

namespace {

std::optional<double> optional_number(const Json& obj, std::string_view key, const std::string& what) {
  const Json* j = obj.find(key);
  if (j == nullptr || j->is_null()) return std::nullopt;
  return j->as_number(what + "." + std::string(key));
}

}  // namespace

Baseline parse_baseline(const Json& json, const std::string& path) {
  try {
    Baseline b;
    b.path = path;
    if (json.type() != Json::Type::object) fail("expected a JSON object (a natten-bench --json report)");
    const std::string& schema = json.at("schema", "report").as_string("schema");
    if (schema != kSchema) fail("schema '{}' is not '{}'", schema, kSchema);
    b.cpu_model = json.at("machine", "report").at("cpu_model", "machine").as_string("machine.cpu_model");
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
      const Json& t = r.at("time_s", what);
      e.median = t.at("median", what + ".time_s").as_number(what + ".time_s.median");
      e.min = t.at("min", what + ".time_s").as_number(what + ".time_s.min");
      e.rel_noise = r.at("rel_noise", what).as_number(what + ".rel_noise");
      e.flops = r.at("flops", what).as_number(what + ".flops");
      e.peak_gflops = r.at("peak_gflops", what).as_number(what + ".peak_gflops");
      e.reference_median = optional_number(r, "reference_median_s", what);
      e.reference_min = optional_number(r, "reference_min_s", what);
      e.reference_rel_noise = optional_number(r, "reference_rel_noise", what);
      if (!(e.median > 0) || !(e.min > 0)) fail("{}.time_s: median {} and min {} must be > 0", what, e.median, e.min);
      b.entries.push_back(e);
    }
    return b;
  } catch (const Error& e) {
    throw Error(fmt::format("baseline {}: {}", path, e.what()));
  }
}

Baseline read_baseline(const std::string& path) {
  const std::string text = read_file(path);
  Json j;
  try {
    j = Json::parse(text, path);
  } catch (const Error& e) {
    throw Error(fmt::format("baseline {}", e.what()));
  }
  return parse_baseline(j, path);
}

namespace {

struct Cost {
  double value = 0, noise = 0;
};

// The cost a guard compares, or nullopt with the reason when this entry has none.
std::optional<Cost> cost(const GuardEntry& e, GuardKind k, GuardStat stat, std::string& why) {
  const bool use_min = stat == GuardStat::min;
  const double t = use_min ? e.min : e.median;
  switch (k) {
    case GuardKind::time: return Cost{t, e.rel_noise};
    case GuardKind::peak:
      if (!(e.peak_gflops > 0) || !(e.flops > 0)) {
        why = "no FMA peak measured";
        return std::nullopt;
      }
      return Cost{t * e.peak_gflops * 1e9 / e.flops, e.rel_noise};
    case GuardKind::reference:
      if (e.backend == "reference") {
        why = "is the reference backend";
        return std::nullopt;
      }
      const std::optional<double>& ref = use_min ? e.reference_min : e.reference_median;
      if (!ref || !(*ref > 0)) {
        why = "reference backend not timed in the same run";
        return std::nullopt;
      }
      return Cost{t / *ref, e.rel_noise + e.reference_rel_noise.value_or(0.0)};
  }
  return std::nullopt;
}

std::string key_of(const GuardEntry& e) { return e.case_name + " / " + e.backend + " / " + e.op; }

}  // namespace

GuardReport compare_runs(const std::vector<GuardEntry>& now, const Baseline& base, const GuardOptions& opt) {
  GuardReport rep;
  for (const GuardEntry& n : now) {
    const auto it = std::find_if(base.entries.begin(), base.entries.end(), [&](const GuardEntry& b) {
      return b.case_name == n.case_name && b.backend == n.backend && b.op == n.op;
    });
    if (it == base.entries.end()) {
      rep.notes.push_back(fmt::format("{}: not in the baseline (new case), not compared", key_of(n)));
      continue;
    }
    if (it->problem != n.problem) {
      rep.notes.push_back(fmt::format("{}: problem changed ({} -> {}), not compared", key_of(n), it->problem, n.problem));
      continue;
    }
    for (GuardKind k : opt.kinds) {
      std::string why;
      const auto cn = cost(n, k, opt.stat, why);
      const auto cb = cn ? cost(*it, k, opt.stat, why) : std::nullopt;
      if (!cn || !cb) {
        if (k != GuardKind::reference || n.backend != "reference")
          rep.notes.push_back(fmt::format("{}: {} guard skipped: {}", key_of(n), guard_name(k), why));
        continue;
      }
      Comparison c{n.case_name, n.backend, n.op, k, cb->value, cn->value, cn->value / cb->value, 0, "ok"};
      c.allowed = opt.max_slowdown * (1.0 + std::min(opt.noise_z * (cn->noise + cb->noise), opt.noise_cap));
      if (c.ratio > c.allowed) {
        c.verdict = "REGRESSION";
        rep.regression = true;
      } else if (c.ratio < 1.0 / c.allowed) {
        c.verdict = "faster";
      }
      rep.rows.push_back(c);
    }
  }
  for (const GuardEntry& b : base.entries) {
    const bool ran = std::any_of(now.begin(), now.end(), [&](const GuardEntry& n) {
      return b.case_name == n.case_name && b.backend == n.backend && b.op == n.op;
    });
    if (!ran) rep.notes.push_back(fmt::format("{}: in the baseline but not timed in this run", key_of(b)));
  }
  return rep;
}

std::string guard_table(const GuardReport& rep, const Baseline& base, const GuardOptions& opt) {
  std::string kinds;
  for (GuardKind k : opt.kinds) kinds += (kinds.empty() ? "" : ",") + std::string(guard_name(k));
  std::string out = fmt::format("baseline {} ({}, {}): guard {} on the {} time, max slowdown {:.2f}x beyond noise\n",
                                base.path, base.cpu_model, base.created, kinds,
                                opt.stat == GuardStat::min ? "minimum" : "median", opt.max_slowdown);
  const auto fmt_cost = [](GuardKind k, double v) {
    switch (k) {
      case GuardKind::time: return format_seconds(v);
      case GuardKind::peak: return fmt::format("{:.3g}% peak", 100.0 / v);
      case GuardKind::reference: return fmt::format("{:.3g}x ref", 1.0 / v);
    }
    return std::string();
  };
  std::size_t w = 4;
  for (const Comparison& c : rep.rows) w = std::max(w, c.case_name.size() + c.backend.size() + c.op.size() + 6);
  out += fmt::format("{:<{}}  {:<9}  {:>14}  {:>14}  {:>7}  {:>7}  {}\n", "case", w, "guard", "baseline", "now", "ratio",
                     "allowed", "verdict");
  for (const Comparison& c : rep.rows) {
    out += fmt::format("{:<{}}  {:<9}  {:>14}  {:>14}  {:>6.2f}x  {:>6.2f}x  {}\n", c.case_name + " / " + c.backend + " / " + c.op,
                       w, guard_name(c.kind), fmt_cost(c.kind, c.baseline), fmt_cost(c.kind, c.now), c.ratio, c.allowed,
                       c.verdict);
  }
  for (const std::string& n : rep.notes) out += "note: " + n + "\n";
  out += rep.regression ? "verdict: REGRESSION\n" : fmt::format("verdict: ok ({} comparisons)\n", rep.rows.size());
  return out;
}

}  // namespace natten::bench
