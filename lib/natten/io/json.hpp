// A small JSON value with a writer and a strict parser: natten-bench reports and baselines, and
// natten-check's report. (nlohmann-json is not among the project's dependencies; this covers what
// the reports need.) Output is valid UTF-8 JSON: strings are escaped and invalid UTF-8 bytes
// (possible in names read from a corrupt file) become U+FFFD.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace natten {

class Json {
 public:
  enum class Type { null, boolean, number, string, array, object };

  Json() = default;  // null
  Json(bool b) : type_(Type::boolean), bool_(b) {}
  Json(double d) : type_(Type::number), number_(d) {}
  Json(int i) : Json(static_cast<double>(i)) {}
  Json(std::int64_t i) : Json(static_cast<double>(i)) {}
  Json(const char* s) : type_(Type::string), string_(s) {}
  Json(std::string s) : type_(Type::string), string_(std::move(s)) {}
  static Json array() { return Json(Type::array); }
  static Json object() { return Json(Type::object); }

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::null; }

  // Object: set() appends or replaces, keeping insertion order.
  Json& set(const std::string& key, Json value);
  const Json* find(std::string_view key) const;  // nullptr when absent (or not an object)
  const std::vector<std::pair<std::string, Json>>& items() const { return object_; }
  // Array.
  Json& push(Json value);
  const std::vector<Json>& elements() const { return array_; }

  // Typed reads; throw natten::Error "what: expected <type>" on a type mismatch.
  bool as_bool(std::string_view what) const;
  double as_number(std::string_view what) const;
  const std::string& as_string(std::string_view what) const;
  // Member `key` of an object; throws naming `what.key` when absent.
  const Json& at(std::string_view key, std::string_view what) const;

  // Non-finite numbers are written as the strings "nan", "inf", "-inf" (JSON has no NaN/Inf).
  std::string dump(int indent = 2) const;
  // Throws natten::Error "source: line L column C: ..." on malformed input.
  static Json parse(std::string_view text, const std::string& source);

 private:
  explicit Json(Type t) : type_(t) {}
  void dump_to(std::string& out, int indent, int depth) const;

  Type type_ = Type::null;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<Json> array_;
  std::vector<std::pair<std::string, Json>> object_;
};

// Reads and parses a JSON file; a parse error reads "<what> <path>: line L column C: ...".
Json read_json_file(const std::string& path, const std::string& what);
// A JSON array of the values.
Json json_array(const std::vector<std::string>& values);
Json json_array(const std::vector<double>& values);

}  // namespace natten
