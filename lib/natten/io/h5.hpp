// A small HDF5 reader/writer for the "natten-ref v1" files (apps/natten-check/FORMAT.md).
//
// Wraps the HDF5 C API with RAII handles. HDF5's own error printing is silenced; every failure
// becomes a natten::Error whose one-line message names the file, the object and the problem.
// Reads never trust declared sizes: shapes are checked against a caller limit before allocating.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "natten/core/tensor.hpp"

namespace natten::h5 {

// Owns one HDF5 identifier (file, group, dataset, attribute, type, space, property list).
class Handle {
 public:
  Handle() = default;
  explicit Handle(std::int64_t id) : id_(id) {}
  Handle(Handle&& o) noexcept : id_(o.id_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle();
  std::int64_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  std::int64_t id_ = -1;
};

enum class ElementKind { float16, float32, float64, integer, string, other };
std::string_view element_kind_name(ElementKind k);

struct DatasetInfo {
  Shape shape;
  ElementKind kind = ElementKind::other;
};

// Data read as double, row-major.
struct Array {
  Shape shape;
  std::vector<double> values;
};

// A group (the file root or a case). Paths are relative to it.
class Group {
 public:
  Group(std::shared_ptr<Handle> file, Handle group, std::string path);
  const std::string& path() const { return path_; }

  std::vector<std::string> subgroups() const;  // direct children that are groups, sorted
  std::vector<std::string> datasets() const;   // direct children that are datasets, sorted
  bool has_attribute(const std::string& name) const;
  bool has_dataset(const std::string& name) const;
  bool has_group(const std::string& name) const;
  Group subgroup(const std::string& name) const;

  std::string read_string_attribute(const std::string& name) const;
  std::vector<std::int64_t> read_int_attribute(const std::string& name) const;  // scalar -> 1 element
  double read_float_attribute(const std::string& name) const;
  // Attribute type class, to tell "missing" from "wrong type" in messages.
  ElementKind attribute_kind(const std::string& name) const;

  DatasetInfo dataset_info(const std::string& name) const;
  // Reads a float16/32/64 dataset as double; throws if it has more than max_elements elements.
  Array read(const std::string& name, std::int64_t max_elements) const;

  Group create_group(const std::string& name) const;
  void write_attribute(const std::string& name, const std::string& value) const;
  void write_attribute(const std::string& name, const std::vector<std::int64_t>& value) const;
  void write_attribute_int8(const std::string& name, const std::vector<std::int8_t>& value) const;
  void write_attribute(const std::string& name, double value) const;
  void write_attribute(const std::string& name, std::int64_t value) const;  // scalar
  // Stores the tensor's values as float16 (when dtype is f16) or float32 (f32 and bf16);
  // gzip-compressed in chunks when compress is set.
  void write_dataset(const std::string& name, const Tensor& t, bool compress = false) const;

 private:
  std::string where(const std::string& name) const;
  std::shared_ptr<Handle> file_;
  std::shared_ptr<Handle> group_;
  std::string path_;
};

class File {
 public:
  static File open(const std::string& path);    // read-only
  static File create(const std::string& path);  // truncates
  Group root() const;
  const std::string& path() const { return path_; }
  void flush() const;

 private:
  std::shared_ptr<Handle> file_;
  std::string path_;
};

}  // namespace natten::h5
