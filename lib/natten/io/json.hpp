// A JSON value for natten-bench reports and baselines and natten-check's report: a small tree with
// typed reads whose errors name the member ("results[0].case: expected a string"). Parsing and
// writing are nlohmann-json's (json.cpp); the tree is ours so that elements() and find() can hand
// out plain references and nlohmann stays out of this header.
//
// Objects keep insertion order. Integers keep all 64 bits, signed or unsigned (a seed survives a
// round trip); other numbers are doubles. Output is valid UTF-8 JSON: invalid UTF-8 bytes (possible in names read from a corrupt
// file) become U+FFFD. This header does no file I/O beyond read_json_file (io/files.hpp does).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace natten {

class Json {
 public:
  // `number` covers integers and doubles alike; is_integer() tells them apart.
  enum class Type { null, boolean, number, string, array, object };

  Json() = default;  // null
  Json(bool b) : type_(Type::boolean), bool_(b) {}
  Json(double d) : type_(Type::number), number_(d) {}
  Json(int i) : Json(std::int64_t{i}) {}
  Json(std::int64_t i) : type_(Type::number), integer_(i < 0 ? Integer::negative : Integer::non_negative),
                         bits_(static_cast<std::uint64_t>(i)), number_(static_cast<double>(i)) {}
  Json(std::uint64_t u) : type_(Type::number), integer_(Integer::non_negative), bits_(u), number_(static_cast<double>(u)) {}
  Json(const char* s) : type_(Type::string), string_(s) {}
  Json(std::string s) : type_(Type::string), string_(std::move(s)) {}
  static Json array() { return Json(Type::array); }
  static Json object() { return Json(Type::object); }

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::null; }
  bool is_integer() const { return integer_ != Integer::none; }

  // Object: set() appends or replaces, keeping insertion order.
  Json& set(const std::string& key, Json value);
  const Json* find(std::string_view key) const;  // nullptr when absent (or not an object)
  const std::vector<std::pair<std::string, Json>>& items() const { return object_; }
  // Array.
  Json& push(Json value);
  const std::vector<Json>& elements() const { return array_; }

  // Typed reads; throw natten::Error "what: expected <type>" on a type mismatch.
  bool as_bool(std::string_view what) const;
  double as_number(std::string_view what) const;  // an integer too (rounded past 2^53)
  // Integers only, never a double; throw "what: expected an integer" or "... out of range".
  std::int64_t as_int(std::string_view what) const;
  std::uint64_t as_uint(std::string_view what) const;
  const std::string& as_string(std::string_view what) const;
  // Member `key` of an object; throws naming `what.key` when absent.
  const Json& at(std::string_view key, std::string_view what) const;

  // Non-finite numbers are written as the strings "nan", "inf", "-inf" (JSON has no NaN/Inf).
  // indent > 0: one member per line; arrays of scalars stay on one line.
  std::string dump(int indent = 2) const;
  // Strict JSON (no comments, no duplicate members, nesting at most 64 deep). Throws natten::Error
  // "source: line L column C: ..." on malformed input, pointing at the last character read.
  static Json parse(std::string_view text, const std::string& source);

 private:
  explicit Json(Type t) : type_(t) {}
  void dump_to(std::string& out, int indent, int depth) const;

  enum class Integer { none, negative, non_negative };

  Type type_ = Type::null;
  bool bool_ = false;
  Integer integer_ = Integer::none;
  std::uint64_t bits_ = 0;  // an integer's value (two's complement when negative)
  double number_ = 0;       // also set for an integer
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
