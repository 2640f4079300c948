#include "natten/app/diagnostics.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <regex>
#include <sstream>

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
    if (c >= 0x20 && c < 0x7F) {
      if (c == '\\') out += "\\\\";
      else out += static_cast<char>(c);
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

std::string describe_parse_error(const std::exception& e) {
  const std::string m = e.what();
  std::smatch g;
  if (dynamic_cast<const CLI::ConversionError*>(&e) != nullptr) {
    static const std::regex convert("Could not convert: (\\S+) = (.*)");
    if (std::regex_match(m, g, convert)) return fmt::format("{}: '{}' is not a valid value", g[1].str(), g[2].str());
    static const std::regex allowed("The value (.*) is not an allowed value for (\\S+)");
    if (std::regex_match(m, g, allowed)) return fmt::format("{}: '{}' is not an allowed value", g[2].str(), g[1].str());
  }
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
    static const std::regex extras("The following arguments? (?:was|were) not expected: (.*)");
    if (std::regex_match(m, g, extras)) {
      // CLI11 lists the leftovers, values before options ("1 --atol"): name the option if any.
      std::istringstream items(g[1].str());
      std::string first, item;
      while (items >> item) {
        if (item.rfind('-', 0) == 0 && item.size() > 1) return fmt::format("unknown option {}", item);
        if (first.empty()) first = item;
      }
      return fmt::format("unexpected argument '{}'", first);
    }
  }
  if (dynamic_cast<const CLI::ExcludesError*>(&e) != nullptr) {
    static const std::regex excl("(\\S+) excludes (\\S+)");
    if (std::regex_match(m, g, excl)) return fmt::format("{} cannot be combined with {}", g[1].str(), g[2].str());
  }
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr) {
    static const std::regex missing("(\\S+): \\d+ required \\S+ missing");
    if (std::regex_match(m, g, missing)) return fmt::format("{} needs a value", g[1].str());
    static const std::regex at_most("(\\S+): At Most (\\d+) required but received (\\d+)");
    if (std::regex_match(m, g, at_most))
      return fmt::format("{} takes at most {} value{}, got {}", g[1].str(), g[2].str(), g[2].str() == "1" ? "" : "s",
                         g[3].str());
    static const std::regex at_least("(\\S+): At least (\\d+) required but received (\\d+)");
    if (std::regex_match(m, g, at_least))
      return fmt::format("{} takes {} values, got {}", g[1].str(), g[2].str(), g[3].str());
    static const std::regex exactly("Expected exactly (\\d+) arguments to (\\S+), got (\\d+)");
    if (std::regex_match(m, g, exactly))
      return fmt::format("{} takes {} value{}, got {}", g[2].str(), g[1].str(), g[1].str() == "1" ? "" : "s", g[3].str());
  }
  return one_line(m);
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
