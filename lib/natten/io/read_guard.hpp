// Protection against libhdf5 itself. Debian's libhdf5 1.10.8 crashes (SIGSEGV) or loops forever on
// some corrupt files (tests/test_check_fuzz.cpp finds both within a few hundred mutations of a
// valid file); no HDF5 setting prevents it. A read is therefore first run in a forked child: if the
// child survives, the same deterministic read is safe to repeat in this process; if it dies or
// hangs, the caller reports a clear error instead of crashing. POSIX only (fork).
#pragma once

#include <functional>
#include <string>

namespace natten {

// Empty when `read` finished (returning or throwing) in a child process within timeout_seconds;
// otherwise why not, e.g. "libhdf5 crashed reading it (signal 11: Segmentation fault)" or
// "reading it did not finish within 60 s". timeout_seconds = 0 runs nothing and returns "".
std::string dry_run_read(const std::function<void()>& read, unsigned timeout_seconds);

}  // namespace natten
