// One case's op, set up once and shared by every backend timed on it: the problem validated, the
// inputs generated, the reference results computed on first need. For each direction it gives
// what a result row needs: the row's op name, exact FLOPs and bytes (natten/bench/flops.hpp),
// what runs on a backend or why it cannot, a verification against the reference backend, and the
// timed call with every output allocated and every untimed prerequisite (the forward a backward
// consumes) done beforehand.
//
// Each op family's entry in the op table (op_table.hpp) makes its own (make_workload). Row op names: "forward"/"backward" for na (as before,
// so baselines keep matching), otherwise the library's op_name(): "na_qk", "na_qk_backward",
// "na_av", "na_av_backward", "merge", "merge_backward", "varlen_forward", "varlen_backward".
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "natten/backend.hpp"
#include "natten/bench/results.hpp"
#include "natten/config/case_spec.hpp"

namespace natten::bench {

class Workload {
 public:
  virtual ~Workload() = default;

  // The problem recorded in reports (for merge: the parts' shape, no window; for varlen: padded)
  // and its one-line description (the baseline guard's key for "the problem changed").
  virtual const Problem& problem() const = 0;
  virtual std::string problem_str() const = 0;
  // Op-specific settings for tables ("rpb", "parts 3", "varlen 6x6;4x5"); empty for na.
  virtual std::string op_detail() const { return {}; }

  virtual Op op(bool backward) const = 0;  // the Backend op that is timed for this direction
  virtual std::string row_op(bool backward) const { return std::string(op_name(op(backward))); }
  virtual double flops(bool backward) const = 0;
  virtual double bytes(bool backward) const = 0;
  // GFLOP the reference backend spends to verify both directions (for --verify-max-gflop).
  virtual double verify_gflop(bool with_backward) const = 0;

  // What runs on `b` ("forward (neighborhood: ...)", "na_qk (rpb)"), and why it cannot ("" = it can).
  virtual std::string kernel(const Backend& b, bool backward) const = 0;
  virtual std::string unsupported(const Backend& b, bool backward) const = 0;
  // `b`'s results against the reference backend's on the same inputs; backend errors fail it.
  virtual Verification verify(Backend& b, bool backward) = 0;
  // Untimed setup on `b`; returns the call to time: exactly one backend op call (no checks, no
  // allocation, no synchronization: the runner adds that).
  virtual std::function<void()> prepare(Backend& b, bool backward) = 0;
};

}  // namespace natten::bench
