// What ran the tool: the machine, its state and the build, recorded in every JSON report of both
// apps so that numbers are never separated from their context. Everything is read from the OS
// (/proc, /sys, uname); what the OS does not say is "unknown" (or 0), never guessed.
#pragma once

#include <string>
#include <vector>

#include "natten/io/json.hpp"

namespace natten::app {

struct CacheInfo {
  int level = 0;
  std::string type;  // "Data", "Instruction", "Unified"
  std::string size;  // as the kernel writes it: "48K", "1024K", "32768K"
};

struct MachineInfo {
  std::string cpu_model;  // e.g. "AMD EPYC 9R14"; "unknown" when the OS does not say
  // x86: vendor_id / cpu family / model / stepping; arm64: implementer / architecture / part / variant.
  std::string cpu_vendor = "unknown", cpu_family = "unknown", cpu_model_number = "unknown", cpu_stepping = "unknown";
  double cpu_mhz = 0;     // current clock of CPU 0 as /proc/cpuinfo reports it (0: not reported)
  std::vector<CacheInfo> caches;  // of CPU 0, from /sys/devices/system/cpu/cpu0/cache
  double memory_gib = 0;  // MemTotal
  double load_1min = -1, load_5min = -1, load_15min = -1;  // /proc/loadavg at start (-1: unknown)
  std::string governor = "unknown";  // cpufreq scaling governor of CPU 0 (VMs often have none)
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
  bool git_dirty = false;  // the checkout had uncommitted changes at configure time
  bool sanitizers = false;
};

MachineInfo machine_info();
const BuildInfo& build_info();

// "natten-tools 0.1.0 (4803eab2b920, dirty)" for --version.
std::string version_line(const std::string& tool);

// The current time, UTC, ISO 8601 ("2026-12-03T15:07:07Z"): every report's `created`.
std::string utc_now();

// Worker threads for `requested` (0 = all usable cores).
int resolve_threads(int requested);

// The members every report of both apps starts with: "schema", "tool", "tool_version",
// "created", "command_line", "machine" {...} and "build" {...}.
Json report_header(const std::string& schema, const std::string& tool, const std::string& command_line,
                   const MachineInfo& machine, const std::string& created);
// The machine's members as report_header writes them (natten-bench adds its fingerprint).
Json machine_json(const MachineInfo& m);
// One line for table headers: "AMD EPYC (2 usable of 2 threads, load 1.2)".
std::string describe_machine(const MachineInfo& m);

}  // namespace natten::app
