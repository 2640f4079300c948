// natten-bench's output files (--json, --csv, --markdown FILE, --save-baseline, --plot), opened and checked
// together before any work: each must be writable, and no two may write to the same place.
#pragma once

#include <optional>
#include <string>

#include "natten/io/files.hpp"
#include "options.hpp"

namespace natten::bench {

struct Outputs {
  std::optional<OutputFile> json, csv, markdown, baseline, plot;

  // `baseline_path`: where --save-baseline writes (a store directory already resolved to its file).
  Outputs(const Options& o, const std::string& baseline_path) {
    if (!o.json_path.empty()) json.emplace("--json", o.json_path);
    if (!o.csv_path.empty()) csv.emplace("--csv", o.csv_path);
    if (!o.markdown_path.empty()) markdown.emplace("--markdown", o.markdown_path);
    if (!baseline_path.empty()) baseline.emplace("--save-baseline", baseline_path);
    if (!o.plot_path.empty()) plot.emplace("--plot", o.plot_path);
    std::vector<const OutputFile*> all;
    for (const std::optional<OutputFile>* f : {&json, &csv, &markdown, &baseline, &plot})
      if (*f) all.push_back(&**f);
    require_distinct(all);
  }
  bool any_stdout() const {
    for (const std::optional<OutputFile>* f : {&json, &csv, &markdown, &baseline, &plot})
      if (*f && (*f)->is_stdout()) return true;
    return false;
  }
};

}  // namespace natten::bench
