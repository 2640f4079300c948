// Preloaded (LD_PRELOAD) into natten-bench's counting run under valgrind, and only there
// (work_mode.hpp). Two replacements make that run possible and its counts repeatable.
//
// 1. hwy::platform::TimerResolution(). libhwy.so 1.0.3 calls it from a static initializer, and it
//    executes RDTSCP, which valgrind 3.19 decodes only when the host CPU advertises it (the
//    project's VMs do not): the process would die with SIGILL before main(). The call goes through
//    libhwy's PLT, so this definition replaces it. Only Highway's nanobenchmark uses the value, and
//    natten-bench never calls that.
//
// 2. malloc and friends (glibc supports replacing them: malloc, free, calloc, realloc and the
//    aligned variants). glibc's allocator does work that depends on the whole history of the
//    heap (bin searches, consolidation), and that history depends on the lengths of the process's
//    paths and arguments: the same call counted twice from two directories differed by up to 0.5%
//    (the reference backend allocates in its loops). This allocator's work per call is a handful
//    of instructions whatever came before, and every block it returns is 64-byte aligned, so
//    alignment-dependent code (memset, memcpy) takes the same path every time. Blocks come in
//    power-of-two classes with one free list each; classes above 16 MiB are mapped directly.
//    Single-threaded use is all it needs (the counting run uses one thread, and valgrind
//    serializes threads anyway), but a spin lock keeps it safe regardless.
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <sys/mman.h>

namespace hwy {
namespace platform {

std::uint64_t TimerResolution() { return 1; }

}  // namespace platform
}  // namespace hwy

namespace {

constexpr std::size_t kHeader = 64;          // bytes before every user pointer: keeps it 64-aligned
constexpr int kMinClass = 7;                 // 128-byte blocks
constexpr int kMaxClass = 24;                // 16 MiB blocks; larger ones are mapped directly
constexpr std::size_t kChunk = std::size_t{64} << 20;  // blocks are carved from 64 MiB mappings
constexpr std::uint64_t kMagic = 0x6e617474656e6d61ull;  // "nattenma"

struct Header {
  std::uint64_t magic;
  int cls;             // size class, or -1 for a direct mapping
  std::size_t bytes;   // the block's size (2^cls, or the mapping's length)
  char* block;         // where the block starts (before this header for aligned allocations)
};
static_assert(sizeof(Header) <= kHeader, "the header must fit before the user pointer");

struct FreeBlock {
  FreeBlock* next;
};

FreeBlock* g_free[kMaxClass + 1];
char* g_bump = nullptr;
char* g_end = nullptr;
std::atomic_flag g_lock = ATOMIC_FLAG_INIT;

struct Lock {
  Lock() {
    while (g_lock.test_and_set(std::memory_order_acquire)) {
    }
  }
  ~Lock() { g_lock.clear(std::memory_order_release); }
};

void* map(std::size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

int class_of(std::size_t bytes) {
  int c = kMinClass;
  while ((std::size_t{1} << c) < bytes) ++c;
  return c;
}

// A block of at least `bytes`, with its header filled in for the user pointer block + kHeader.
char* take_block(std::size_t bytes, int& cls, std::size_t& size) {
  cls = class_of(bytes);
  if (cls > kMaxClass) {
    size = (bytes + 4095) & ~std::size_t{4095};
    cls = -1;
    return static_cast<char*>(map(size));
  }
  size = std::size_t{1} << cls;
  Lock lock;
  if (FreeBlock* f = g_free[cls]) {
    g_free[cls] = f->next;
    return reinterpret_cast<char*>(f);
  }
  if (g_bump == nullptr || static_cast<std::size_t>(g_end - g_bump) < size) {
    char* chunk = static_cast<char*>(map(kChunk));
    if (chunk == nullptr) return nullptr;
    g_bump = chunk;
    g_end = chunk + kChunk;
  }
  char* b = g_bump;
  g_bump += size;
  return b;
}

void* allocate(std::size_t n, std::size_t align) {
  if (align < kHeader) align = kHeader;
  if (n > (std::size_t{1} << 46)) {
    errno = ENOMEM;
    return nullptr;
  }
  const std::size_t bytes = n + kHeader + (align > kHeader ? align : 0);
  int cls = 0;
  std::size_t size = 0;
  char* block = take_block(bytes, cls, size);
  if (block == nullptr) {
    errno = ENOMEM;
    return nullptr;
  }
  const std::uintptr_t first = reinterpret_cast<std::uintptr_t>(block) + kHeader;
  char* user = reinterpret_cast<char*>((first + align - 1) & ~(std::uintptr_t{align} - 1));
  Header* h = reinterpret_cast<Header*>(user - kHeader);
  *h = Header{kMagic, cls, size, block};
  return user;
}

Header* header_of(void* p) { return reinterpret_cast<Header*>(static_cast<char*>(p) - kHeader); }

std::size_t usable(void* p) {
  const Header* h = header_of(p);
  return h->bytes - static_cast<std::size_t>(static_cast<char*>(p) - h->block);
}

}  // namespace

extern "C" {

void* malloc(std::size_t n) { return allocate(n, kHeader); }

void free(void* p) {
  if (p == nullptr) return;
  Header* h = header_of(p);
  if (h->magic != kMagic) return;  // not ours (cannot happen with a preloaded allocator): leak, never corrupt
  h->magic = 0;
  if (h->cls < 0) {
    munmap(h->block, h->bytes);
    return;
  }
  Lock lock;
  FreeBlock* f = reinterpret_cast<FreeBlock*>(h->block);
  f->next = g_free[h->cls];
  g_free[h->cls] = f;
}

void* calloc(std::size_t count, std::size_t size) {
  if (size != 0 && count > static_cast<std::size_t>(-1) / size) {
    errno = ENOMEM;
    return nullptr;
  }
  void* p = malloc(count * size);
  if (p != nullptr) std::memset(p, 0, count * size);
  return p;
}

void* realloc(void* p, std::size_t n) {
  if (p == nullptr) return malloc(n);
  if (n == 0) {
    free(p);
    return nullptr;
  }
  const std::size_t have = usable(p);
  if (n <= have) return p;
  void* q = malloc(n);
  if (q == nullptr) return nullptr;
  std::memcpy(q, p, have);
  free(p);
  return q;
}

void* memalign(std::size_t align, std::size_t n) {
  if (align == 0 || (align & (align - 1)) != 0) {
    errno = EINVAL;
    return nullptr;
  }
  return allocate(n, align);
}

void* aligned_alloc(std::size_t align, std::size_t n) { return memalign(align, n); }

int posix_memalign(void** out, std::size_t align, std::size_t n) {
  if (align < sizeof(void*) || (align & (align - 1)) != 0) return EINVAL;
  void* p = allocate(n, align);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

void* valloc(std::size_t n) { return allocate(n, 4096); }
void* pvalloc(std::size_t n) { return allocate((n + 4095) & ~std::size_t{4095}, 4096); }
std::size_t malloc_usable_size(void* p) { return p == nullptr ? 0 : usable(p); }

}  // extern "C"
