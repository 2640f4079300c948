// natten-bench's whole program behind main(): parse, dispatch to the mode, report, exit code.
// Exit codes: 0 ok, 1 regression or verification failure, 2 usage or input error.
// A library function so that a test-only binary can run it with its own backends (a backend
// with injected slowdowns proves the guards catch them; see tests/guard/natten_bench_fault.cpp).
#pragma once

#include "runner.hpp"

namespace natten::bench {

int natten_bench_main(int argc, char** argv, const BackendFactory& factory);

}  // namespace natten::bench
