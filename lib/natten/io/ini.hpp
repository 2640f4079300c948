// A strict reader for the project's INI files (configs/*.ini): `[section]` headers, `key = value`
// lines, full-line comments starting with '#' or ';' and inline comments after whitespace + '#'/';'.
// Everything else is an error naming file and line: keys outside a section, lines without '=',
// empty keys, duplicate sections, duplicate keys within a section. No line-length limit.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace natten {

struct IniEntry {
  std::string key;
  std::string value;
  int line = 0;
};

struct IniSection {
  std::string name;
  int line = 0;
  std::vector<IniEntry> entries;  // file order
};

struct IniFile {
  std::string path;                  // as given, for messages
  std::vector<IniSection> sections;  // file order
};

IniFile parse_ini(std::string_view text, const std::string& path);
IniFile read_ini(const std::string& path);  // throws Error when the file cannot be read

}  // namespace natten
