// A small, strict INI reader for the case files in configs/ (natten-bench, natten-check --write,
// scripts/make_reference.py).
//
// The accepted subset (the same as natten-check's reader and scripts/make_reference.py):
//   [section]            a section header; names are unique within a file
//   key = value          inside a section only; keys are unique within a section
//   # ... or ; ...       a comment, from the start of a line or after a space or tab
// Leading/trailing whitespace around names and values is trimmed; a UTF-8 byte-order mark and CRLF
// line ends are accepted. There are no continuation lines or `key: value` forms: anything else is
// an error naming the file and line (natten::Error), never silently skipped.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace natten::config {

struct IniEntry {
  std::string key;
  std::string value;
  int line = 0;
};

struct IniSection {
  std::string name;
  int line = 0;
  std::vector<IniEntry> entries;  // in file order
};

struct IniFile {
  std::string path;  // as given; used in messages
  std::vector<IniSection> sections;
};

// Parses INI text; `path` only names the source in error messages ("path:line: ...").
IniFile parse_ini(std::string_view text, const std::string& path);
// Reads and parses a file; a missing or unreadable file is an Error naming it.
IniFile read_ini(const std::string& path);

}  // namespace natten::config
