// Counting the work of single calls under valgrind's callgrind: the deterministic half of the
// performance guard (work_guard.hpp).
//
// natten-bench --count-work re-runs itself as
//   valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file=DIR/natten.cg ...
// and the counting process wraps each guarded call in client requests: collection is switched on
// for the call alone and the counters are dumped right after it, with the row's label, into
// DIR/natten.cg.N. Process start-up, input generation, HDF5, the warm-up call and the reporting
// are never counted. Instruction counts of the same binary on the same inputs are the same on
// every x86-64 machine: valgrind presents one synthetic CPU (its CPUID is a fixed Intel model
// whatever the host), so glibc's and Highway's run-time dispatch choose the same code everywhere.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace natten::bench {

// Simulated cache geometry, fixed so that miss counts do not depend on the host (callgrind would
// otherwise read the host's caches): 32 KiB I1 and 48 KiB D1 as on Zen 4/5 cores, and a 1 MiB
// last level standing for one core's L2 (the shared L3 of a VM is not a per-core resource).
struct CacheGeometry {
  std::int64_t i1 = 32768, d1 = 49152, ll = 1048576;
  int i1_ways = 8, d1_ways = 12, ll_ways = 16, line = 64;
};
std::string describe(const CacheGeometry& g);  // "I1 32768,8,64 D1 49152,12,64 LL 1048576,16,64"

// Event name -> count, as callgrind names them (Ir, Dr, Dw, I1mr, D1mr, D1mw, ILmr, DLmr, DLmw).
using EventCounts = std::map<std::string, std::int64_t>;

// True when this process runs under valgrind (any tool); false where the valgrind headers were
// not available at build time.
bool running_under_valgrind();
// True when natten-bench was built with the valgrind client requests (valgrind/callgrind.h).
bool callgrind_requests_built();

// Parses a callgrind output file's "events:" line and its "summary:" (or "totals:") line.
// Throws Error naming `path` when either is missing or malformed.
EventCounts parse_callgrind_file(const std::string& text, const std::string& path);

// Counts calls under callgrind, one dump file per counted call.
class CallgrindCounter {
 public:
  // `out_file`: the --callgrind-out-file given to valgrind; dumps are out_file.1, .2, ...
  explicit CallgrindCounter(std::string out_file) : out_(std::move(out_file)) {}
  // Runs `call` with collection on, dumps, reads the dump back and removes it. Throws Error
  // when the dump is missing (not running under callgrind) or cannot be parsed.
  EventCounts count(const std::function<void()>& call, const std::string& label);

 private:
  std::string out_;
  int dumps_ = 0;
};

}  // namespace natten::bench
