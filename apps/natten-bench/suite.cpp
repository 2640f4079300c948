#include "suite.hpp"

#include <algorithm>


#include "natten/app/case_globs.hpp"
#include "natten/backend.hpp"
#include "natten/core/error.hpp"

namespace natten::bench {

std::vector<config::CaseDef> standard_suite(std::optional<int> rank) {
  struct Shape {
    int rank;
    const char* name;
    const char* input_size;
    bool causal;
  };
  static const Shape shapes[] = {
      {1, "1d-256", "256", false},         {1, "1d-1024", "1024", false},
      {2, "2d-32x32", "32,32", false},     {2, "2d-64x64", "64,64", false},
      {2, "2d-32x32-causal", "32,32", true}, {3, "3d-16x16x16", "16,16,16", false},
  };
  const std::string origin = "standard suite";
  std::vector<config::CaseDef> out;
  for (const Shape& s : shapes) {
    if (rank && *rank != s.rank) continue;
    config::CaseDef c{s.name, origin, {}};
    config::set_key(c.settings, "input_size", s.input_size, origin);
    config::set_key(c.settings, "window_size", "7", origin);
    config::set_key(c.settings, "batch", "1", origin);
    config::set_key(c.settings, "heads", "4", origin);
    config::set_key(c.settings, "dim", "32", origin);
    if (s.causal) config::set_key(c.settings, "causal", "true", origin);
    // Like [defaults]: an op without a window (merge) ignores the suite's window.
    config::mark_inherited(c.settings);
    out.push_back(c);
  }
  return out;
}

std::vector<config::ResolvedCase> assemble_cases(const Options& o) {
  std::vector<config::CaseDef> defs;
  const bool from_config = !o.config_path.empty();
  if (from_config) {
    defs = config::read_cases(o.config_path);
  } else if (o.overrides.input_size || o.overrides.varlen_sizes) {
    defs.push_back({"cli", "command line", {}});
    if (o.rank) config::set_key(defs.back().settings, "rank", std::to_string(*o.rank), "--rank");
  } else {
    defs = standard_suite(o.rank);
  }
  std::vector<std::string> names;
  for (const config::CaseDef& d : defs) names.push_back(d.name);
  app::select_cases(names, o.case_globs);  // a glob that matches nothing is an error, even beside others
  std::vector<config::ResolvedCase> out;
  for (config::CaseDef& d : defs) {
    config::merge_settings(d.settings, o.overrides);
    if (!app::matches_any(d.name, o.case_globs)) continue;
    config::ResolvedCase rc = config::resolve_case(d);
    if (from_config && o.rank && rc.spec.params.rank != *o.rank) continue;
    out.push_back(rc);
  }
  if (out.empty()) fail("no case left to run (check --rank and --case against the case list)");
  return out;
}

std::string default_backend() {
  const std::vector<std::string> avail = available_backends();
  return std::find(avail.begin(), avail.end(), "cpu") != avail.end() ? "cpu" : "reference";
}

std::vector<std::string> case_backends(const config::ResolvedCase& c,
                                       const std::function<void(const std::string&)>& check) {
  std::vector<std::string> names;
  for (const std::string& n : c.backends) {
    if (n == "all") {
      for (const std::string& a : available_backends()) {
        if (std::find(names.begin(), names.end(), a) == names.end()) names.push_back(a);
      }
    } else if (std::find(names.begin(), names.end(), n) == names.end()) {
      names.push_back(n);
    }
  }
  if (names.empty()) names.push_back(default_backend());
  for (const std::string& n : names) check(n);
  return names;
}

}  // namespace natten::bench
