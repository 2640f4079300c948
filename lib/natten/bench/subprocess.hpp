// Running another program and waiting for it: natten-bench --count-work runs itself under
// valgrind, and --ab runs two builds of natten-bench in turns. POSIX (posix_spawn).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace natten::bench {

struct ProcessSpec {
  std::vector<std::string> argv;                           // argv[0] is looked up on PATH
  std::vector<std::pair<std::string, std::string>> env;   // set (or replaced) in the child's environment
  std::string stdout_path, stderr_path;                    // "" = inherit ours
};

struct ProcessResult {
  int exit_code = -1;   // when it exited
  int signal = 0;       // when a signal ended it
  std::string describe() const;  // "exit code 1", "killed by signal 11 (Segmentation fault)"
};

// Throws Error when the program cannot be started (not found, not executable).
ProcessResult run_process(const ProcessSpec& spec);

// This executable's own path (/proc/self/exe on Linux, _NSGetExecutablePath on macOS).
std::string self_executable();

// `path`'s last `max_lines` lines (for error messages quoting a child's log); "" when unreadable.
std::string tail_of_file(const std::string& path, int max_lines);

}  // namespace natten::bench
