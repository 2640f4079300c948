// A minimal streaming JSON writer (no JSON library is packaged that earns the dependency for
// writing one report). Produces valid UTF-8 JSON: strings are escaped and invalid UTF-8 bytes
// (possible in names read from a corrupt file) become U+FFFD. JSON has no NaN/Infinity, so
// non-finite numbers are written as the strings "nan", "inf", "-inf".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace natten::check {

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);  // inside an object, before each value
  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(double x);
  JsonWriter& value(std::int64_t x);
  JsonWriter& value(std::size_t x) { return value(static_cast<std::int64_t>(x)); }
  JsonWriter& value(int x) { return value(static_cast<std::int64_t>(x)); }
  JsonWriter& value(bool b);
  JsonWriter& null();
  // The document; throws std::logic_error when objects/arrays are left open.
  std::string str() const;

 private:
  void before_value();
  JsonWriter& close(char bracket);
  void newline();
  std::string out_;
  std::vector<bool> has_items_;  // per open container
  bool after_key_ = false;
};

// JSON string literal for `s`, quotes included.
std::string json_quote(std::string_view s);

}  // namespace natten::check
