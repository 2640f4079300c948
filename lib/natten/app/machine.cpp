#include "natten/app/machine.hpp"

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <fmt/format.h>

#if defined(__linux__)
#include <sched.h>
#endif
#if defined(__APPLE__)
#include <sys/sysctl.h>
#endif
#include <sys/utsname.h>
#include <unistd.h>

namespace natten::app {
namespace {

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t");
  const auto e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return trim(line);
}

// The first processor's entry of /proc/cpuinfo (x86 and arm64 name the fields differently).
void read_cpuinfo(MachineInfo& m) {
  std::ifstream in("/proc/cpuinfo");
  std::string line, fallback;
  bool seen = false;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) {
      if (seen) break;  // the end of the first processor's entry
      continue;
    }
    seen = true;
    const std::string key = trim(line.substr(0, colon));
    const std::string value = trim(line.substr(colon + 1));
    if ((key == "Hardware" || key == "CPU part") && fallback.empty()) fallback = key + " " + value;
    if (key == "model name" && !value.empty()) m.cpu_model = value;
    else if (key == "vendor_id" || key == "CPU implementer") m.cpu_vendor = value;
    else if (key == "cpu family" || key == "CPU architecture") m.cpu_family = value;
    else if (key == "model" || key == "CPU part") m.cpu_model_number = value;
    else if (key == "stepping" || key == "CPU variant") m.cpu_stepping = value;
    else if (key == "cpu MHz") m.cpu_mhz = std::atof(value.c_str());
  }
  if (m.cpu_model == "unknown" && !fallback.empty()) m.cpu_model = fallback;
}

void read_caches(MachineInfo& m) {
  for (int i = 0; i < 8; ++i) {
    const std::string dir = fmt::format("/sys/devices/system/cpu/cpu0/cache/index{}/", i);
    const std::string level = first_line(dir + "level");
    if (level.empty()) break;
    m.caches.push_back({std::atoi(level.c_str()), first_line(dir + "type"), first_line(dir + "size")});
  }
}

int usable_cores() {
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
#endif
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace

MachineInfo machine_info() {
  MachineInfo m;
  m.cpu_model = "unknown";
#if defined(__APPLE__)
  char buf[256];
  std::size_t len = sizeof buf;
  if (sysctlbyname("machdep.cpu.brand_string", buf, &len, nullptr, 0) == 0) {
    m.cpu_model = buf;
    m.cpu_vendor = "Apple";
  }
#endif
  read_cpuinfo(m);
  read_caches(m);
  {
    std::ifstream in("/proc/meminfo");
    std::string key;
    double kib = 0;
    while (in >> key >> kib) {
      if (key == "MemTotal:") {
        m.memory_gib = kib / (1024.0 * 1024.0);
        break;
      }
      in.ignore(1 << 20, '\n');
    }
  }
  {
    std::ifstream in("/proc/loadavg");
    in >> m.load_1min >> m.load_5min >> m.load_15min;
    if (!in) m.load_1min = m.load_5min = m.load_15min = -1;
  }
  const std::string gov = first_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
  if (!gov.empty()) m.governor = gov;
  m.logical_cores = static_cast<int>(std::thread::hardware_concurrency());
  m.usable_cores = usable_cores();
  struct utsname u {};
  if (uname(&u) == 0) m.os = std::string(u.sysname) + " " + u.release + " " + u.machine;
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) m.hostname = host;
  return m;
}

std::string version_line(const std::string& tool) {
  const BuildInfo& b = build_info();
  std::string s = fmt::format("{} (natten-tools {}", tool, b.version);
  if (b.git_sha != "unknown") s += ", " + b.git_sha + (b.git_dirty ? " with uncommitted changes" : "");
  return s + fmt::format("; {} {})", b.compiler, b.build_type);
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int resolve_threads(int requested) { return requested > 0 ? requested : usable_cores(); }

Json machine_json(const MachineInfo& m) {
  Json j = Json::object();
  j.set("cpu_model", m.cpu_model);
  j.set("cpu_vendor", m.cpu_vendor);
  j.set("cpu_family", m.cpu_family);
  j.set("cpu_model_number", m.cpu_model_number);
  j.set("cpu_stepping", m.cpu_stepping);
  j.set("cpu_mhz", m.cpu_mhz > 0 ? Json(m.cpu_mhz) : Json());
  Json caches = Json::array();
  for (const CacheInfo& c : m.caches) {
    Json e = Json::object();
    e.set("level", c.level);
    e.set("type", c.type);
    e.set("size", c.size);
    caches.push(e);
  }
  j.set("caches", caches);
  j.set("memory_gib", m.memory_gib > 0 ? Json(m.memory_gib) : Json());
  Json load = Json::array();
  if (m.load_1min >= 0) load.push(m.load_1min), load.push(m.load_5min), load.push(m.load_15min);
  j.set("load_average", load);
  j.set("governor", m.governor);
  j.set("logical_cores", m.logical_cores);
  j.set("usable_cores", m.usable_cores);
  j.set("os", m.os);
  j.set("hostname", m.hostname);
  return j;
}

Json report_header(const std::string& schema, const std::string& tool, const std::string& command_line,
                   const MachineInfo& machine, const std::string& created) {
  const BuildInfo& b = build_info();
  Json j = Json::object();
  j.set("schema", schema);
  j.set("tool", tool);
  j.set("tool_version", b.version);
  j.set("created", created);
  j.set("command_line", command_line);
  j.set("machine", machine_json(machine));
  Json build = Json::object();
  build.set("version", b.version);
  build.set("compiler", b.compiler);
  build.set("flags", b.flags);
  build.set("build_type", b.build_type);
  build.set("git_sha", b.git_sha);
  build.set("git_dirty", b.git_dirty);
  build.set("sanitizers", b.sanitizers);
  j.set("build", build);
  return j;
}

std::string describe_machine(const MachineInfo& m) {
  std::string s = fmt::format("{} ({} usable of {} hardware threads", m.cpu_model, m.usable_cores, m.logical_cores);
  if (m.load_1min >= 0) s += fmt::format(", load {:.1f}", m.load_1min);
  return s + ")";
}

}  // namespace natten::app
