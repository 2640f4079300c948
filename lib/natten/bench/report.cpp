#include "natten/bench/report.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "natten/app/help_format.hpp"

namespace natten::bench {

std::string_view status_name(Status s) {
  switch (s) {
    case Status::timed: return "timed";
    case Status::unsupported: return "unsupported";
    case Status::failed: return "failed";
  }
  return "?";
}

std::string short_dtype(DType t) {
  switch (t) {
    case DType::f32: return "fp32";
    case DType::f16: return "fp16";
    case DType::bf16: return "bf16";
  }
  return "?";
}

namespace {

template <typename T>
Json axes_json(const Problem& p, const T& v) {
  Json a = Json::array();
  for (int i = 0; i < p.rank(); ++i) a.push(Json(v[static_cast<std::size_t>(i)]));
  return a;
}

Json problem_json(const CaseResult& r) {
  const Problem& p = r.problem;
  Json j = Json::object();
  j.set("op", r.case_op);
  if (!r.op_detail.empty()) j.set("op_detail", r.op_detail);
  j.set("rank", p.rank());
  j.set("input_size", axes_json(p, p.spatial));
  j.set("batch", p.batch);
  j.set("heads", p.heads_q);
  j.set("heads_kv", p.heads_kv);
  j.set("dim", p.dim);
  j.set("dim_v", p.dim_v);
  j.set("window_size", axes_json(p, p.params.kernel));
  j.set("stride", axes_json(p, p.params.stride));
  j.set("dilation", axes_json(p, p.params.dilation));
  j.set("causal", axes_json(p, p.params.causal));
  j.set("dtype", std::string(dtype_name(p.dtype)));  // "float32": one spelling in both apps' JSON
  j.set("add_kv", p.extra_kv);
  j.set("scale", p.scale);
  j.set("seed", r.seed);  // all 64 bits, as an integer (earlier natten-bench/2 reports wrote a string)
  return j;
}

Json optional_number(const std::optional<double>& v) { return v ? Json(*v) : Json(); }

Json time_json(const Summary& s) {
  Json t = Json::object();
  t.set("median", s.median);
  t.set("min", s.min);
  t.set("max", s.max);
  t.set("mean", s.mean);
  t.set("p10", s.p10);
  t.set("p90", s.p90);
  t.set("q1", s.q1);
  t.set("q3", s.q3);
  t.set("iqr", s.iqr);
  t.set("mad", s.mad);
  return t;
}

Json result_json(const CaseResult& r) {
  Json j = Json::object();
  j.set("case", r.case_name);
  j.set("backend", r.backend);
  j.set("op", r.op);
  j.set("status", std::string(status_name(r.status)));
  if (!r.detail.empty()) j.set("detail", r.detail);
  j.set("problem", problem_json(r));
  j.set("problem_str", r.problem_str);
  if (!r.kernel.empty()) j.set("kernel", r.kernel);
  j.set("threads", r.threads);
  j.set("flops", r.flops);
  j.set("bytes", r.bytes);
  Json v = Json::object();
  v.set("status", r.verification.status);
  if (!r.verification.detail.empty()) v.set("detail", r.verification.detail);
  v.set("max_abs_error", r.verification.max_abs_error);
  j.set("verification", v);
  if (r.status != Status::timed) return j;
  j.set("time_s", time_json(r.time));
  j.set("rel_noise", r.time.rel_noise);
  j.set("samples_s", json_array(r.samples));
  j.set("repetition_medians_s", json_array(r.repetition_medians));
  // Device time beside wall time (GPU backends); null when the backend does not report it.
  j.set("device_time_s", r.device_time ? time_json(*r.device_time) : Json());
  j.set("device_rel_noise", r.device_time ? Json(r.device_time->rel_noise) : Json());
  j.set("samples", r.time.count);
  j.set("calls_per_sample", r.batch);
  j.set("warmup_calls", r.warmup_calls);
  j.set("sampling_s", r.sampling_seconds);
  j.set("stop_reason", r.stop_reason);
  j.set("gflops", r.gflops);
  j.set("gbps", r.gbps);
  j.set("peak_gflops", r.peak_gflops);
  j.set("pct_peak", r.pct_peak);
  j.set("reference_median_s", optional_number(r.reference_median));
  j.set("reference_min_s", optional_number(r.reference_min));
  j.set("reference_rel_noise", optional_number(r.reference_rel_noise));
  j.set("speedup_vs_reference", optional_number(r.speedup_vs_reference));
  j.set("warnings", json_array(r.warnings));
  return j;
}

}  // namespace

Json report_json(const RunReport& rep) {
  Json j = app::report_header(kSchema, "natten-bench", rep.command_line, rep.machine, rep.created);
  Json m = app::machine_json(rep.machine);
  m.set("fingerprint", fingerprint_json(rep.fingerprint));
  j.set("machine", m);
  Json peaks = Json::array();
  for (const PeakResult& p : rep.peaks) {
    Json e = Json::object();
    e.set("threads", p.threads);
    e.set("gflops", p.gflops);
    e.set("isa", p.isa);
    e.set("fp32_lanes", p.lanes);
    peaks.push(e);
  }
  j.set("fma_peak", peaks);
  Json pol = Json::object();
  pol.set("warmup_reps", rep.policy.warmup_reps);
  pol.set("warmup_time_s", rep.policy.warmup_time);
  pol.set("min_reps", rep.policy.min_reps);
  pol.set("max_reps", rep.policy.max_reps);
  pol.set("min_time_s", rep.policy.min_time);
  pol.set("max_time_s", rep.policy.max_time);
  pol.set("noise_target", rep.policy.noise_target);
  j.set("timing_policy", pol);
  Json results = Json::array();
  for (const CaseResult& r : rep.results) results.push(result_json(r));
  j.set("results", results);
  return j;
}

std::string format_seconds(double s) {
  if (!std::isfinite(s)) return "-";
  const double a = std::fabs(s);
  if (a >= 1.0) return fmt::format("{:.3g} s", s);
  if (a >= 1e-3) return fmt::format("{:.3g} ms", s * 1e3);
  if (a >= 1e-6) return fmt::format("{:.3g} us", s * 1e6);
  return fmt::format("{:.3g} ns", s * 1e9);
}

std::string axes_str(const Problem& p, const std::array<int, kMaxRank>& v) {
  std::string s;
  for (int a = 0; a < p.rank(); ++a) s += (a ? "x" : "") + std::to_string(v[static_cast<std::size_t>(a)]);
  return s;
}

std::string spatial_str(const Problem& p) {
  std::string s;
  for (int a = 0; a < p.rank(); ++a) s += (a ? "x" : "") + std::to_string(p.spatial[static_cast<std::size_t>(a)]);
  return s;
}

std::string problem_label(const Problem& p) {
  const auto all_one = [&](const std::array<int, kMaxRank>& v) {
    return std::all_of(v.begin(), v.begin() + p.rank(), [](int x) { return x == 1; });
  };
  std::string s = spatial_str(p);
  if (p.params.kernel[0] > 0) s += " k" + axes_str(p, p.params.kernel);  // merge has no window
  if (!all_one(p.params.stride)) s += " s" + axes_str(p, p.params.stride);
  if (!all_one(p.params.dilation)) s += " d" + axes_str(p, p.params.dilation);
  bool any_causal = false;
  std::string causal;
  for (int a = 0; a < p.rank(); ++a) {
    any_causal = any_causal || p.params.causal[static_cast<std::size_t>(a)];
    causal += p.params.causal[static_cast<std::size_t>(a)] ? '1' : '0';
  }
  if (any_causal) s += " causal" + causal;
  if (p.batch != 1) s += fmt::format(" B{}", p.batch);
  s += p.heads_kv == p.heads_q ? fmt::format(" H{}", p.heads_q) : fmt::format(" H{}/{}", p.heads_q, p.heads_kv);
  s += fmt::format(" D{}", p.dim);
  if (p.dim_v != p.dim) s += fmt::format("/{}", p.dim_v);
  s += " " + short_dtype(p.dtype);
  if (p.extra_kv) s += fmt::format(" +kv{}", p.extra_kv);
  return s;
}

namespace {

struct Column {
  std::string title;
  bool right;  // numbers align right
};

const std::vector<Column>& columns() {
  static const std::vector<Column> cols = {
      {"case", false},   {"problem", false}, {"backend", false}, {"op", false},     {"median", true},
      {"min", true},     {"p10..p90", true}, {"noise", true},    {"reps", true},    {"device", true},
      {"GFLOP/s", true},
      {"GB/s", true},    {"% peak", true},   {"vs ref", true},   {"check", false},
  };
  return cols;
}

std::string check_cell(const CaseResult& r) {
  const Verification& v = r.verification;
  if (v.status == "ok") return fmt::format("ok {:.1e}", v.max_abs_error);
  if (v.status == "oracle") return "oracle";
  if (v.status == "failed") return "FAILED";
  return "skipped";
}

std::vector<std::string> row_cells(const CaseResult& r) {
  const std::string label = problem_label(r.problem) + (r.op_detail.empty() ? "" : " " + r.op_detail);
  std::vector<std::string> c = {r.case_name, label, r.backend, r.op};
  if (r.status != Status::timed) {
    const std::string what = r.status == Status::unsupported ? "skip" : "FAILED";
    c.push_back(what + ": " + r.detail);
    return c;
  }
  const Summary& t = r.time;
  c.push_back(format_seconds(t.median));
  c.push_back(format_seconds(t.min));
  c.push_back(format_seconds(t.p10) + ".." + format_seconds(t.p90));
  c.push_back(fmt::format("{:.1f}%{}", 100.0 * t.rel_noise, r.warnings.empty() ? "" : "!"));
  c.push_back(fmt::format("{}", t.count * r.batch));
  c.push_back(r.device_time ? format_seconds(r.device_time->median) : "-");  // median device time
  c.push_back(fmt::format("{:.3g}", r.gflops));
  c.push_back(fmt::format("{:.3g}", r.gbps));  // the figure of merit of memory-bound ops (merge)
  c.push_back(r.peak_gflops > 0 ? fmt::format("{:.1f}%", r.pct_peak) : "-");
  c.push_back(r.speedup_vs_reference ? fmt::format("{:.3g}x", *r.speedup_vs_reference) : "-");
  c.push_back(check_cell(r));
  return c;
}

std::string context_line(const RunReport& rep) {
  std::string s = fmt::format("{} ({} usable of {} hardware threads)", rep.machine.cpu_model, rep.machine.usable_cores,
                              rep.machine.logical_cores);
  for (const PeakResult& p : rep.peaks)
    s += fmt::format("; fp32 FMA peak {:.0f} GFLOP/s on {} thread{} ({})", p.gflops, p.threads, p.threads == 1 ? "" : "s",
                     p.isa);
  s += fmt::format("; {} {} build", rep.build.compiler, rep.build.build_type);
  if (rep.build.git_sha != "unknown") s += " " + rep.build.git_sha;
  if (rep.build.sanitizers) s += " (sanitizers: timings not representative)";
  return s;
}

}  // namespace

namespace {

std::string verbose_table(const RunReport& rep) {
  const auto& cols = columns();
  std::vector<std::vector<std::string>> rows;
  for (const CaseResult& r : rep.results) rows.push_back(row_cells(r));
  std::vector<std::size_t> width(cols.size());
  for (std::size_t i = 0; i < cols.size(); ++i) width[i] = cols[i].title.size();
  for (const auto& row : rows) {
    if (row.size() != cols.size()) continue;  // a message row spans the numeric columns
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i) s += "  ";
      const bool last = i + 1 == cells.size();
      if (cells.size() != cols.size() && last) {
        s += cells[i];
      } else if (cols[i].right) {
        s += fmt::format("{:>{}}", cells[i], width[i]);
      } else {
        s += last ? cells[i] : fmt::format("{:<{}}", cells[i], width[i]);
      }
    }
    return s + "\n";
  };
  std::vector<std::string> head;
  for (const Column& c : cols) head.push_back(c.title);
  std::string out = context_line(rep) + "\n\n" + line(head);
  for (const auto& row : rows) out += line(row);
  bool noisy = false;
  for (const CaseResult& r : rep.results) noisy = noisy || !r.warnings.empty();
  if (noisy) out += "\n! = see warnings on stderr (noise above target or too few repetitions)\n";
  return out;
}

