// The library's one exception type. Messages name the argument and the offending value, in one line,
// so the apps can print them as they are and exit with code 2.
#pragma once

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace natten {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
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
