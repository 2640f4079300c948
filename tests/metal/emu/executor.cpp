#include "executor.hpp"

#include <ucontext.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <numeric>
#include <random>

#if defined(__SANITIZE_ADDRESS__)
#define NATTEN_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NATTEN_EMU_ASAN 1
#endif
#endif
#ifdef NATTEN_EMU_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

// Context switching. On x86-64 a few instructions save the callee-saved registers and swap stacks;
// glibc's swapcontext also saves the signal mask with a system call per switch, which made the
// emulation several times slower. Other platforms use ucontext.
#if defined(__x86_64__) && defined(__linux__)
#define NATTEN_EMU_FAST_SWITCH 1
extern "C" void natten_emu_switch(void** save_sp, void* load_sp);
asm(R"(
  .text
  .globl natten_emu_switch
  .type natten_emu_switch, @function
natten_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size natten_emu_switch, .-natten_emu_switch
  .section .note.GNU-stack,"",@progbits
  .text
)");
#endif

namespace natten_emu {

namespace {

struct Context {
#ifdef NATTEN_EMU_FAST_SWITCH
  void* sp = nullptr;
#else
  ucontext_t uc{};
#endif
};

void switch_context(Context& from, Context& to) {
#ifdef NATTEN_EMU_FAST_SWITCH
  natten_emu_switch(&from.sp, to.sp);
#else
  swapcontext(&from.uc, &to.uc);
#endif
}

// Prepares `c` to start running entry() (which must never return) on the given stack.
void make_context(Context& c, char* stack, std::size_t bytes, void (*entry)()) {
#ifdef NATTEN_EMU_FAST_SWITCH
  auto top = reinterpret_cast<std::uintptr_t>(stack + bytes) & ~std::uintptr_t{15};
  auto* sp = reinterpret_cast<void**>(top);
  *--sp = nullptr;                              // entry's (never used) return address
  *--sp = reinterpret_cast<void*>(entry);       // popped by `ret` in natten_emu_switch
  for (int i = 0; i < 6; ++i) *--sp = nullptr;  // rbp rbx r12-r15
  c.sp = sp;
#else
  getcontext(&c.uc);
  c.uc.uc_stack.ss_sp = stack;
  c.uc.uc_stack.ss_size = bytes;
  c.uc.uc_link = nullptr;
  makecontext(&c.uc, entry, 0);
#endif
}

}  // namespace

const char* order_name(ThreadOrder o) {
  switch (o) {
    case ThreadOrder::forward: return "forward";
    case ThreadOrder::reverse: return "reverse";
    case ThreadOrder::shuffled: return "shuffled";
  }
  return "?";
}

namespace {

// Fiber stacks are large enough for the shader functions plus sanitizer frames of the runtime.
constexpr std::size_t kStackBytes = 256 * 1024;

enum class State { runnable, at_barrier, in_collective, done };

struct Site {
  const char* file = nullptr;
  int line = 0;
  const char* op = nullptr;
  std::size_t size = 0;
  bool operator==(const Site& o) const {
    return line == o.line && size == o.size && std::strcmp(file, o.file) == 0 &&
           (op == o.op || (op != nullptr && o.op != nullptr && std::strcmp(op, o.op) == 0));
  }
};

std::string where(const Site& s) { return std::string(s.file ? s.file : "?") + ":" + std::to_string(s.line); }

struct Fiber {
  Context context;
  std::unique_ptr<char[]> stack;
  State state = State::done;
  Site site;
  Invocation inv{};
  void* fake_stack = nullptr;  // ASan bookkeeping while switched out
  unsigned collectives = 0;    // collectives this thread has entered (selects the slot buffer)
};

// Collective slots of one simdgroup: kSimdWidth lanes of up to 64 bytes each, double-buffered by
// the parity of the collective's sequence number. A lane can only write the buffer of collective
// n + 2 after every lane has arrived at collective n + 1, i.e. after all of them read collective
// n's values, so one scheduling point per collective suffices.
constexpr std::size_t kSlotBytes = 64;
constexpr std::size_t kSlotBuffers = 2;

struct Scheduler {
  const Dispatch* dispatch = nullptr;
  std::vector<Fiber> fibers;
  std::vector<unsigned char> slots;  // [simdgroup][buffer][lane][kSlotBytes]
  Context main_context;
  Fiber* running = nullptr;
  const void* main_stack_bottom = nullptr;
  std::size_t main_stack_size = 0;
  void* main_fake_stack = nullptr;
};

thread_local Scheduler* g_scheduler = nullptr;

[[noreturn]] void fail_dispatch(const Scheduler& s, const std::string& what) {
  const Invocation& first = s.fibers.front().inv;
  throw DispatchError(s.dispatch->kernel + " threadgroup (" + std::to_string(first.threadgroup_position[0]) + "," +
                      std::to_string(first.threadgroup_position[1]) + "," +
                      std::to_string(first.threadgroup_position[2]) + "), " + order_name(s.dispatch->order) +
                      " order: " + what);
}

// Switches from the running fiber back to the scheduler.
void yield_to_scheduler(bool dying) {
  Scheduler& s = *g_scheduler;
  Fiber& f = *s.running;
#ifdef NATTEN_EMU_ASAN
  __sanitizer_start_switch_fiber(dying ? nullptr : &f.fake_stack, s.main_stack_bottom, s.main_stack_size);
#else
  (void)dying;
#endif
  switch_context(f.context, s.main_context);
#ifdef NATTEN_EMU_ASAN
  __sanitizer_finish_switch_fiber(f.fake_stack, &s.main_stack_bottom, &s.main_stack_size);
#endif
}

void fiber_main() {
  Scheduler& s = *g_scheduler;
#ifdef NATTEN_EMU_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &s.main_stack_bottom, &s.main_stack_size);
#endif
  Fiber& f = *s.running;
  s.dispatch->entry(f.inv);
  f.state = State::done;
  yield_to_scheduler(true);
}

void resume(Scheduler& s, Fiber& f) {
  s.running = &f;
#ifdef NATTEN_EMU_ASAN
  __sanitizer_start_switch_fiber(&s.main_fake_stack, f.stack.get(), kStackBytes);
#endif
  switch_context(s.main_context, f.context);
#ifdef NATTEN_EMU_ASAN
  __sanitizer_finish_switch_fiber(s.main_fake_stack, nullptr, nullptr);
#endif
  s.running = nullptr;
}

Fiber& current_fiber() {
  if (g_scheduler == nullptr || g_scheduler->running == nullptr) {
    throw DispatchError("emulated MSL builtin called outside a kernel dispatch");
  }
  return *g_scheduler->running;
}

std::string thread_name(const Fiber& f) {
  return "thread " + std::to_string(f.inv.thread_index) + " (simdgroup " + std::to_string(f.inv.simdgroup) + ", lane " +
         std::to_string(f.inv.simd_lane) + ")";
}

// Called when no fiber can run: releases a complete collective or barrier, or reports why not.
// Returns false when every fiber is done.
bool release_blocked(Scheduler& s) {
  bool any_waiting = false;
  for (const Fiber& f : s.fibers) any_waiting = any_waiting || f.state != State::done;
  if (!any_waiting) return false;

  // Collectives, one simdgroup at a time.
  bool released = false;
  const std::size_t n = s.fibers.size();
  for (std::size_t first = 0; first < n; first += kSimdWidth) {
    const std::size_t last = std::min(n, first + kSimdWidth);
    const Fiber* collective = nullptr;
    for (std::size_t i = first; i < last; ++i) {
      if (s.fibers[i].state == State::in_collective) {
        collective = &s.fibers[i];
        break;
      }
    }
    if (collective == nullptr) continue;
    for (std::size_t i = first; i < last; ++i) {
      const Fiber& f = s.fibers[i];
      if (f.state != State::in_collective || !(f.site == collective->site) || f.collectives != collective->collectives) {
        const std::string other = f.state == State::done         ? "has finished"
                                  : f.state == State::at_barrier ? "waits at a barrier at " + where(f.site)
                                                                 : "is at " + std::string(f.site.op) + " at " + where(f.site);
        fail_dispatch(s, std::string("collective ") + collective->site.op + " at " + where(collective->site) +
                             " in divergent control flow: " + thread_name(*collective) + " is there but " +
                             thread_name(f) + " " + other);
      }
    }
    for (std::size_t i = first; i < last; ++i) s.fibers[i].state = State::runnable;
    released = true;
  }
  if (released) return true;

  // Otherwise every unfinished thread must wait at the same barrier.
  const Fiber* waiting = nullptr;
  for (const Fiber& f : s.fibers) {
    if (f.state == State::at_barrier) {
      waiting = &f;
      break;
    }
  }
  for (const Fiber& f : s.fibers) {
    if (f.state == State::done) {
      fail_dispatch(s, "barrier divergence: " + thread_name(*waiting) + " waits at the barrier at " +
                           where(waiting->site) + " but " + thread_name(f) + " has finished");
    }
    if (!(f.site == waiting->site)) {
      fail_dispatch(s, "barrier divergence: " + thread_name(*waiting) + " waits at " + where(waiting->site) + " but " +
                           thread_name(f) + " at " + where(f.site));
    }
  }
  for (Fiber& f : s.fibers) f.state = State::runnable;
  return true;
}

std::vector<std::size_t> ordering(std::size_t n, ThreadOrder order, std::mt19937_64& rng) {
  std::vector<std::size_t> idx(n);
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  if (order == ThreadOrder::reverse) std::reverse(idx.begin(), idx.end());
  if (order == ThreadOrder::shuffled) std::shuffle(idx.begin(), idx.end(), rng);
  return idx;
}

}  // namespace

void barrier(const char* file, int line) {
  Fiber& f = current_fiber();
  f.site = Site{file, line, nullptr, 0};
  f.state = State::at_barrier;
  yield_to_scheduler(false);
}

const void* collective_enter(const void* value, std::size_t size, const char* op, const char* file, int line,
                             unsigned* lanes) {
  Fiber& f = current_fiber();
  Scheduler& s = *g_scheduler;
  if (size > kSlotBytes) throw DispatchError(std::string(op) + ": value too large for the emulator");
  const std::size_t buffer = std::size_t{f.inv.simdgroup} * kSlotBuffers + (f.collectives++ % kSlotBuffers);
  unsigned char* group = s.slots.data() + buffer * kSimdWidth * kSlotBytes;
  std::memcpy(group + std::size_t{f.inv.simd_lane} * size, value, size);
  f.site = Site{file, line, op, size};
  f.state = State::in_collective;
  yield_to_scheduler(false);
  *lanes = f.inv.simd_size;
  return group;
}

void collective_leave() {}

void run(const Dispatch& d) {
  if (d.entry == nullptr) throw DispatchError(d.kernel + ": no emulated kernel");
  const unsigned per_group = d.threads[0] * d.threads[1] * d.threads[2];
  if (per_group == 0) throw DispatchError(d.kernel + ": empty threadgroup");
  std::mt19937_64 rng(d.seed);

  Scheduler s;
  s.dispatch = &d;
  s.fibers.resize(per_group);
  for (Fiber& f : s.fibers) f.stack.reset(new char[kStackBytes]);
  const unsigned simdgroups = (per_group + kSimdWidth - 1) / kSimdWidth;
  s.slots.assign(std::size_t{simdgroups} * kSlotBuffers * kSimdWidth * kSlotBytes, 0);

  std::vector<std::vector<unsigned char>> tg_memory(d.threadgroup_bytes.size());
  const std::size_t total_groups = std::size_t{d.threadgroups[0]} * d.threadgroups[1] * d.threadgroups[2];
  Scheduler* const outer = g_scheduler;
  g_scheduler = &s;
  struct Restore {
    Scheduler* previous;
    ~Restore() { g_scheduler = previous; }
  } restore{outer};

  for (std::size_t group : ordering(total_groups, d.order, rng)) {
    const unsigned gx = static_cast<unsigned>(group % d.threadgroups[0]);
    const unsigned gy = static_cast<unsigned>((group / d.threadgroups[0]) % d.threadgroups[1]);
    const unsigned gz = static_cast<unsigned>(group / (std::size_t{d.threadgroups[0]} * d.threadgroups[1]));
    for (std::size_t i = 0; i < tg_memory.size(); ++i) tg_memory[i].assign(d.threadgroup_bytes[i], 0xFF);  // poison
    for (unsigned t = 0; t < per_group; ++t) {
      Fiber& f = s.fibers[t];
      Invocation& inv = f.inv;
      std::memcpy(inv.buffers, d.buffers, sizeof inv.buffers);
      for (int i = 0; i < kMaxThreadgroupBuffers; ++i) {
        inv.threadgroup_memory[i] = static_cast<std::size_t>(i) < tg_memory.size() ? tg_memory[i].data() : nullptr;
      }
      inv.threadgroup_position[0] = gx;
      inv.threadgroup_position[1] = gy;
      inv.threadgroup_position[2] = gz;
      std::memcpy(inv.threadgroups_per_grid, d.threadgroups, sizeof inv.threadgroups_per_grid);
      std::memcpy(inv.threads_per_threadgroup, d.threads, sizeof inv.threads_per_threadgroup);
      inv.thread_index = t;
      inv.simd_lane = t % kSimdWidth;
      inv.simdgroup = t / kSimdWidth;
      inv.simd_size = std::min(kSimdWidth, per_group - inv.simdgroup * kSimdWidth);
      f.state = State::runnable;
      f.site = Site{};
      f.collectives = 0;
      make_context(f.context, f.stack.get(), kStackBytes, &fiber_main);
    }
    for (;;) {
      for (std::size_t t : ordering(per_group, d.order, rng)) {
        if (s.fibers[t].state == State::runnable) resume(s, s.fibers[t]);
      }
      if (!release_blocked(s)) break;
    }
  }
}

}  // namespace natten_emu
