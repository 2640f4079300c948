// The progress line on stderr: rewritten in place on a terminal, one line per step otherwise
// (CI logs), nothing with --quiet. Warnings always print, on their own line.
#pragma once

#include <string>

namespace natten::bench {

class Progress {
 public:
  explicit Progress(bool quiet);
  ~Progress();
  void status(const std::string& text);  // transient on a terminal
  void done(const std::string& text);    // a finished step: stays
  void warn(const std::string& text);

 private:
  void clear();
  bool quiet_;
  bool tty_;
  bool dirty_ = false;
};

}  // namespace natten::bench
