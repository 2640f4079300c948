// Threading of the cpu backend: one OpenMP parallel loop over independent work units.
//
// Why OpenMP: g++ ships it (libgomp, no extra dependency), a dynamically scheduled loop is all the
// backend needs (units vary in cost at borders and with causal masks), and its worker threads
// persist between calls, so a benchmark loop does not pay thread creation per call. Nothing in the
// backend nests parallel regions, so the thread count asked for is the thread count used (no
// oversubscription). Built without OpenMP the loop runs serially (the backend says so).
#pragma once

#include <cstdint>
#include <functional>

namespace natten::cpu {

// Threads to use: `requested`, or every hardware thread when 0.
int resolve_threads(int requested);
bool have_openmp();

// Runs body(unit, thread) for unit in [0, count) on `threads` threads (thread in [0, threads)).
// Units are handed out one at a time; an exception thrown by a body is rethrown after the loop.
void parallel_for(std::int64_t count, int threads, const std::function<void(std::int64_t, int)>& body);

}  // namespace natten::cpu
