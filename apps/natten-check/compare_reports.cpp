#include "compare_reports.hpp"

#include <cmath>
#include <map>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "natten/app/diagnostics.hpp"
#include "natten/app/machine.hpp"
#include "natten/core/error.hpp"
#include "natten/io/files.hpp"
#include "natten/io/json.hpp"

namespace natten::check {
namespace {

struct Result {
  std::string status;           // pass, fail, error, skip
  double worst_ratio = 0;       // the largest tolerance_ratio of its tensors (0 when none)
  std::string worst_tensor;
};

using Key = std::pair<std::string, std::string>;  // case, backend

double number_or_inf(const Json& j) {
  if (j.type() == Json::Type::string) return j.as_string("") == "nan" ? NAN : INFINITY;  // "nan", "inf"
  return j.as_number("tolerance_ratio");
}

std::map<Key, Result> read(const std::string& path) {
  const Json j = read_json_file(path, "--compare");
  std::map<Key, Result> out;
  try {
    const std::string& schema = j.at("schema", "report").as_string("schema");
    if (schema != "natten-check/2" && schema != "natten-check-report")
      fail("schema '{}' is not a natten-check report ('natten-check/2')", schema);
    std::size_t i = 0;
    for (const Json& r : j.at("results", "report").elements()) {
      const std::string what = fmt::format("results[{}]", i++);
      Result res;
      res.status = r.at("status", what).as_string(what + ".status");
      for (const Json& t : r.at("tensors", what).elements()) {
        const Json* ratio = t.find("tolerance_ratio");  // reports before natten-check/2 have none
        const double x = ratio == nullptr ? 0.0 : number_or_inf(*ratio);
        if (!(x <= res.worst_ratio)) {
          res.worst_ratio = x;
          res.worst_tensor = t.at("name", what).as_string(what + ".name");
        }
      }
      out[{r.at("case", what).as_string(what + ".case"), r.at("backend", what).as_string(what + ".backend")}] = res;
    }
  } catch (const Error& e) {
    throw Error(fmt::format("--compare {}: {}", path, e.what()));
  }
  return out;
}

std::string describe(const Result& r) {
  if (r.worst_tensor.empty()) return r.status;
  return fmt::format("{} ({} {:.3g}x of tolerance)", r.status, r.worst_tensor, r.worst_ratio);
}

}  // namespace

int compare_reports(const CompareOptions& opt, std::FILE* out) {
  std::optional<OutputFile> json;
  if (!opt.json.empty()) json.emplace("--json", opt.json);
  const std::map<Key, Result> a = read(opt.a), b = read(opt.b);
  struct Change {
    Key key;
    std::string before, after, kind;  // kind: "regressed", "fixed", "changed", "closer", "only in A", "only in B"
  };
  std::vector<Change> changes;
  bool regressed = false;
  for (const auto& [key, rb] : b) {
    const auto it = a.find(key);
    if (it == a.end()) {
      changes.push_back({key, "-", describe(rb), "only in B"});
      continue;
    }
    const Result& ra = it->second;
    if (ra.status != rb.status) {
      const bool worse = ra.status == "pass" && (rb.status == "fail" || rb.status == "error");
      regressed = regressed || worse;
      changes.push_back({key, describe(ra), describe(rb), worse ? "REGRESSED" : rb.status == "pass" ? "fixed" : "changed"});
    } else if (rb.status == "pass" && rb.worst_ratio > 2 * ra.worst_ratio && rb.worst_ratio > 0.1) {
      changes.push_back({key, describe(ra), describe(rb), "closer to tolerance"});
    }
  }
  for (const auto& [key, ra] : a)
    if (b.find(key) == b.end()) changes.push_back({key, describe(ra), "-", "only in A"});

  fmt::print(out, "natten-check --compare: A {} vs B {}: {} results in A, {} in B\n", app::printable(opt.a),
             app::printable(opt.b), a.size(), b.size());
  for (const Change& c : changes)
    fmt::print(out, "  {:<20} {} on {}: {} -> {}\n", c.kind, app::printable(c.key.first), c.key.second,
               app::printable(c.before), app::printable(c.after));
  if (changes.empty()) fmt::print(out, "  no result changed verdict\n");
  fmt::print(out, "result: {} (exit {})\n", regressed ? "REGRESSION" : "ok", regressed ? 1 : 0);
  if (json) {
    Json j = app::report_header("natten-check-compare/1", "natten-check", opt.command_line, app::machine_info(),
                                app::utc_now());
    j.set("a", opt.a);
    j.set("b", opt.b);
    Json rows = Json::array();
    for (const Change& c : changes) {
      Json e = Json::object();
      e.set("case", c.key.first);
      e.set("backend", c.key.second);
      e.set("kind", c.kind);
      e.set("a", c.before);
      e.set("b", c.after);
      rows.push(e);
    }
    j.set("changes", rows);
    j.set("verdict", regressed ? "REGRESSION" : "ok");
    json->write(j.dump() + "\n");
  }
  return regressed ? 1 : 0;
}

}  // namespace natten::check
