#include "natten/bench/plot.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "natten/bench/report.hpp"

namespace natten::bench {
namespace {

constexpr double kRowHeight = 18, kPlotWidth = 520, kTop = 46, kCharWidth = 7;

std::string xml(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
    }
  }
  return out;
}

// A log-scaled horizontal axis over [lo, hi] (decades, widened to whole ones).
struct LogAxis {
  double lo, hi, x0, width;
  double x(double v) const { return x0 + width * (std::log10(v) - lo) / (hi - lo); }
};

LogAxis log_axis(double lo, double hi, double x0) {
  lo = std::floor(std::log10(lo));
  hi = std::ceil(std::log10(hi));
  if (hi <= lo) hi = lo + 1;
  return {lo, hi, x0, kPlotWidth};
}

std::string header(double width, double height, const std::string& title) {
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0:.0f}\" height=\"{1:.0f}\" viewBox=\"0 0 {0:.0f} {1:.0f}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">{2}</text>\n",
      width, height, xml(title));
}

// Vertical grid lines and labels at the decades (and, for ratio axes, at the ticks given).
std::string grid(const LogAxis& a, double bottom, const std::vector<double>& ticks, const std::string& unit) {
  std::string s;
  for (double t : ticks) {
    const double x = a.x(t);
    s += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.0f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#ddd\"/>\n", x, kTop - 6, bottom);
    const std::string label = unit == "s" ? format_seconds(t) : fmt::format("{:g}x", t);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" fill=\"#555\">{}</text>\n", x, bottom + 14,
                     xml(label));
  }
  return s;
}

const char* backend_colour(std::size_t i) {
  static const char* colours[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948"};
  return colours[i % 6];
}

}  // namespace

std::string run_svg(const RunReport& rep) {
  std::vector<const CaseResult*> rows;
  std::vector<std::string> backends;
  double lo = INFINITY, hi = 0;
  std::size_t label_chars = 10;
  for (const CaseResult& r : rep.results) {
    if (r.status != Status::timed) continue;
    rows.push_back(&r);
    if (std::find(backends.begin(), backends.end(), r.backend) == backends.end()) backends.push_back(r.backend);
    lo = std::min(lo, r.time.p10 > 0 ? r.time.p10 : r.time.median);
    hi = std::max(hi, r.time.p90);
    label_chars = std::max(label_chars, r.case_name.size() + r.op.size() + 3);
  }
  const double x0 = 20 + kCharWidth * static_cast<double>(label_chars);
  const double bottom = kTop + kRowHeight * static_cast<double>(rows.size());
  const double width = x0 + kPlotWidth + 150;
  std::string s = header(width, bottom + 60, "natten-bench: median time per call (bars), p10..p90 (whiskers), % of FMA peak");
  if (rows.empty()) return s + "<text x=\"20\" y=\"60\">no timed results</text>\n</svg>\n";
  const LogAxis a = log_axis(lo, hi, x0);
  std::vector<double> ticks;
  for (double d = a.lo; d <= a.hi; d += 1) ticks.push_back(std::pow(10.0, d));
  s += grid(a, bottom, ticks, "s");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const CaseResult& r = *rows[i];
    const double y = kTop + kRowHeight * static_cast<double>(i);
    const std::size_t b = static_cast<std::size_t>(std::find(backends.begin(), backends.end(), r.backend) - backends.begin());
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", x0 - 6, y + 12,
                     xml(r.case_name + " " + r.op));
    const double xm = a.x(r.time.median);
    s += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"><title>{}</title></rect>\n",
                     x0, y + 2, std::max(1.0, xm - x0), kRowHeight - 4, backend_colour(b),
                     xml(fmt::format("{} {} {}: median {}", r.case_name, r.backend, r.op, format_seconds(r.time.median))));
    if (r.time.p10 > 0 && r.time.p90 > 0)
      s += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"black\"/>\n", a.x(r.time.p10),
                       y + kRowHeight / 2, a.x(r.time.p90), y + kRowHeight / 2);
    if (r.peak_gflops > 0)
      s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" fill=\"#333\">{:.1f}% peak</text>\n", x0 + kPlotWidth + 8, y + 12,
                       r.pct_peak);
  }
  for (std::size_t b = 0; b < backends.size(); ++b)
    s += fmt::format("<rect x=\"{:.1f}\" y=\"28\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{:.1f}\" y=\"37\">{}</text>\n",
                     x0 + 110 * static_cast<double>(b), backend_colour(b), x0 + 110 * static_cast<double>(b) + 14,
                     xml(backends[b]));
  s += fmt::format("<text x=\"20\" y=\"{:.1f}\" fill=\"#555\">{}</text>\n", bottom + 40,
                   xml(rep.machine.cpu_model + ", " + rep.build.compiler + " " + rep.build.build_type + ", " + rep.created));
  return s + "</svg>\n";
}

std::string comparison_svg(const std::vector<ComparedRow>& rows, const std::string& title) {
  double lo = 0.9, hi = 1.1;
  std::size_t label_chars = 10;
  for (const ComparedRow& r : rows) {
    lo = std::min(lo, r.ratio.low);
    hi = std::max(hi, r.ratio.high);
    label_chars = std::max(label_chars, r.label().size());
  }
  lo = std::max(lo, 1e-3);
  const double x0 = 20 + kCharWidth * static_cast<double>(label_chars);
  const double bottom = kTop + kRowHeight * static_cast<double>(rows.size());
  std::string s = header(x0 + kPlotWidth + 240, bottom + 40, title + " (ratio of medians, 95% interval)");
  const LogAxis a{std::log10(lo) - 0.02, std::log10(hi) + 0.02, x0, kPlotWidth};
  std::vector<double> ticks;
  for (double t : {0.1, 0.25, 0.5, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0})
    if (std::log10(t) >= a.lo && std::log10(t) <= a.hi) ticks.push_back(t);
  s += grid(a, bottom, ticks, "x");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const ComparedRow& r = rows[i];
    const double y = kTop + kRowHeight * static_cast<double>(i) + kRowHeight / 2;
    const char* colour = r.verdict == "REGRESSION" ? "#d62728" : r.verdict == "faster" ? "#2ca02c" : "#555";
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", x0 - 6, y + 4, xml(r.label()));
    s += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" stroke-width=\"2\"/>\n",
                     a.x(std::max(r.ratio.low, lo)), y, a.x(r.ratio.high), y, colour);
    s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"{}\"/>\n", a.x(std::max(r.ratio.ratio, lo)), y, colour);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" fill=\"{}\">{:.3f}x {}</text>\n", x0 + kPlotWidth + 8, y + 4, colour,
                     r.ratio.ratio, xml(r.verdict));
  }
  return s + "</svg>\n";
}

}  // namespace natten::bench
