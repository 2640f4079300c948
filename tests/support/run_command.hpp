// Runs a shell command line and collects its exit code, stdout and stderr: the end-to-end tests
// of the two apps drive their binaries through it.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "natten/io/files.hpp"
#include "natten/io/json.hpp"
#include "support/temp_file.hpp"

namespace natten::testing {

struct CommandResult {
  int code = -1;     // exit code; 128 + signal when a signal ended it
  std::string out;   // stdout
  std::string err;   // stderr
};

inline CommandResult run_command(const std::string& command) {
  const TempFile err(".stderr");
  const std::string cmd = command + " 2>" + err.path();
  CommandResult r;
  std::FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.err = read_file(err.path());
  return r;
}

}  // namespace natten::testing
