// Per-thread scratch memory of the cpu backend: a few growable, 64-byte aligned float buffers.
//
// Each worker thread owns one Workspace for the whole call, so kernels never allocate inside their
// loops and no two threads share a buffer. Buffers only grow, and are reused across calls by the
// same backend instance (benchmarks call the same problem many times).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <type_traits>

namespace natten::cpu {

class Workspace {
 public:
  static constexpr int kSlots = 32;

  // Slot `slot` with room for at least `count` floats plus one SIMD vector of padding, so kernels
  // may read (never use) a full vector past the end. A slot is an enumerator of the kernel's own
  // enum, which ends with `kSlotCount`: that every slot of the enum exists is checked here, at
  // compile time, so the index needs no run-time check.
  template <class Slot>
  float* floats(Slot slot, std::size_t count) {
    static_assert(std::is_enum_v<Slot>, "name workspace slots by an enum ending in kSlotCount");
    static_assert(static_cast<int>(Slot::kSlotCount) <= kSlots, "the kernel names more slots than a Workspace has");
    Buffer& b = slots_[static_cast<std::size_t>(slot)];
    const std::size_t want = count + kPad;
    if (b.capacity < want) {
      b.data.reset(static_cast<float*>(std::aligned_alloc(kAlign, round_up(want * sizeof(float)))));
      if (!b.data) throw std::bad_alloc();
      b.capacity = want;
    }
    return b.data.get();
  }
  template <class Slot>
  int* ints(Slot slot, std::size_t count) {
    static_assert(sizeof(int) == sizeof(float), "ints share the float slots");
    return reinterpret_cast<int*>(floats(slot, count));
  }
  template <class Slot>
  std::int64_t* int64s(Slot slot, std::size_t count) {
    return reinterpret_cast<std::int64_t*>(floats(slot, 2 * count));
  }

 private:
  static constexpr std::size_t kAlign = 64;
  static constexpr std::size_t kPad = 64;  // floats: covers the widest vector of any target
  static std::size_t round_up(std::size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }

  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  struct Buffer {
    std::unique_ptr<float, Free> data;
    std::size_t capacity = 0;
  };
  std::array<Buffer, kSlots> slots_;
};

}  // namespace natten::cpu
