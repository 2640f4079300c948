#include "natten/bench/work_guard.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <hwy/highway.h>

#if defined(__GLIBC__)
#include <gnu/libc-version.h>
#endif

#include "natten/app/machine.hpp"
#include "natten/core/error.hpp"

namespace natten::bench {
namespace {

std::string key_of(const WorkRow& r) { return r.case_name + " / " + r.backend + " / " + r.op; }

std::int64_t event(const WorkRow& r, const char* name) {
  const auto it = r.events.find(name);
  return it == r.events.end() ? 0 : it->second;
}

bool has_cache_events(const WorkRow& r) { return r.events.count("D1mr") != 0; }

// "12.3 M", "1.23 G": counts at a glance.
std::string si(double v) {
  if (v >= 1e9) return fmt::format("{:.4g} G", v * 1e-9);
  if (v >= 1e6) return fmt::format("{:.4g} M", v * 1e-6);
  if (v >= 1e3) return fmt::format("{:.4g} k", v * 1e-3);
  return fmt::format("{:.4g}", v);
}

}  // namespace

std::vector<std::string> toolchain_differences(const WorkToolchain& b, const WorkToolchain& n) {
  std::vector<std::string> d;
  const auto field = [&](const char* what, const std::string& x, const std::string& y) {
    if (x != y) d.push_back(fmt::format("{} '{}' vs '{}'", what, x, y));
  };
  field("tool", b.tool, n.tool);
  field("tool version", b.tool_version, n.tool_version);
  field("architecture", b.arch, n.arch);
  field("compiler", b.compiler, n.compiler);
  field("flags", b.flags, n.flags);
  field("build type", b.build_type, n.build_type);
  field("Highway", b.highway, n.highway);
  field("C library", b.libc, n.libc);
  field("SIMD target", b.simd_target, n.simd_target);
  field("threads", std::to_string(b.threads), std::to_string(n.threads));
  field("simulated caches", b.cache, n.cache);
  return d;
}

WorkToolchain this_build_toolchain() {
  WorkToolchain t;
#if defined(__x86_64__)
  t.arch = "x86_64";
#elif defined(__aarch64__)
  t.arch = "aarch64";
#else
  t.arch = "other";
#endif
  const app::BuildInfo& b = app::build_info();
  t.compiler = b.compiler;
  t.flags = b.flags;
  t.build_type = b.build_type;
  t.highway = fmt::format("{}.{}.{}", HWY_MAJOR, HWY_MINOR, HWY_PATCH);
#if defined(__GLIBC__)
  t.libc = std::string("glibc ") + gnu_get_libc_version();
#else
  t.libc = "unknown";
#endif
  return t;
}

const std::vector<std::string>& work_metrics() {
  static const std::vector<std::string> m = {"instructions", "d1_misses", "ll_misses", "cycles_estimate"};
  return m;
}

double metric_per_call(const WorkRow& r, const std::string& metric) {
  const double ir = static_cast<double>(event(r, "Ir"));
  const double d1 = static_cast<double>(event(r, "I1mr") + event(r, "D1mr") + event(r, "D1mw"));
  const double ll = static_cast<double>(event(r, "ILmr") + event(r, "DLmr") + event(r, "DLmw"));
  double v = 0;
  if (metric == "instructions") v = ir;
  else if (metric == "d1_misses") v = d1;
  else if (metric == "ll_misses") v = ll;
  else if (metric == "cycles_estimate") v = ir + 10 * d1 + 100 * ll;
  else fail("unknown work metric '{}' (expected instructions, d1_misses, ll_misses or cycles_estimate)", metric);
  return v / std::max(r.calls, 1);
}

Json work_json(const WorkReport& rep) {
  Json j = Json::object();
  j.set("schema", kWorkSchema);
  j.set("created", rep.created);
  j.set("command_line", rep.command_line);
  j.set("cpu_model", rep.cpu_model);
  const WorkToolchain& t = rep.toolchain;
  Json tc = Json::object();
  tc.set("tool", t.tool);
  tc.set("tool_version", t.tool_version);
  tc.set("arch", t.arch);
  tc.set("compiler", t.compiler);
  tc.set("flags", t.flags);
  tc.set("build_type", t.build_type);
  tc.set("highway", t.highway);
  tc.set("libc", t.libc);
  tc.set("simd_target", t.simd_target);
  tc.set("threads", t.threads);
  tc.set("cache", t.cache);
  j.set("toolchain", tc);
  Json rows = Json::array();
  for (const WorkRow& r : rep.rows) {
    Json e = Json::object();
    e.set("case", r.case_name);
    e.set("backend", r.backend);
    e.set("op", r.op);
    e.set("problem_str", r.problem);
    e.set("calls", r.calls);
    Json ev = Json::object();
    for (const auto& [name, n] : r.events) ev.set(name, n);
    e.set("events", ev);
    Json per_call = Json::object();
    for (const std::string& m : work_metrics()) {
      if (m == "instructions" || has_cache_events(r)) per_call.set(m, metric_per_call(r, m));
    }
    e.set("per_call", per_call);
    rows.push(e);
  }
  j.set("results", rows);
  return j;
}

WorkReport parse_work_report(const Json& json, const std::string& path) {
  try {
    if (json.type() != Json::Type::object) fail("expected a JSON object (a natten-bench --count-work report)");
    const std::string& schema = json.at("schema", "report").as_string("schema");
    if (schema != kWorkSchema)
      fail("schema '{}' is not '{}' (a work baseline is written by natten-bench --count-work --save-baseline)", schema,
           kWorkSchema);
    WorkReport rep;
    if (const Json* c = json.find("created")) rep.created = c->as_string("created");
    if (const Json* c = json.find("cpu_model")) rep.cpu_model = c->as_string("cpu_model");
    const Json& tc = json.at("toolchain", "report");
    const auto str = [&](const char* k) { return tc.at(k, "toolchain").as_string(std::string("toolchain.") + k); };
    WorkToolchain& t = rep.toolchain;
    t.tool = str("tool");
    t.tool_version = str("tool_version");
    t.arch = str("arch");
    t.compiler = str("compiler");
    t.flags = str("flags");
    t.build_type = str("build_type");
    t.highway = str("highway");
    t.libc = str("libc");
    t.simd_target = str("simd_target");
    t.threads = static_cast<int>(tc.at("threads", "toolchain").as_number("toolchain.threads"));
    t.cache = str("cache");
    const Json& results = json.at("results", "report");
    if (results.type() != Json::Type::array) fail("results: expected an array");
    std::size_t i = 0;
    for (const Json& r : results.elements()) {
      const std::string what = fmt::format("results[{}]", i++);
      WorkRow row;
      row.case_name = r.at("case", what).as_string(what + ".case");
      row.backend = r.at("backend", what).as_string(what + ".backend");
      row.op = r.at("op", what).as_string(what + ".op");
      row.problem = r.at("problem_str", what).as_string(what + ".problem_str");
      const double calls = r.at("calls", what).as_number(what + ".calls");
      if (!(calls >= 1) || calls != std::floor(calls)) fail("{}.calls: {} is not a positive integer", what, calls);
      row.calls = static_cast<int>(calls);
      const Json& ev = r.at("events", what);
      if (ev.type() != Json::Type::object) fail("{}.events: expected an object", what);
      for (const auto& [name, v] : ev.items()) {
        const double x = v.as_number(what + ".events." + name);
        if (!(x >= 0) || x != std::floor(x)) fail("{}.events.{}: {} is not a count", what, name, x);
        row.events[name] = static_cast<std::int64_t>(x);
      }
      if (row.events.count("Ir") == 0) fail("{}.events: no Ir (instruction) count", what);
      rep.rows.push_back(row);
    }
    return rep;
  } catch (const Error& e) {
    throw Error(fmt::format("work baseline {}: {}", path, e.what()));
  }
}

WorkReport read_work_report(const std::string& path) {
  return parse_work_report(read_json_file(path, "work baseline"), path);
}

WorkGuardResult compare_work(const WorkReport& now, const WorkReport& base, const WorkGuardOptions& opt) {
  const std::vector<std::string> diff = toolchain_differences(base.toolchain, now.toolchain);
  if (!diff.empty()) {
    std::string d;
    for (const std::string& x : diff) d += (d.empty() ? "" : "; ") + x;
    fail("not comparable: the baseline was counted with another toolchain ({}); count a new baseline with this one "
         "(natten-bench --count-work ... --save-baseline FILE)",
         d);
  }
  WorkGuardResult res;
  const auto same_row = [](const WorkRow& a, const WorkRow& b) {
    return a.case_name == b.case_name && a.backend == b.backend && a.op == b.op;
  };
  for (const WorkRow& n : now.rows) {
    const auto it = std::find_if(base.rows.begin(), base.rows.end(), [&](const WorkRow& b) { return same_row(b, n); });
    if (it == base.rows.end()) {
      res.notes.push_back(fmt::format("{}: not in the baseline (new), not compared", key_of(n)));
      continue;
    }
    if (it->problem != n.problem) {
      res.errors.push_back(fmt::format("{}: problem changed ({} -> {}): refresh the baseline", key_of(n), it->problem,
                                       n.problem));
      continue;
    }
    WorkComparison c{n.case_name, n.backend, n.op, {}, metric_per_call(*it, "instructions"),
                     metric_per_call(n, "instructions"), "ok"};
    std::string worse, better;
    for (const std::string& m : work_metrics()) {
      if (m != "instructions" && (!has_cache_events(n) || !has_cache_events(*it))) continue;
      const double b = metric_per_call(*it, m), x = metric_per_call(n, m);
      const double ratio = b > 0 ? x / b : (x > 0 ? INFINITY : 1.0);
      c.ratios.emplace_back(m, ratio);
      if (std::find(opt.gated.begin(), opt.gated.end(), m) == opt.gated.end()) continue;
      if (ratio > 1.0 + opt.max_increase) worse += fmt::format("{}{} {:+.1f}%", worse.empty() ? "" : ", ", m, 100.0 * (ratio - 1.0));
      else if (ratio < 1.0 - opt.max_increase) better += fmt::format("{}{} {:+.1f}%", better.empty() ? "" : ", ", m, 100.0 * (ratio - 1.0));
    }
    if (!worse.empty()) {
      c.verdict = "REGRESSION (" + worse + ")";
      res.regression = true;
    } else if (!better.empty()) {
      c.verdict = "improved (" + better + "): refresh the baseline";
    }
    res.rows.push_back(c);
  }
  for (const WorkRow& b : base.rows) {
    const bool counted = std::any_of(now.rows.begin(), now.rows.end(), [&](const WorkRow& n) { return same_row(b, n); });
    if (counted) continue;
    const std::string msg = fmt::format("{}: in the baseline but not counted in this run", key_of(b));
    (opt.allow_missing ? res.notes : res.errors).push_back(msg + (opt.allow_missing ? "" : " (--allow-missing to accept)"));
  }
  if (res.rows.empty() && res.errors.empty()) res.errors.push_back("nothing was compared: no row of this run is in the baseline");
  return res;
}

std::string work_table(const WorkReport& rep) {
  const WorkToolchain& t = rep.toolchain;
  std::string out = fmt::format("work per call, counted by {} {} ({}, {} thread, {}; {} {})\n", t.tool, t.tool_version,
                                t.simd_target, t.threads, t.cache, t.compiler, t.build_type);
  std::size_t w = 4;
  for (const WorkRow& r : rep.rows) w = std::max(w, key_of(r).size());
  out += fmt::format("{:<{}}  {:>12}  {:>10}  {:>10}\n", "case / backend / op", w, "instructions", "D1 misses", "LL misses");
  for (const WorkRow& r : rep.rows) {
    const bool cache = has_cache_events(r);
    out += fmt::format("{:<{}}  {:>12}  {:>10}  {:>10}\n", key_of(r), w, si(metric_per_call(r, "instructions")),
                       cache ? si(metric_per_call(r, "d1_misses")) : "-", cache ? si(metric_per_call(r, "ll_misses")) : "-");
  }
  return out;
}

std::string work_guard_table(const WorkGuardResult& res, const WorkReport& base, const std::string& path,
                             const WorkGuardOptions& opt) {
  std::string gated;
  for (const std::string& g : opt.gated) gated += (gated.empty() ? "" : ",") + g;
  std::string out = fmt::format("work guard: baseline {} ({}), fails above {:+.1f}% {} per call\n", path,
                                base.created.empty() ? "undated" : base.created, 100.0 * opt.max_increase, gated);
  std::size_t w = 4;
  for (const WorkComparison& c : res.rows) w = std::max(w, c.case_name.size() + c.backend.size() + c.op.size() + 6);
  out += fmt::format("{:<{}}  {:>10}  {:>10}  {:>8}  {:>7}  {:>7}  {}\n", "case / backend / op", w, "baseline", "now",
                     "instr", "D1 miss", "LL miss", "verdict");
  for (const WorkComparison& c : res.rows) {
    const auto ratio = [&](const char* m) {
      for (const auto& [name, r] : c.ratios)
        if (name == m) return fmt::format("{:.3f}x", r);
      return std::string("-");
    };
    out += fmt::format("{:<{}}  {:>10}  {:>10}  {:>8}  {:>7}  {:>7}  {}\n", c.case_name + " / " + c.backend + " / " + c.op,
                       w, si(c.baseline_instructions), si(c.now_instructions), ratio("instructions"), ratio("d1_misses"),
                       ratio("ll_misses"), c.verdict);
  }
  for (const std::string& n : res.notes) out += "note: " + n + "\n";
  for (const std::string& e : res.errors) out += "error: " + e + "\n";
  if (res.regression) out += "verdict: REGRESSION\n";
  else if (!res.errors.empty()) out += "verdict: FAILED (see the errors above)\n";
  else out += fmt::format("verdict: ok ({} rows compared)\n", res.rows.size());
  return out;
}

Json work_guard_json(const WorkGuardResult& res, const std::string& path, const WorkGuardOptions& opt) {
  Json g = Json::object();
  g.set("baseline", path);
  g.set("max_increase", opt.max_increase);
  g.set("gated", json_array(opt.gated));
  Json rows = Json::array();
  for (const WorkComparison& c : res.rows) {
    Json r = Json::object();
    r.set("case", c.case_name);
    r.set("backend", c.backend);
    r.set("op", c.op);
    Json ratios = Json::object();
    for (const auto& [m, x] : c.ratios) ratios.set(m, x);
    r.set("ratios", ratios);
    r.set("verdict", c.verdict);
    rows.push(r);
  }
  g.set("comparisons", rows);
  g.set("notes", json_array(res.notes));
  g.set("errors", json_array(res.errors));
  g.set("verdict", res.regression ? "REGRESSION" : !res.errors.empty() ? "FAILED" : "ok");
  return g;
}

}  // namespace natten::bench
