// Which machine and build a wall-time figure belongs to. A time measured on one CPU generation
// says nothing about another (a Zen 5 core issues twice the FMAs of a Zen 4 core), so stored
// wall-time baselines are keyed by this fingerprint and compared only on a machine that has the
// same one; anything else is "no baseline for this machine", never a regression.
//
// The thread count is part of each result row (a case may set its own), so the guard matches it
// per row rather than here.
#pragma once

#include <string>
#include <vector>

#include "natten/io/json.hpp"

namespace natten::bench {

struct Fingerprint {
  // CPU identity as the OS reports it: x86 vendor_id / cpu family / model from /proc/cpuinfo,
  // arm64 implementer / architecture / part, macOS the brand string. "unknown" when not readable.
  std::string cpu_vendor = "unknown", cpu_family = "unknown", cpu_model = "unknown";
  std::string simd_target;  // what the cpu backend's kernels dispatch to ("AVX3", "AVX2", "NEON")
  std::string compiler, flags, build_type;

  bool operator==(const Fingerprint& o) const;
  bool operator!=(const Fingerprint& o) const { return !(*this == o); }
};

// This process's fingerprint (the SIMD target as currently dispatched, so after --simd).
Fingerprint machine_fingerprint();

// Test hook (natten-bench's hidden --fake-cpu): report "VENDOR/FAMILY/MODEL" instead of the real
// CPU, so a test can prove that a baseline from another machine is never compared.
void fake_cpu_identity(const std::string& vendor_family_model);

// "AuthenticAMD family 26 model 2, AVX3, GNU 12.2.0 Release (-O3 -DNDEBUG)".
std::string describe(const Fingerprint& f);
// The fields that differ, one phrase each: "cpu AuthenticAMD/25/17 vs AuthenticAMD/26/2".
std::vector<std::string> differences(const Fingerprint& baseline, const Fingerprint& now);
// A file name for a baseline store: "AuthenticAMD-26-2-AVX3-GNU-12.2.0-Release.json".
std::string baseline_file_name(const Fingerprint& f);

Json fingerprint_json(const Fingerprint& f);
// Throws Error naming `what` and the bad member.
Fingerprint parse_fingerprint(const Json& j, const std::string& what);

}  // namespace natten::bench
