#include "natten/backend/cpu/parallel.hpp"

#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>

#ifdef NATTEN_CPU_OPENMP
#include <omp.h>
#endif

namespace natten::cpu {

bool have_openmp() {
#ifdef NATTEN_CPU_OPENMP
  return true;
#else
  return false;
#endif
}

int resolve_threads(int requested) {
  if (requested > 0) return requested;
#ifdef NATTEN_CPU_OPENMP
  return std::max(1, omp_get_num_procs());
#else
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
#endif
}

void parallel_for(std::int64_t count, int threads, const std::function<void(std::int64_t, int)>& body) {
  if (count <= 0) return;
  const int n = static_cast<int>(std::min<std::int64_t>(std::max(threads, 1), count));
  std::exception_ptr error;
  std::mutex error_mutex;
  const auto guarded = [&](std::int64_t unit, int thread) {
    try {
      body(unit, thread);
    } catch (...) {
      const std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  };
#ifdef NATTEN_CPU_OPENMP
  if (n > 1) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(n)
    for (std::int64_t u = 0; u < count; ++u) guarded(u, omp_get_thread_num());
  } else {
    for (std::int64_t u = 0; u < count; ++u) guarded(u, 0);
  }
#else
  for (std::int64_t u = 0; u < count; ++u) guarded(u, 0);
#endif
  if (error) std::rethrow_exception(error);
}

}  // namespace natten::cpu