// Lines of `cells` with the given column widths and alignments, two spaces apart.
std::string aligned(const std::vector<std::vector<std::string>>& rows, const std::vector<std::size_t>& width,
                    const std::vector<bool>& right) {
  std::string out;
  for (const auto& cells : rows) {
    std::string line;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i) line += "  ";
      const bool last = i + 1 == cells.size();
      if (last && !right[i]) line += cells[i];
      else line += right[i] ? fmt::format("{:>{}}", cells[i], width[i]) : fmt::format("{:<{}}", cells[i], width[i]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string fit(const std::string& s, std::size_t w) { return s.size() <= w ? s : s.substr(0, w > 1 ? w - 1 : 0) + "~"; }

std::string compact_table(const RunReport& rep, std::size_t width) {
  const std::vector<std::string> head = {"case", "backend", "op", "median", "noise", "GFLOP/s", "% peak", "vs ref", "check"};
  const std::vector<bool> right = {false, false, false, true, true, true, true, true, false};
  std::vector<std::vector<std::string>> rows;
  for (const CaseResult& r : rep.results) {
    std::vector<std::string> c = {r.case_name, r.backend, r.op};
    if (r.status != Status::timed) {
      c.push_back((r.status == Status::unsupported ? "skip: " : "FAILED: ") + r.detail);
    } else {
      c.push_back(format_seconds(r.time.median));
      c.push_back(fmt::format("{:.1f}%{}", 100.0 * r.time.rel_noise, r.warnings.empty() ? "" : "!"));
      c.push_back(fmt::format("{:.3g}", r.gflops));
      c.push_back(r.peak_gflops > 0 ? fmt::format("{:.1f}%", r.pct_peak) : "-");
      c.push_back(r.speedup_vs_reference ? fmt::format("{:.3g}x", *r.speedup_vs_reference) : "-");
      const std::string& v = r.verification.status;
      c.push_back(v == "ok" ? "ok" : v == "failed" ? "FAILED" : v);
    }
    rows.push_back(c);
  }
  std::vector<std::size_t> w(head.size());
  for (std::size_t i = 0; i < head.size(); ++i) w[i] = head[i].size();
  for (const auto& row : rows)
    if (row.size() == head.size())
      for (std::size_t i = 0; i < row.size(); ++i) w[i] = std::max(w[i], row[i].size());
  // Too wide: the case names give way first, then the backend names.
  std::size_t total = 2 * (head.size() - 1);
  for (std::size_t x : w) total += x;
  for (std::size_t col : {0u, 1u}) {
    if (total <= width) break;
    const std::size_t cut = std::min(total - width, w[col] > 8 ? w[col] - 8 : 0);
    w[col] -= cut;
    total -= cut;
  }
  for (auto& row : rows) {
    row[0] = fit(row[0], w[0]);
    row[1] = fit(row[1], w[1]);
    if (row.size() != head.size()) {  // a message spans the numeric columns: cut it at the width
      const std::size_t used = w[0] + w[1] + w[2] + 6;
      row[3] = fit(row[3], width > used + 10 ? width - used : 10);
    }
  }
  std::vector<std::vector<std::string>> all = {head};
  all.insert(all.end(), rows.begin(), rows.end());
  std::string out = app::wrap(context_line(rep), width, 0) + "\n\n" + aligned(all, w, right);
  // The problems, once per case.
  std::vector<std::string> seen;
  std::string problems;
  for (const CaseResult& r : rep.results) {
    if (std::find(seen.begin(), seen.end(), r.case_name) != seen.end()) continue;
    seen.push_back(r.case_name);
    problems += fit(fmt::format("  {}: {}{}", r.case_name, problem_label(r.problem), r.op_detail.empty() ? "" : " " + r.op_detail),
                    width) + "\n";
  }
  out += "\nproblems:\n" + problems;
  bool noisy = false;
  for (const CaseResult& r : rep.results) noisy = noisy || !r.warnings.empty();
  if (noisy) out += "! = see warnings on stderr (noise above target or too few repetitions); -v for every statistic\n";
  return out;
}

}  // namespace

std::string report_table(const RunReport& rep, bool verbose, int width) {
  return verbose ? verbose_table(rep) : compact_table(rep, static_cast<std::size_t>(std::max(width, 60)));
}

std::string report_markdown(const RunReport& rep) {
  const auto& cols = columns();
  std::string out = "<!-- " + context_line(rep) + " -->\n|";
  for (const Column& c : cols) out += " " + c.title + " |";
  out += "\n|";
  for (const Column& c : cols) out += c.right ? " ---: |" : " --- |";
  out += "\n";
  for (const CaseResult& r : rep.results) {
    std::vector<std::string> cells = row_cells(r);
    while (cells.size() < cols.size()) cells.emplace_back();
    out += "|";
    for (std::string& c : cells) {
      std::string esc;
      for (char ch : c) esc += ch == '|' ? std::string("\\|") : std::string(1, ch);
      out += " " + esc + " |";
    }
    out += "\n";
  }
  return out;
}

namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string num(double v) { return std::isfinite(v) ? fmt::format("{}", v) : ""; }
std::string num(const std::optional<double>& v) { return v ? num(*v) : ""; }

}  // namespace

