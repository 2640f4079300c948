#include "emulated_executor.hpp"

#include <cstring>
#include <map>
#include <stdexcept>
#include <vector>

namespace natten::metal::emulation {

namespace {

constexpr std::size_t kGuard = 64;
constexpr unsigned char kGuardByte = 0xA5;

std::set<std::string>& launched() {
  static std::set<std::string> s;
  return s;
}

// A buffer with guard bytes on both sides.
struct Guarded {
  std::vector<unsigned char> bytes;
  std::size_t size = 0;
  explicit Guarded(std::size_t n) : bytes(n + 2 * kGuard, kGuardByte), size(n) {}
  unsigned char* data() { return bytes.data() + kGuard; }
  bool intact() const {
    for (std::size_t i = 0; i < kGuard; ++i) {
      if (bytes[i] != kGuardByte || bytes[kGuard + size + i] != kGuardByte) return false;
    }
    return true;
  }
};

}  // namespace

const std::set<std::string>& launched_kernels() { return launched(); }

std::string EmulatedExecutor::device_name() const {
  return std::string("CPU shader emulation (") + natten_emu::order_name(order_) + " thread order)";
}

void check_plan_shape(const LaunchPlan& plan) {
  std::set<int> used;
  auto claim = [&](int index, const std::string& what) {
    if (index < 0 || index >= natten_emu::kMaxBuffers) {
      throw std::runtime_error(plan.kernel + ": " + what + " at buffer index " + std::to_string(index) + " out of range");
    }
    if (!used.insert(index).second) {
      throw std::runtime_error(plan.kernel + ": buffer index " + std::to_string(index) + " bound twice");
    }
  };
  for (const Binding& b : plan.buffers) claim(b.index, b.param);
  claim(plan.args_index, "args");
  for (std::size_t bytes : plan.threadgroup_memory) {
    if (bytes % 16 != 0) throw std::runtime_error(plan.kernel + ": threadgroup memory not a multiple of 16 bytes");
  }
}

void EmulatedExecutor::execute(const LaunchSequence& seq, const BufferTable& buffers) {
  std::map<Role, Guarded> device;
  for (const auto& [role, host] : buffers) {
    Guarded g(host.bytes);
    if (host.written) {
      std::memset(g.data(), 0xFF, host.bytes);  // poison: every element must be written
    } else if (host.bytes > 0) {
      std::memcpy(g.data(), host.data, host.bytes);
    }
    device.emplace(role, std::move(g));
  }
  for (const Scratch& s : seq.scratch) {
    Guarded g(s.bytes);
    std::memset(g.data(), 0xFF, s.bytes);
    device.emplace(s.role, std::move(g));
  }
  for (const LaunchPlan& plan : seq.launches) {
    check_plan_shape(plan);
    natten_emu::Dispatch d;
    d.kernel = plan.kernel;
    d.entry = natten_emu::find_kernel(plan.kernel);
    if (d.entry == nullptr) throw std::runtime_error("no emulated kernel named " + plan.kernel);
    for (const Binding& b : plan.buffers) {
      auto it = device.find(b.role);
      if (it == device.end()) throw std::runtime_error(plan.kernel + ": no buffer for role " + role_name(b.role));
      d.buffers[b.index] = it->second.data();
    }
    std::vector<std::uint32_t> args((plan.args.size() + 3) / 4);  // 4-byte aligned, as setBytes
    std::memcpy(args.data(), plan.args.data(), plan.args.size());
    d.buffers[plan.args_index] = args.data();
    d.threadgroup_bytes = plan.threadgroup_memory;
    for (int i = 0; i < 3; ++i) {
      d.threadgroups[i] = plan.threadgroups[static_cast<std::size_t>(i)];
      d.threads[i] = plan.threads[static_cast<std::size_t>(i)];
    }
    d.order = order_;
    d.seed = seed_++;
    natten_emu::run(d);
    launched().insert(plan.kernel);
  }
  for (auto& [role, g] : device) {
    if (!g.intact()) throw std::runtime_error(std::string("out-of-bounds write around buffer ") + role_name(role));
  }
  for (const auto& [role, host] : buffers) {
    if (host.written && host.bytes > 0) std::memcpy(host.data, device.at(role).data(), host.bytes);
  }
}

std::unique_ptr<MetalBackend> make_emulated_backend(natten_emu::ThreadOrder order, std::uint64_t seed,
                                                    PlanOptions options) {
  return std::make_unique<MetalBackend>(std::make_unique<EmulatedExecutor>(order, seed), options);
}

}  // namespace natten::metal::emulation
