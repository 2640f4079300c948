// What ran the benchmark: the machine and the build, recorded in every JSON report so that numbers
// are never separated from their context.
#pragma once

#include <string>

namespace natten::bench {

struct MachineInfo {
  std::string cpu_model;  // e.g. "AMD EPYC 9R14"; "unknown" when the OS does not say
  int logical_cores = 0;  // hardware threads of the machine
  int usable_cores = 0;   // hardware threads this process may run on (affinity / cgroup cpuset)
  std::string os;         // e.g. "Linux 6.1.0 x86_64"
  std::string hostname;
};

struct BuildInfo {
  std::string version;     // project version
  std::string compiler;    // e.g. "GNU 12.2.0"
  std::string flags;       // CMAKE_CXX_FLAGS + the build type's flags
  std::string build_type;  // e.g. "Release"
  std::string git_sha;     // at configure time; "unknown" outside a git checkout
  bool sanitizers = false;
};

MachineInfo machine_info();
const BuildInfo& build_info();

// The current time, UTC, ISO 8601 ("2026-12-03T15:07:07Z"): every report's `created`.
std::string utc_now();

// Worker threads for `requested` (0 = all usable cores).
int resolve_threads(int requested);

}  // namespace natten::bench
