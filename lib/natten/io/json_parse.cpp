// Json::parse: nlohmann-json's strict parser driving a SAX handler that builds our tree directly,
// adding the two checks nlohmann leaves out (duplicate members, a nesting limit) and turning its
// byte offsets into the "line L column C" every error of both apps carries.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "natten/core/error.hpp"
#include "natten/io/json.hpp"

namespace natten {
namespace {

constexpr std::size_t max_depth = 64;

// A character iterator that records how far the parser has read, so that the SAX handler's own
// errors (which nlohmann gives no position) can say where they are.
class CountingIterator {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  CountingIterator(const char* p, std::size_t* read, const char* begin) : p_(p), read_(read), begin_(begin) {}
  reference operator*() const { return *p_; }
  CountingIterator& operator++() {
    ++p_;
    *read_ = static_cast<std::size_t>(p_ - begin_);
    return *this;
  }
  CountingIterator operator++(int) {
    CountingIterator old = *this;
    ++*this;
    return old;
  }
  bool operator==(const CountingIterator& o) const { return p_ == o.p_; }
  bool operator!=(const CountingIterator& o) const { return p_ != o.p_; }

 private:
  const char* p_;
  std::size_t* read_;
  const char* begin_;
};

using Sax = nlohmann::json_sax<nlohmann::json>;

class TreeBuilder final : public Sax {
 public:
  explicit TreeBuilder(const std::size_t* read) : read_(read) {}

  Json root;
  std::string error;       // set when parsing stopped
  std::size_t error_at = 0;  // characters read when it stopped

  bool null() override { return add(Json()); }
  bool boolean(bool b) override { return add(Json(b)); }
  // nlohmann reads non-negative integers as unsigned, negative ones as signed, and integers
  // beyond 64 bits as doubles.
  bool number_integer(number_integer_t i) override { return add(Json(std::int64_t{i})); }
  bool number_unsigned(number_unsigned_t u) override { return add(Json(std::uint64_t{u})); }
  bool number_float(number_float_t d, const string_t&) override { return add(Json(d)); }
  bool string(string_t& s) override { return add(Json(std::move(s))); }
  bool binary(binary_t&) override { return stop("binary values are not JSON"); }
  bool start_object(std::size_t) override { return open(Json::object()); }
  bool start_array(std::size_t) override { return open(Json::array()); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool key(string_t& k) override {
    if (stack_.back()->find(k)) return stop("duplicate member '" + k + "'");
    key_ = std::move(k);
    return true;
  }
  bool parse_error(std::size_t byte, const std::string&, const nlohmann::detail::exception& e) override {
    // e.what(): "[json.exception.parse_error.101] parse error at line 1, column 4: <detail>";
    // the position is recomputed by the caller, the detail kept.
    const std::string what = e.what();
    const std::size_t col = what.find("column ");
    const std::size_t colon = col == std::string::npos ? col : what.find(": ", col);
    error = colon == std::string::npos ? what : what.substr(colon + 2);
    error_at = byte;
    return false;
  }

 private:
  bool stop(std::string why) {
    error = std::move(why);
    error_at = *read_;
    return false;
  }
  bool add(Json v) {
    if (stack_.empty()) root = std::move(v);
    else if (stack_.back()->type() == Json::Type::array) stack_.back()->push(std::move(v));
    else stack_.back()->set(key_, std::move(v));
    return true;
  }
  bool open(Json container) {
    if (stack_.size() >= max_depth) return stop("nesting too deep");
    Json* slot = nullptr;
    if (stack_.empty()) slot = &(root = std::move(container));
    else if (stack_.back()->type() == Json::Type::array) slot = &stack_.back()->push(std::move(container));
    else slot = &stack_.back()->set(key_, std::move(container));
    stack_.push_back(slot);  // stays valid: nothing is added to its parent until it is closed
    return true;
  }
  bool close() {
    stack_.pop_back();
    return true;
  }

  const std::size_t* read_;
  std::vector<Json*> stack_;
  std::string key_;
};

// Line and column (both from 1) of the character at `index`.
std::pair<std::size_t, std::size_t> line_column(std::string_view text, std::size_t index) {
  index = std::min(index, text.size());
  const std::string_view before = text.substr(0, index);
  const std::size_t line_start = before.rfind('\n');
  const std::size_t line = 1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
  return {line, line_start == std::string_view::npos ? index + 1 : index - line_start};
}

}  // namespace

Json Json::parse(std::string_view text, const std::string& source) {
  std::size_t read = 0;
  TreeBuilder builder(&read);
  const CountingIterator first(text.data(), &read, text.data()), last(text.data() + text.size(), &read, text.data());
  if (!nlohmann::json::sax_parse(first, last, &builder)) {
    // Both kinds of error count the offending character as read: point at it.
    const auto [line, column] = line_column(text, builder.error_at > 0 ? builder.error_at - 1 : 0);
    fail("{}: line {} column {}: {}", source, line, column, builder.error);
  }
  return std::move(builder.root);
}

}  // namespace natten
