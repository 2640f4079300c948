#include "natten/config/ini.hpp"

#include <fstream>
#include <sstream>

#include "natten/core/error.hpp"

namespace natten::config {
namespace {

std::string_view trim(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

// Drops a comment: '#' or ';' at the start of the line or after whitespace ("k = 7  # odd" is 7,
// "k = 7#" stays a bad value).
std::string_view strip_comment(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((s[i] == '#' || s[i] == ';') && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) return s.substr(0, i);
  }
  return s;
}

bool valid_key(std::string_view k) {
  if (k.empty()) return false;
  for (char c : k) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

IniFile parse_ini(std::string_view text, const std::string& path) {
  IniFile file;
  file.path = path;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  int line_no = 0;
  while (!text.empty() || line_no == 0) {
    const std::size_t nl = text.find('\n');
    const std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (raw.find('\0') != std::string_view::npos) fail("{}:{}: NUL byte in line (not a text file?)", path, line_no);
    const std::string_view line = trim(strip_comment(raw));
    if (line.empty()) {
      if (text.empty()) break;
      continue;
    }
    if (line.front() == '[') {
      if (line.back() != ']') fail("{}:{}: section header '{}' lacks its closing ']'", path, line_no, line);
      const std::string_view name = trim(line.substr(1, line.size() - 2));
      if (name.empty()) fail("{}:{}: empty section name", path, line_no);
      for (const IniSection& s : file.sections) {
        if (s.name == name) fail("{}:{}: section [{}] already defined on line {}", path, line_no, name, s.line);
      }
      file.sections.push_back({std::string(name), line_no, {}});
    } else {
      const std::size_t eq = line.find('=');
      if (eq == std::string_view::npos)
        fail("{}:{}: expected 'key = value' or '[section]', got '{}'", path, line_no, line);
      const std::string_view key = trim(line.substr(0, eq));
      const std::string_view value = trim(line.substr(eq + 1));
      if (!valid_key(key)) fail("{}:{}: '{}' is not a valid key name", path, line_no, key);
      if (file.sections.empty()) fail("{}:{}: {}: key outside any [section]", path, line_no, key);
      IniSection& sec = file.sections.back();
      for (const IniEntry& e : sec.entries) {
        if (e.key == key) fail("{}:{}: {}: key repeated in [{}] (first on line {})", path, line_no, key, sec.name, e.line);
      }
      if (value.empty()) fail("{}:{}: {}: empty value", path, line_no, key);
      sec.entries.push_back({std::string(key), std::string(value), line_no});
    }
    if (text.empty()) break;
  }
  return file;
}

IniFile read_ini(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open config file", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail("{}: error reading config file", path);
  return parse_ini(ss.str(), path);
}

}  // namespace natten::config
