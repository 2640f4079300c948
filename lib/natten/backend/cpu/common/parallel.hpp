// Threading of the cpu backend: one parallel loop over independent work units, run by a small
// persistent thread pool.
//
// Why a pool of our own rather than OpenMP: the loop is all the backend needs (units vary in cost
// at borders and with causal masks, so they are handed out one at a time), the workers persist
// between calls so a benchmark loop pays no thread creation, and idle workers block instead of
// spinning. libgomp spins at the end of every loop by default, which on a shared machine steals the
// core from the very thread everyone waits for (measured: 12.4 ms vs 8.3 ms per call), and Apple's
// compiler ships no OpenMP at all. Nothing in the backend nests loops, so the thread count asked
// for is the thread count used (no oversubscription).
#pragma once

#include <cstdint>
#include <functional>

namespace natten::cpu {

// Threads to use: `requested`, or every hardware thread when 0.
int resolve_threads(int requested);

// Runs body(unit, thread) for unit in [0, count) on `threads` threads (thread in [0, threads); the
// calling thread is thread 0). Units are handed out one at a time; the first exception thrown by a
// body is rethrown after every unit has finished. Calls from several threads are serialized.
void parallel_for(std::int64_t count, int threads, const std::function<void(std::int64_t, int)>& body);

}  // namespace natten::cpu
