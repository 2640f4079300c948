#include "natten/io/read_guard.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

namespace natten {
namespace {

// The child's "finished" code; anything else (a sanitizer turns a SIGSEGV into exit code 1) is a crash.
constexpr int kFinished = 0;

}  // namespace

std::string dry_run_read(const std::function<void()>& read, unsigned timeout_seconds) {
  if (timeout_seconds == 0) return {};
  std::fflush(nullptr);  // the child must not repeat buffered output
  const pid_t pid = ::fork();
  if (pid < 0) return fmt::format("cannot fork to guard the read: {}", std::strerror(errno));
  if (pid == 0) {
    std::signal(SIGALRM, SIG_DFL);
    ::alarm(timeout_seconds);
    try {
      read();
    } catch (...) {
      // Errors are the parent's to report when it repeats the read; only survival matters here.
    }
    ::_exit(kFinished);
  }
  int status = 0;
  pid_t waited;
  do {
    waited = ::waitpid(pid, &status, 0);
  } while (waited < 0 && errno == EINTR);
  if (waited != pid) return fmt::format("cannot wait for the guarded read: {}", std::strerror(errno));
  if (WIFEXITED(status) && WEXITSTATUS(status) == kFinished) return {};
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
    return fmt::format("reading it did not finish within {} s (libhdf5 loops on some corrupt files)", timeout_seconds);
  if (WIFSIGNALED(status))
    return fmt::format("libhdf5 crashed reading it (signal {}: {}); the file is corrupt", WTERMSIG(status),
                       strsignal(WTERMSIG(status)));
  return fmt::format("the reader crashed (exit code {}); the file is corrupt", WEXITSTATUS(status));
}

}  // namespace natten
