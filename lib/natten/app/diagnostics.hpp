// How both apps talk to people: one error format, values echoed safely, CLI11's messages in our
// words, and the terminal's width.
//
//   natten-bench: error: --window-size: '7x' is not a non-negative integer
//   natten-check: warning: ...
//
// Every message is one line. Values that came from inputs (INI values, HDF5 names, paths) may hold
// any bytes; printable() escapes what a terminal would act on (ESC sequences, carriage returns),
// what would cut a message (NUL) and what is not valid UTF-8, so a hostile file cannot clear the
// screen or hide text.
#pragma once

#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>

namespace natten::app {

// `s` with control bytes, DEL and invalid UTF-8 written as \n, \t, \r, \0, \e or \xNN; valid
// UTF-8 text (backslashes included) is kept.
std::string printable(std::string_view s);
// `s` on one line: every line break becomes "; " (messages that quote multi-line text).
std::string one_line(std::string_view s);

// Prints "tool: error: <message>" (or warning) on stderr as one safe line.
void print_error(std::string_view tool, std::string_view message);
void print_warning(std::string_view tool, std::string_view message);

// CLI11's parse errors in the project's words, one line: "--atol: 'abc' is not a number",
// "unknown option --bogus", "--json needs a value", "--peak cannot be combined with --dry-run".
std::string describe_parse_error(const std::exception& e);

// --list-backends of both apps: a line per registered backend (name, available or unavailable,
// its description or why not) and the default.
std::string backend_listing(const std::string& default_backend);

// Columns of the terminal `stream` writes to; `fallback` when it is not a terminal (or COLUMNS
// says otherwise).
int terminal_columns(std::FILE* stream, int fallback = 100);

}  // namespace natten::app
