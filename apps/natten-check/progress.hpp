// Progress on stderr while cases run: one self-overwriting line on a terminal; otherwise (CI logs)
// a line at most every few seconds, so short runs stay quiet and long ones show they are alive;
// nothing when disabled (--quiet).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace natten::check {

class Progress {
 public:
  Progress(bool enabled, std::size_t total);
  ~Progress();
  void step(const std::string& what);  // "[3/17] what"

 private:
  bool enabled_;
  bool tty_;
  std::size_t total_;
  std::size_t done_ = 0;
  std::chrono::steady_clock::time_point last_line_;
};

}  // namespace natten::check
