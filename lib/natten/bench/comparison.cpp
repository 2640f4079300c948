#include "natten/bench/comparison.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "natten/bench/report.hpp"
#include "natten/bench/stats.hpp"
#include "natten/core/error.hpp"

namespace natten::bench {
namespace {

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return quantile_sorted(v, 0.5);
}

}  // namespace

bool decide(std::vector<ComparedRow>& rows, const ComparisonOptions& opt) {
  std::vector<double> ps, pf;
  for (ComparedRow& r : rows) {
    r.ratio = ratio_of_medians(r.base, r.now, 0.95, 2000, opt.seed, opt.paired);
    if (opt.paired) {
      // Pair k ran under the same load: the log ratio cancels it.
      std::vector<double> up, down;
      for (std::size_t k = 0; k < r.base.size(); ++k) {
        up.push_back(std::log(r.now[k] / r.base[k]));
        down.push_back(-up.back());
      }
      r.p_slower = wilcoxon_signed_rank_greater(up);
      r.p_faster = wilcoxon_signed_rank_greater(down);
    } else {
      r.p_slower = mann_whitney_greater(r.base, r.now);
      r.p_faster = mann_whitney_greater(r.now, r.base);
    }
    ps.push_back(r.p_slower);
    pf.push_back(r.p_faster);
  }
  const std::vector<double> adj_s = holm_adjust(ps), adj_f = holm_adjust(pf);
  bool regression = false;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    ComparedRow& r = rows[i];
    r.p_slower_holm = adj_s[i];
    r.p_faster_holm = adj_f[i];
    const bool slower = r.p_slower_holm < opt.alpha, faster = r.p_faster_holm < opt.alpha;
    if (slower && r.ratio.ratio > 1 + opt.min_slowdown) r.verdict = "REGRESSION";
    else if (faster && r.ratio.ratio < 1 / (1 + opt.min_slowdown)) r.verdict = "faster";
    else if (slower) r.verdict = fmt::format("slower (within {:.0f}%)", 100 * opt.min_slowdown);
    else if (faster) r.verdict = fmt::format("faster (within {:.0f}%)", 100 * opt.min_slowdown);
    else r.verdict = "ok";
    regression = regression || r.verdict == "REGRESSION";
  }
  return regression;
}

std::string comparison_table(const std::vector<ComparedRow>& rows, const std::vector<std::string>& notes, bool regression) {
  std::size_t w = 19;
  for (const ComparedRow& r : rows) w = std::max(w, r.label().size());
  std::string text = fmt::format("{:<{}}  {:>9}  {:>9}  {:>7}  {:>15}  {:>8}  {}\n", "case / backend / op", w, "base", "new",
                                 "ratio", "95% interval", "p (Holm)", "verdict");
  for (const ComparedRow& r : rows) {
    const double p = r.ratio.ratio >= 1 ? r.p_slower_holm : r.p_faster_holm;
    text += fmt::format("{:<{}}  {:>9}  {:>9}  {:>6.3f}x  {:>15}  {:>8.2g}  {}\n", r.label(), w,
                        format_seconds(median_of(r.base)), format_seconds(median_of(r.now)), r.ratio.ratio,
                        fmt::format("[{:.3f}, {:.3f}]", r.ratio.low, r.ratio.high), p, r.verdict);
  }
  for (const std::string& n : notes) text += "note: " + n + "\n";
  text += regression ? "verdict: REGRESSION\n" : fmt::format("verdict: ok ({} rows compared)\n", rows.size());
  return text;
}

void add_comparison(Json& report, const std::vector<ComparedRow>& rows, const std::vector<std::string>& notes,
                    bool regression, const ComparisonOptions& opt) {
  report.set("min_slowdown", opt.min_slowdown);
  report.set("alpha", opt.alpha);
  report.set("paired", opt.paired);
  Json out = Json::array();
  for (const ComparedRow& r : rows) {
    Json e = Json::object();
    e.set("case", r.case_name);
    e.set("backend", r.backend);
    e.set("op", r.op);
    e.set("base_s", json_array(r.base));
    e.set("new_s", json_array(r.now));
    e.set("ratio", r.ratio.ratio);
    e.set("ratio_low", r.ratio.low);
    e.set("ratio_high", r.ratio.high);
    e.set("p_slower", r.p_slower);
    e.set("p_slower_holm", r.p_slower_holm);
    e.set("p_faster", r.p_faster);
    e.set("p_faster_holm", r.p_faster_holm);
    e.set("verdict", r.verdict);
    out.push(e);
  }
  report.set("results", out);
  report.set("notes", json_array(notes));
  report.set("verdict", regression ? "REGRESSION" : "ok");
}

}  // namespace natten::bench
