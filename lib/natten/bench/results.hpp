// What one natten-bench run produced: the context (machine, build, yardsticks, policy) and one
// record per (case, backend, op). The report writers and the baseline guard read these.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "natten/bench/fingerprint.hpp"
#include "natten/app/machine.hpp"
#include "natten/bench/peak.hpp"
#include "natten/bench/stats.hpp"
#include "natten/bench/timing.hpp"
#include "natten/core/problem.hpp"

namespace natten::bench {

enum class Status {
  timed,        // verified (or verification skipped) and measured
  unsupported,  // the backend does not run this problem (detail says why)
  failed,       // verification against the reference backend failed (detail says how)
};
std::string_view status_name(Status s);

struct Verification {
  std::string status = "skipped";  // "ok", "failed", "skipped", "oracle" (the reference itself)
  std::string detail;              // worst tensor / why skipped
  double max_abs_error = 0;
};

struct CaseResult {
  std::string case_name;
  std::string backend;
  std::string op;       // "forward"/"backward" (na), else the library's op name ("na_qk_backward", ...)
  std::string case_op = "na";  // the case's op: na, na_qk, na_av, merge, varlen
  std::string op_detail;       // "rpb", "parts 3", "varlen 6x6;4x5" (empty for na)
  Problem problem;             // merge: the parts' shape, no window; varlen: the padded problem
  std::string problem_str;     // one line; the baseline guard's "problem changed" key
  std::uint64_t seed = 0;
  int threads = 1;
  Status status = Status::timed;
  std::string detail;  // why unsupported / failed
  std::string kernel;  // the fused plan that runs: "forward (neighborhood: ...)", "fmha_forward (fast path: ...)"

  double flops = 0;  // exact, see flops.hpp
  double bytes = 0;  // compulsory traffic, see flops.hpp
  Summary time;      // seconds per call (wall clock)
  std::vector<double> samples;  // every sample's seconds per call, in the order measured (all repetitions)
  std::vector<double> device_samples;      // the same samples' device seconds, when known for all
  std::vector<double> repetition_medians;  // one per --repetitions run
  // Device seconds per call (Backend::last_device_seconds(): GPU command-buffer time), when the
  // backend reports it for every timed call.
  std::optional<Summary> device_time;
  int batch = 1;     // calls per sample
  std::int64_t warmup_calls = 0;
  double sampling_seconds = 0;
  std::string stop_reason;

  double gflops = 0;            // flops / median
  double gbps = 0;              // bytes / median, GB/s
  double peak_gflops = 0;       // measured FMA peak at `threads` (0 when not measured)
  double pct_peak = 0;          // 100 * gflops / peak_gflops
  std::optional<double> reference_median;     // same case and op on the reference backend, this run
  std::optional<double> reference_min;
  std::optional<double> reference_rel_noise;
  std::optional<double> speedup_vs_reference;  // reference_median / median
  Verification verification;
  std::vector<std::string> warnings;
};

struct RunReport {
  std::string created;       // UTC, ISO 8601
  std::string command_line;
  app::MachineInfo machine;
  Fingerprint fingerprint;  // what the wall times belong to (guard.hpp)
  app::BuildInfo build;
  std::vector<PeakResult> peaks;
  TimingPolicy policy;
  std::vector<CaseResult> results;
};

}  // namespace natten::bench
