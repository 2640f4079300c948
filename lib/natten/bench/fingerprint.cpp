#include "natten/bench/fingerprint.hpp"

#include <cstdint>
#include <optional>

#include <fmt/format.h>


#include "natten/backend/cpu/simd_targets.hpp"
#include "natten/app/machine.hpp"
#include "natten/core/error.hpp"

namespace natten::bench {
namespace {

std::optional<Fingerprint>& fake() {
  static std::optional<Fingerprint> f;
  return f;
}

std::uint32_t fnv1a(const std::string& s) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

std::string file_safe(std::string s) {
  for (char& c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_';
    if (!ok) c = '-';
  }
  return s;
}

}  // namespace

bool Fingerprint::operator==(const Fingerprint& o) const {
  return cpu_vendor == o.cpu_vendor && cpu_family == o.cpu_family && cpu_model == o.cpu_model &&
         simd_target == o.simd_target && compiler == o.compiler && flags == o.flags && build_type == o.build_type;
}

void fake_cpu_identity(const std::string& vendor_family_model) {
  const auto a = vendor_family_model.find('/');
  const auto b = a == std::string::npos ? a : vendor_family_model.find('/', a + 1);
  if (b == std::string::npos || vendor_family_model.find('/', b + 1) != std::string::npos)
    fail("--fake-cpu: '{}' is not VENDOR/FAMILY/MODEL", vendor_family_model);
  Fingerprint f;
  f.cpu_vendor = vendor_family_model.substr(0, a);
  f.cpu_family = vendor_family_model.substr(a + 1, b - a - 1);
  f.cpu_model = vendor_family_model.substr(b + 1);
  fake() = f;
}

Fingerprint machine_fingerprint() {
  Fingerprint f;
  if (fake()) {
    f = *fake();
  } else {
    const app::MachineInfo m = app::machine_info();
    f.cpu_vendor = m.cpu_vendor;
    f.cpu_family = m.cpu_family;
    f.cpu_model = m.cpu_vendor == "Apple" ? m.cpu_model : m.cpu_model_number;
  }
  f.simd_target = cpu::simd_target();
  const app::BuildInfo& b = app::build_info();
  f.compiler = b.compiler;
  f.flags = b.flags;
  f.build_type = b.build_type;
  return f;
}

std::string describe(const Fingerprint& f) {
  return fmt::format("{} family {} model {}, {}, {} {} ({})", f.cpu_vendor, f.cpu_family, f.cpu_model, f.simd_target,
                     f.compiler, f.build_type, f.flags);
}

std::vector<std::string> differences(const Fingerprint& base, const Fingerprint& now) {
  std::vector<std::string> d;
  const auto cpu = [](const Fingerprint& f) { return f.cpu_vendor + "/" + f.cpu_family + "/" + f.cpu_model; };
  if (cpu(base) != cpu(now)) d.push_back(fmt::format("cpu {} vs {}", cpu(base), cpu(now)));
  if (base.simd_target != now.simd_target) d.push_back(fmt::format("SIMD target {} vs {}", base.simd_target, now.simd_target));
  if (base.compiler != now.compiler) d.push_back(fmt::format("compiler {} vs {}", base.compiler, now.compiler));
  if (base.build_type != now.build_type) d.push_back(fmt::format("build type {} vs {}", base.build_type, now.build_type));
  if (base.flags != now.flags) d.push_back(fmt::format("flags '{}' vs '{}'", base.flags, now.flags));
  return d;
}

std::string baseline_file_name(const Fingerprint& f) {
  return file_safe(fmt::format("{}-{}-{}-{}-{}-{}-{:08x}.json", f.cpu_vendor, f.cpu_family, f.cpu_model, f.simd_target,
                               f.compiler, f.build_type, fnv1a(f.flags)));
}

Json fingerprint_json(const Fingerprint& f) {
  Json j = Json::object();
  j.set("cpu_vendor", f.cpu_vendor);
  j.set("cpu_family", f.cpu_family);
  j.set("cpu_model", f.cpu_model);
  j.set("simd_target", f.simd_target);
  j.set("compiler", f.compiler);
  j.set("flags", f.flags);
  j.set("build_type", f.build_type);
  return j;
}

Fingerprint parse_fingerprint(const Json& j, const std::string& what) {
  const auto str = [&](const char* k) { return j.at(k, what).as_string(what + "." + k); };
  Fingerprint f;
  f.cpu_vendor = str("cpu_vendor");
  f.cpu_family = str("cpu_family");
  f.cpu_model = str("cpu_model");
  f.simd_target = str("simd_target");
  f.compiler = str("compiler");
  f.flags = str("flags");
  f.build_type = str("build_type");
  return f;
}

}  // namespace natten::bench
