// The library's one exception type. Messages name the argument and the offending value, in one line,
// so the apps can print them as they are and exit with code 2.
#pragma once

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace natten {

class Error : public std::runtime_error {
 public:
  // A NUL byte (from a file's value) would end what() early and hide the rest of the message: it
  // is written as the two characters \0 (natten/app/diagnostics.hpp escapes the other bytes).
  explicit Error(const std::string& message) : std::runtime_error(without_nul(message)) {}
  explicit Error(const char* message) : Error(std::string(message)) {}

 private:
  static std::string without_nul(const std::string& m) {
    if (m.find('\0') == std::string::npos) return m;
    std::string out;
    for (char c : m) out += c == '\0' ? std::string("\\0") : std::string(1, c);
    return out;
  }
};

// A backend cannot run a problem it was asked to run (as opposed to the problem being invalid).
class Unsupported : public Error {
 public:
  using Error::Error;
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace natten
