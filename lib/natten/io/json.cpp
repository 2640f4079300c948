#include "natten/io/json.hpp"

#include <cmath>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "natten/core/error.hpp"
#include "natten/io/files.hpp"

namespace natten {

Json& Json::set(const std::string& key, Json value) {
  if (type_ == Type::null) type_ = Type::object;
  for (auto& kv : object_) {
    if (kv.first == key) {
      kv.second = std::move(value);
      return kv.second;
    }
  }
  object_.emplace_back(key, std::move(value));
  return object_.back().second;
}

const Json* Json::find(std::string_view key) const {
  if (type_ != Type::object) return nullptr;
  for (const auto& kv : object_) {
    if (kv.first == key) return &kv.second;
  }
  return nullptr;
}

Json& Json::push(Json value) {
  if (type_ == Type::null) type_ = Type::array;
  array_.push_back(std::move(value));
  return array_.back();
}

bool Json::as_bool(std::string_view what) const {
  if (type_ != Type::boolean) fail("{}: expected true or false", what);
  return bool_;
}

double Json::as_number(std::string_view what) const {
  if (type_ != Type::number) fail("{}: expected a number", what);
  return number_;
}

std::int64_t Json::as_int(std::string_view what) const {
  if (integer_ == Integer::none) fail("{}: expected an integer", what);
  if (integer_ == Integer::non_negative && bits_ > static_cast<std::uint64_t>(INT64_MAX))
    fail("{}: {} is out of range (a signed 64-bit integer)", what, bits_);
  return static_cast<std::int64_t>(bits_);
}

std::uint64_t Json::as_uint(std::string_view what) const {
  if (integer_ == Integer::none) fail("{}: expected an integer", what);
  if (integer_ == Integer::negative) fail("{}: {} is negative", what, static_cast<std::int64_t>(bits_));
  return bits_;
}

const std::string& Json::as_string(std::string_view what) const {
  if (type_ != Type::string) fail("{}: expected a string", what);
  return string_;
}

const Json& Json::at(std::string_view key, std::string_view what) const {
  const Json* j = find(key);
  if (j == nullptr) fail("{}: missing member '{}'", what, key);
  return *j;
}

namespace {

// nlohmann writes every scalar: escapes, shortest round-trip doubles, U+FFFD for invalid UTF-8.
std::string scalar(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

void newline(std::string& out, int indent, int depth) {
  if (indent <= 0) return;
  out += '\n';
  out.append(static_cast<std::size_t>(indent * depth), ' ');
}

}  // namespace

// The layout is ours (nlohmann would put every array element on its own line): per-axis values
// and sample lists read better on one line.
void Json::dump_to(std::string& out, int indent, int depth) const {
  switch (type_) {
    case Type::null: out += "null"; break;
    case Type::boolean: out += bool_ ? "true" : "false"; break;
    case Type::number:
      // JSON has no NaN or infinity: both apps write them as the strings "nan", "inf", "-inf" (kept
      // visible, unlike null).
      out += integer_ == Integer::negative       ? scalar(static_cast<std::int64_t>(bits_))
             : integer_ == Integer::non_negative ? scalar(bits_)
             : std::isfinite(number_)            ? scalar(number_)
             : std::isnan(number_)               ? std::string("\"nan\"")
                                                 : std::string(number_ > 0 ? "\"inf\"" : "\"-inf\"");
      break;
    case Type::string: out += scalar(string_); break;
    case Type::array: {
      bool scalars = true;
      for (const Json& e : array_) scalars = scalars && e.type_ != Type::array && e.type_ != Type::object;
      out += '[';
      for (std::size_t i = 0; i < array_.size(); ++i) {
        if (i) out += scalars ? ", " : ",";
        if (!scalars) newline(out, indent, depth + 1);
        array_[i].dump_to(out, indent, depth + 1);
      }
      if (!scalars && !array_.empty()) newline(out, indent, depth);
      out += ']';
      break;
    }
    case Type::object:
      out += '{';
      for (std::size_t i = 0; i < object_.size(); ++i) {
        if (i) out += ',';
        newline(out, indent, depth + 1);
        out += scalar(object_[i].first);
        out += indent > 0 ? ": " : ":";
        object_[i].second.dump_to(out, indent, depth + 1);
      }
      if (!object_.empty()) newline(out, indent, depth);
      out += '}';
      break;
  }
}

std::string Json::dump(int indent) const {
  std::string out;
  dump_to(out, indent, 0);
  return out;
}

Json read_json_file(const std::string& path, const std::string& what) {
  const std::string text = read_file(path);
  try {
    return Json::parse(text, path);
  } catch (const Error& e) {
    throw Error(what + " " + e.what());
  }
}

Json json_array(const std::vector<std::string>& values) {
  Json a = Json::array();
  for (const std::string& v : values) a.push(v);
  return a;
}

Json json_array(const std::vector<double>& values) {
  Json a = Json::array();
  for (double v : values) a.push(v);
  return a;
}

}  // namespace natten
