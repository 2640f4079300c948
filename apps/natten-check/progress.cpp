#include "progress.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include <cstdio>

namespace natten::check {

Progress::Progress(bool enabled, std::size_t total)
    : enabled_(enabled && total > 0),
      tty_(::isatty(STDERR_FILENO) != 0),
      total_(total),
      last_line_(std::chrono::steady_clock::now()) {}

Progress::~Progress() {
  if (enabled_ && tty_) fmt::print(stderr, "\r\033[K");
}

void Progress::step(const std::string& what) {
  if (!enabled_) return;
  ++done_;
  if (tty_) {
    fmt::print(stderr, "\r\033[K[{}/{}] {}", done_, total_, what);
  } else {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_line_ < std::chrono::seconds(5)) return;
    last_line_ = now;
    fmt::print(stderr, "natten-check: [{}/{}] {}\n", done_, total_, what);
  }
  std::fflush(stderr);
}

}  // namespace natten::check
