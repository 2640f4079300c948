#include "progress.hpp"

#include <cstdio>

#include <unistd.h>

namespace natten::bench {

Progress::Progress(bool quiet) : quiet_(quiet), tty_(isatty(fileno(stderr)) != 0) {}

Progress::~Progress() { clear(); }

void Progress::clear() {
  if (dirty_) std::fputs("\r\033[K", stderr);
  dirty_ = false;
}

void Progress::status(const std::string& text) {
  if (quiet_ || !tty_) return;
  clear();
  std::fputs(text.c_str(), stderr);
  std::fflush(stderr);
  dirty_ = true;
}

void Progress::done(const std::string& text) {
  if (quiet_) return;
  clear();
  std::fprintf(stderr, "%s\n", text.c_str());
}

void Progress::warn(const std::string& text) {
  clear();
  std::fprintf(stderr, "natten-bench: warning: %s\n", text.c_str());
}

}  // namespace natten::bench
