#include "natten/app/diagnostics.hpp"

#include "natten/backend.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace natten::app {
namespace {

// Length of the valid UTF-8 sequence starting at s[i] (1 to 4), or 0 when it is not one.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  std::size_t n = 0;
  unsigned min = 0;
  if (c >= 0xC2 && c <= 0xDF) n = 2, min = 0x80;
  else if (c >= 0xE0 && c <= 0xEF) n = 3, min = 0x800;
  else if (c >= 0xF0 && c <= 0xF4) n = 4, min = 0x10000;
  else return 0;
  if (i + n > s.size()) return 0;
  unsigned cp = c & (0x7F >> n);
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  // C1 controls (U+0080..U+009F) act on some terminals: escape them too.
  if (cp >= 0x80 && cp <= 0x9F) return 0;
  return n;
}

}  // namespace

std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7F) {  // a backslash stays one: messages may already hold \0 (core/error.hpp)
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    if (c >= 0x80) {
      const std::size_t n = utf8_length(s, i);
      if (n > 0) {
        out.append(s.substr(i, n));
        i += n;
        continue;
      }
    }
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case 0: out += "\\0"; break;
      case 0x1B: out += "\\e"; break;
      default: out += fmt::format("\\x{:02X}", c);
    }
    ++i;
  }
  return out;
}

std::string one_line(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') continue;
    if (s[i] == '\n') {
      if (i + 1 < s.size()) out += "; ";
      continue;
    }
    out += s[i];
  }
  return out;
}

void print_error(std::string_view tool, std::string_view message) {
  std::fflush(stdout);  // what the program printed so far comes first
  fmt::print(stderr, "{}: error: {}\n", tool, printable(one_line(message)));
}

void print_warning(std::string_view tool, std::string_view message) {
  fmt::print(stderr, "{}: warning: {}\n", tool, printable(one_line(message)));
}

namespace {

// Matches `text` against `pattern`, whose "{}" each stand for a non-empty run of text up to the
// next literal part (the last one: to the end). The captured runs go to `out`. (std::regex would
// do, but GCC 12 warns inside <regex> in sanitizer builds, and these patterns need no more.)
bool match(const std::string& text, std::string_view pattern, std::vector<std::string>& out) {
  out.clear();
  std::size_t t = 0;
  while (!pattern.empty()) {
    const std::size_t hole = pattern.find("{}");
    const std::string_view literal = pattern.substr(0, hole);
    if (text.compare(t, literal.size(), literal) != 0) return false;
    t += literal.size();
    if (hole == std::string_view::npos) return t == text.size();
    pattern.remove_prefix(hole + 2);
    const std::size_t next_hole = pattern.find("{}");
    const std::string_view next = pattern.substr(0, next_hole);
    const std::size_t end = next.empty() ? text.size() : text.find(next, t + 1);
    if (end == std::string::npos || end <= t) return false;
    out.push_back(text.substr(t, end - t));
    t = end;
  }
  return t == text.size();
}

}  // namespace

std::string describe_parse_error(const std::exception& e) {
  const std::string m = e.what();
  std::vector<std::string> g;
  if (dynamic_cast<const CLI::ConversionError*>(&e) != nullptr) {
    if (match(m, "Could not convert: {} = {}", g)) return fmt::format("{}: '{}' is not a valid value", g[0], g[1]);
    if (match(m, "The value {} is not an allowed value for {}", g))
      return fmt::format("{}: '{}' is not an allowed value", g[1], g[0]);
  }
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
    if (match(m, "The following arguments were not expected: {}", g) ||
        match(m, "The following argument was not expected: {}", g)) {
      // CLI11 lists the leftovers, values before options ("1 --atol"): name the option if any.
      std::istringstream items(g[0]);
      std::string first, item;
      while (items >> item) {
        if (item.rfind('-', 0) == 0 && item.size() > 1) return fmt::format("unknown option {}", item);
        if (first.empty()) first = item;
      }
      return fmt::format("unexpected argument '{}'", first);
    }
  }
  if (dynamic_cast<const CLI::ExcludesError*>(&e) != nullptr && match(m, "{} excludes {}", g))
    return fmt::format("{} cannot be combined with {}", g[0], g[1]);
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr) {
    if (match(m, "{}: {} required {} missing", g)) return fmt::format("{} needs a value", g[0]);
    if (match(m, "{}: At Most {} required but received {}", g))
      return fmt::format("{} takes at most {} value{}, got {}", g[0], g[1], g[1] == "1" ? "" : "s", g[2]);
    if (match(m, "{}: At least {} required but received {}", g))
      return fmt::format("{} takes {} values, got {}", g[0], g[1], g[2]);
    if (match(m, "Expected exactly {} arguments to {}, got {}", g))
      return fmt::format("{} takes {} value{}, got {}", g[1], g[0], g[0] == "1" ? "" : "s", g[2]);
  }
  return one_line(m);
}

std::string backend_listing(const std::string& default_backend) {
  std::string out;
  for (const BackendInfo& b : list_backends())
    out += fmt::format("{:<10} {:<12} {}\n", b.name, b.available ? "available" : "unavailable",
                       printable(b.available ? b.description : b.unavailable_reason));
  return out + fmt::format("default: {}\n", default_backend);
}

int terminal_columns(std::FILE* stream, int fallback) {
  if (const char* c = std::getenv("COLUMNS")) {
    const int n = std::atoi(c);
    if (n >= 40) return n;
  }
  winsize w{};
  if (::isatty(fileno(stream)) && ::ioctl(fileno(stream), TIOCGWINSZ, &w) == 0 && w.ws_col >= 40) return w.ws_col;
  return fallback;
}

}  // namespace natten::app
