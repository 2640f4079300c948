#include "natten/bench/subprocess.hpp"

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#if defined(__APPLE__)
#include <mach-o/dyld.h>
#endif

#include "natten/core/error.hpp"

extern char** environ;

namespace natten::bench {

std::string ProcessResult::describe() const {
  if (signal != 0) return fmt::format("killed by signal {} ({})", signal, strsignal(signal));
  return fmt::format("exit code {}", exit_code);
}

ProcessResult run_process(const ProcessSpec& spec) {
  if (spec.argv.empty()) fail("run_process: no program given");
  // The child's environment: ours, with spec.env replacing or adding entries.
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& [k, v] : spec.env) replaced = replaced || k == name;
    if (!replaced) env.push_back(entry);
  }
  for (const auto& [k, v] : spec.env) env.push_back(k + "=" + v);
  std::vector<char*> envp, argv;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = spec.argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const int flags = O_WRONLY | O_CREAT | O_TRUNC;
  if (!spec.stdout_path.empty()) posix_spawn_file_actions_addopen(&actions, 1, spec.stdout_path.c_str(), flags, 0644);
  if (!spec.stderr_path.empty()) posix_spawn_file_actions_addopen(&actions, 2, spec.stderr_path.c_str(), flags, 0644);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) fail("cannot run {}: {}", spec.argv[0], std::strerror(rc));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) fail("waiting for {}: {}", spec.argv[0], std::strerror(errno));
  }
  ProcessResult r;
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  // posix_spawnp reports a missing program as exit code 127 from the child on glibc.
  if (r.exit_code == 127 && r.signal == 0 && access(argv[0], X_OK) != 0 && std::strchr(argv[0], '/') != nullptr)
    fail("cannot run {}: not an executable file", spec.argv[0]);
  return r;
}

std::string self_executable() {
#if defined(__APPLE__)
  char buf[PATH_MAX];
  std::uint32_t size = sizeof buf;
  if (_NSGetExecutablePath(buf, &size) == 0) return buf;
#else
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) return std::string(buf, static_cast<std::size_t>(n));
#endif
  fail("cannot find this program's own path");
}

std::string tail_of_file(const std::string& path, int max_lines) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
    if (static_cast<int>(lines.size()) > max_lines) lines.erase(lines.begin());
  }
  std::string out;
  for (const std::string& l : lines) out += (out.empty() ? "" : "\n") + l;
  return out;
}

}  // namespace natten::bench