std::string report_csv(const RunReport& rep) {
  std::string out =
      "case,backend,op,status,rank,input_size,batch,heads,heads_kv,dim,dim_v,window_size,stride,dilation,causal,dtype,"
      "add_kv,threads,flops,bytes,median_s,min_s,max_s,mean_s,p10_s,p90_s,q1_s,q3_s,iqr_s,mad_s,rel_noise,samples,"
      "calls_per_sample,device_median_s,device_min_s,gflops,gbps,peak_gflops,pct_peak,speedup_vs_reference,verification,"
      "max_abs_error,detail\n";
  for (const CaseResult& r : rep.results) {
    const Problem& p = r.problem;
    std::string causal;
    for (int a = 0; a < p.rank(); ++a) causal += (a ? "x" : "") + std::string(p.params.causal[static_cast<std::size_t>(a)] ? "1" : "0");
    const bool t = r.status == Status::timed;
    const Summary& s = r.time;
    const auto tn = [&](double v) { return t ? num(v) : std::string(); };
    std::vector<std::string> f = {
        csv_field(r.case_name), r.backend, r.op, std::string(status_name(r.status)), std::to_string(p.rank()),
        spatial_str(p), std::to_string(p.batch), std::to_string(p.heads_q), std::to_string(p.heads_kv),
        std::to_string(p.dim), std::to_string(p.dim_v), axes_str(p, p.params.kernel), axes_str(p, p.params.stride),
        axes_str(p, p.params.dilation), causal, short_dtype(p.dtype), std::to_string(p.extra_kv),
        std::to_string(r.threads), num(r.flops), num(r.bytes), tn(s.median), tn(s.min), tn(s.max), tn(s.mean),
        tn(s.p10), tn(s.p90), tn(s.q1), tn(s.q3), tn(s.iqr), tn(s.mad), tn(s.rel_noise),
        t ? std::to_string(s.count) : "", t ? std::to_string(r.batch) : "",
        r.device_time ? num(r.device_time->median) : "", r.device_time ? num(r.device_time->min) : "", tn(r.gflops),
        tn(r.gbps),
        tn(r.peak_gflops), tn(r.pct_peak), t ? num(r.speedup_vs_reference) : "", r.verification.status,
        num(r.verification.max_abs_error), csv_field(r.detail.empty() ? r.verification.detail : r.detail)};
    std::string line;
    for (std::size_t i = 0; i < f.size(); ++i) line += (i ? "," : "") + f[i];
    out += line + "\n";
  }
  return out;
}

}  // namespace natten::bench
