#include "natten/io/ini.hpp"

#include "natten/io/files.hpp"

#include <fstream>
#include <sstream>

#include "natten/core/error.hpp"

namespace natten {
namespace {

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

// Drops an inline comment: '#' or ';' at the start or after whitespace.
std::string_view strip_comment(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((s[i] == '#' || s[i] == ';') && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) return s.substr(0, i);
  }
  return s;
}

}  // namespace

IniFile parse_ini(std::string_view text, const std::string& path) {
  IniFile ini;
  ini.path = path;
  // A UTF-8 byte-order mark (editors on Windows write one) is not part of the first line.
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  int line_no = 0;
  while (!text.empty()) {
    const auto eol = text.find('\n');
    const std::string_view raw = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    ++line_no;
    const std::string_view line = trim(strip_comment(raw));
    if (line.empty()) continue;
    if (line.front() == '[') {
      if (line.back() != ']') fail("{}:{}: section header '{}' lacks its closing ']'", path, line_no, line);
      const std::string name(trim(line.substr(1, line.size() - 2)));
      if (name.empty()) fail("{}:{}: empty section name", path, line_no);
      for (const IniSection& s : ini.sections) {
        if (s.name == name) fail("{}:{}: section [{}] repeats the one on line {}", path, line_no, name, s.line);
      }
      ini.sections.push_back({name, line_no, {}});
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) fail("{}:{}: expected 'key = value', got '{}'", path, line_no, line);
    const std::string key(trim(line.substr(0, eq)));
    const std::string value(trim(line.substr(eq + 1)));
    if (key.empty()) fail("{}:{}: empty key", path, line_no);
    if (ini.sections.empty()) fail("{}:{}: key '{}' comes before any [section]", path, line_no, key);
    IniSection& section = ini.sections.back();
    for (const IniEntry& e : section.entries) {
      if (e.key == key)
        fail("{}:{}: key '{}' repeats the one on line {} in section [{}]", path, line_no, key, e.line, section.name);
    }
    section.entries.push_back({key, value, line_no});
  }
  return ini;
}

IniFile read_ini(const std::string& path) {
  require_regular_file(path, "config file");  // a FIFO is refused at once, not read forever
  return parse_ini(read_file(path), path);
}

}  // namespace natten
