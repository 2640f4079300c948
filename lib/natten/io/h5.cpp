#include "natten/io/h5.hpp"

#include "natten/io/files.hpp"

#include <hdf5.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "natten/core/error.hpp"

namespace natten::h5 {
namespace {

// HDF5 prints its error stack to stderr by default; we report errors ourselves, once.
struct SilenceHdf5 {
  SilenceHdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }
};
const SilenceHdf5 kSilence;

herr_t first_error(unsigned n, const H5E_error2_t* err, void* out) {
  auto* s = static_cast<std::string*>(out);
  if (n == 0 && err->desc != nullptr) *s = err->desc;
  return 0;
}

// The most specific message on HDF5's error stack (e.g. "truncated file: eof = ..."), without the
// system-call internals HDF5 appends to its own ("..., errno = 13, error message = 'Permission
// denied', flags = 0, o_flags = 242" becomes "Permission denied").
std::string hdf5_detail() {
  std::string s;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, &first_error, &s);
  H5Eclear2(H5E_DEFAULT);
  if (s.empty()) return "HDF5 error";
  const std::string key = "error message = '";
  if (const auto at = s.find(key); at != std::string::npos) {
    const auto end = s.find('\'', at + key.size());
    if (end != std::string::npos) return s.substr(at + key.size(), end - at - key.size());
  }
  if (const auto at = s.find(", errno = "); at != std::string::npos) s.erase(at);
  return s;
}

template <typename... Args>
[[noreturn]] void fail_h5(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...) + ": " + hdf5_detail());
}

Handle checked(hid_t id, const std::string& what) {
  if (id < 0) fail_h5("{}", what);
  return Handle(id);
}

void check(herr_t rc, const std::string& what) {
  if (rc < 0) fail_h5("{}", what);
}

ElementKind kind_of(hid_t type) {
  switch (H5Tget_class(type)) {
    case H5T_FLOAT: {
      const size_t size = H5Tget_size(type);
      if (size == 2) return ElementKind::float16;
      if (size == 4) return ElementKind::float32;
      if (size == 8) return ElementKind::float64;
      return ElementKind::other;
    }
    case H5T_INTEGER: return ElementKind::integer;
    case H5T_STRING: return ElementKind::string;
    default: return ElementKind::other;
  }
}

Shape shape_of(hid_t space, const std::string& what) {
  const int nd = H5Sget_simple_extent_ndims(space);
  if (nd < 0) fail_h5("{}: cannot read dataspace", what);
  std::vector<hsize_t> dims(static_cast<size_t>(nd));
  if (nd > 0 && H5Sget_simple_extent_dims(space, dims.data(), nullptr) < 0) fail_h5("{}: cannot read dims", what);
  Shape s;
  for (hsize_t d : dims) {
    if (d > static_cast<hsize_t>(INT64_MAX)) fail("{}: extent {} is too large", what, static_cast<unsigned long long>(d));
    s.push_back(static_cast<std::int64_t>(d));
  }
  return s;
}

// Element count of a shape, or -1 once it passes `limit` (no overflow on corrupt extents).
std::int64_t bounded_numel(const Shape& s, std::int64_t limit) {
  std::int64_t n = 1;
  for (auto e : s) {
    if (e == 0) return 0;
    if (n > limit / e) return -1;
    n *= e;
  }
  return n;
}

// A corrupt header can declare a shape far larger than the data behind it; HDF5 would then either
// fail deep inside the read or hand back fill values. Refuse before allocating: contiguous data
// must be fully stored, and chunked data can be compressed at most ~1032:1 (deflate's limit; other
// filters compress less), and no dataset can store more bytes than the file holds.
void check_storage_plausible(hid_t file, hid_t dataset, std::int64_t numel, size_t elem_size, const std::string& what) {
  if (numel == 0) return;
  const double declared = static_cast<double>(numel) * static_cast<double>(elem_size);
  const double stored = static_cast<double>(H5Dget_storage_size(dataset));
  hsize_t file_size = 0;
  if (H5Fget_filesize(file, &file_size) < 0) fail_h5("{}: cannot read the file size", what);
  if (stored > static_cast<double>(file_size))
    fail("{}: claims {} stored bytes but the file has only {} (truncated or corrupt)", what, stored,
         static_cast<unsigned long long>(file_size));
  Handle dcpl = checked(H5Dget_create_plist(dataset), "cannot read the storage layout of " + what);
  const H5D_layout_t layout = H5Pget_layout(dcpl.get());
  if (layout == H5D_CONTIGUOUS && stored < declared)
    fail("{}: declares {} bytes of data but stores {} (truncated or corrupt)", what, declared, stored);
  if (layout == H5D_CHUNKED && declared > 1100.0 * stored + 4096.0)
    fail("{}: declares {} bytes of data but stores only {} compressed (corrupt)", what, declared, stored);
}

}  // namespace

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    if (id_ >= 0) H5Idec_ref(id_);
    id_ = o.id_;
    o.id_ = -1;
  }
  return *this;
}

Handle::~Handle() {
  if (id_ >= 0) H5Idec_ref(id_);
}

std::string_view element_kind_name(ElementKind k) {
  switch (k) {
    case ElementKind::float16: return "float16";
    case ElementKind::float32: return "float32";
    case ElementKind::float64: return "float64";
    case ElementKind::integer: return "integer";
    case ElementKind::string: return "string";
    case ElementKind::other: break;
  }
  return "unsupported type";
}

Group::Group(std::shared_ptr<Handle> file, Handle group, std::string path)
    : file_(std::move(file)), group_(std::make_shared<Handle>(std::move(group))), path_(std::move(path)) {}

std::string Group::where(const std::string& name) const {
  return path_ == "/" ? "/" + name : path_ + "/" + name;
}

namespace {

template <H5O_type_t Type>
herr_t collect(hid_t group, const char* name, const H5L_info_t*, void* out) {
  H5O_info_t info;
  if (H5Oget_info_by_name(group, name, &info, H5P_DEFAULT) >= 0 && info.type == Type)
    static_cast<std::vector<std::string>*>(out)->push_back(name);
  return 0;
}

bool link_is(hid_t group, const std::string& name, H5O_type_t type) {
  if (H5Lexists(group, name.c_str(), H5P_DEFAULT) <= 0) return false;
  H5O_info_t info;
  if (H5Oget_info_by_name(group, name.c_str(), &info, H5P_DEFAULT) < 0) {
    H5Eclear2(H5E_DEFAULT);
    return false;
  }
  return info.type == type;
}

}  // namespace

std::vector<std::string> Group::subgroups() const {
  std::vector<std::string> names;
  hsize_t idx = 0;
  if (H5Literate(group_->get(), H5_INDEX_NAME, H5_ITER_INC, &idx, &collect<H5O_TYPE_GROUP>, &names) < 0)
    fail_h5("{}: cannot list groups", path_);
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> Group::datasets() const {
  std::vector<std::string> names;
  hsize_t idx = 0;
  if (H5Literate(group_->get(), H5_INDEX_NAME, H5_ITER_INC, &idx, &collect<H5O_TYPE_DATASET>, &names) < 0)
    fail_h5("{}: cannot list datasets", path_);
  std::sort(names.begin(), names.end());
  return names;
}

bool Group::has_attribute(const std::string& name) const {
  const htri_t r = H5Aexists(group_->get(), name.c_str());
  if (r < 0) fail_h5("{}: cannot query attribute '{}'", path_, name);
  return r > 0;
}

bool Group::has_dataset(const std::string& name) const { return link_is(group_->get(), name, H5O_TYPE_DATASET); }
bool Group::has_group(const std::string& name) const { return link_is(group_->get(), name, H5O_TYPE_GROUP); }

Group Group::subgroup(const std::string& name) const {
  return Group(file_, checked(H5Gopen2(group_->get(), name.c_str(), H5P_DEFAULT), "cannot open group " + where(name)),
               where(name));
}

ElementKind Group::attribute_kind(const std::string& name) const {
  Handle a = checked(H5Aopen(group_->get(), name.c_str(), H5P_DEFAULT), "cannot open attribute " + where(name));
  Handle t = checked(H5Aget_type(a.get()), "cannot read type of attribute " + where(name));
  return kind_of(t.get());
}

std::string Group::read_string_attribute(const std::string& name) const {
  const std::string what = "attribute " + where(name);
  Handle a = checked(H5Aopen(group_->get(), name.c_str(), H5P_DEFAULT), "cannot open " + what);
  Handle t = checked(H5Aget_type(a.get()), "cannot read type of " + what);
  if (H5Tget_class(t.get()) != H5T_STRING) fail("{}: expected a string, found {}", what, element_kind_name(kind_of(t.get())));
  Handle space = checked(H5Aget_space(a.get()), "cannot read dataspace of " + what);
  if (H5Sget_simple_extent_npoints(space.get()) != 1) fail("{}: expected one string", what);
  if (H5Tis_variable_str(t.get()) > 0) {
    Handle mem = checked(H5Tcopy(H5T_C_S1), "string type");
    check(H5Tset_size(mem.get(), H5T_VARIABLE), "string type");
    check(H5Tset_cset(mem.get(), H5Tget_cset(t.get())), "string type");
    char* s = nullptr;
    check(H5Aread(a.get(), mem.get(), &s), "cannot read " + what);
    std::string out = s != nullptr ? s : "";
    H5free_memory(s);
    return out;
  }
  const size_t size = H5Tget_size(t.get());
  if (size == 0 || size > (1u << 20)) fail("{}: implausible string size {}", what, size);
  std::string buf(size, '\0');
  check(H5Aread(a.get(), t.get(), buf.data()), "cannot read " + what);
  buf.resize(std::strlen(buf.c_str()));
  return buf;
}

std::vector<std::int64_t> Group::read_int_attribute(const std::string& name) const {
  const std::string what = "attribute " + where(name);
  Handle a = checked(H5Aopen(group_->get(), name.c_str(), H5P_DEFAULT), "cannot open " + what);
  Handle t = checked(H5Aget_type(a.get()), "cannot read type of " + what);
  if (kind_of(t.get()) != ElementKind::integer)
    fail("{}: expected integers, found {}", what, element_kind_name(kind_of(t.get())));
  Handle space = checked(H5Aget_space(a.get()), "cannot read dataspace of " + what);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n < 1 || n > 64) fail("{}: expected 1 to 64 values, found {}", what, static_cast<long long>(n));
  std::vector<std::int64_t> v(static_cast<size_t>(n));
  check(H5Aread(a.get(), H5T_NATIVE_INT64, v.data()), "cannot read " + what);
  return v;
}

double Group::read_float_attribute(const std::string& name) const {
  const std::string what = "attribute " + where(name);
  Handle a = checked(H5Aopen(group_->get(), name.c_str(), H5P_DEFAULT), "cannot open " + what);
  Handle t = checked(H5Aget_type(a.get()), "cannot read type of " + what);
  const ElementKind k = kind_of(t.get());
  if (k == ElementKind::string || k == ElementKind::other)
    fail("{}: expected a number, found {}", what, element_kind_name(k));
  Handle space = checked(H5Aget_space(a.get()), "cannot read dataspace of " + what);
  if (H5Sget_simple_extent_npoints(space.get()) != 1) fail("{}: expected one number", what);
  double v = 0.0;
  check(H5Aread(a.get(), H5T_NATIVE_DOUBLE, &v), "cannot read " + what);
  return v;
}

DatasetInfo Group::dataset_info(const std::string& name) const {
  const std::string what = "dataset " + where(name);
  Handle d = checked(H5Dopen2(group_->get(), name.c_str(), H5P_DEFAULT), "cannot open " + what);
  Handle t = checked(H5Dget_type(d.get()), "cannot read type of " + what);
  Handle space = checked(H5Dget_space(d.get()), "cannot read dataspace of " + what);
  return {shape_of(space.get(), what), kind_of(t.get())};
}

Array Group::read(const std::string& name, std::int64_t max_elements) const {
  const std::string what = "dataset " + where(name);
  if (!has_dataset(name)) fail("{}: missing", what);
  Handle d = checked(H5Dopen2(group_->get(), name.c_str(), H5P_DEFAULT), "cannot open " + what);
  Handle t = checked(H5Dget_type(d.get()), "cannot read type of " + what);
  const ElementKind k = kind_of(t.get());
  if (k != ElementKind::float16 && k != ElementKind::float32 && k != ElementKind::float64)
    fail("{}: expected float16/32/64 elements, found {}", what, element_kind_name(k));
  Handle space = checked(H5Dget_space(d.get()), "cannot read dataspace of " + what);
  Array out;
  out.shape = shape_of(space.get(), what);
  const std::int64_t n = bounded_numel(out.shape, max_elements);
  if (n < 0) fail("{}: shape {} exceeds the limit of {} elements", what, shape_str(out.shape), max_elements);
  check_storage_plausible(file_->get(), d.get(), n, H5Tget_size(t.get()), what);
  out.values.resize(static_cast<size_t>(n));
  if (n > 0) check(H5Dread(d.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.values.data()), "cannot read " + what);
  return out;
}

Group Group::create_group(const std::string& name) const {
  return Group(file_,
               checked(H5Gcreate2(group_->get(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                       "cannot create group " + where(name)),
               where(name));
}

namespace {

void write_attr(hid_t group, const std::string& name, hid_t file_type, hid_t mem_type, const Shape& dims,
                const void* data, const std::string& what) {
  std::vector<hsize_t> d(dims.begin(), dims.end());
  Handle space = checked(dims.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(d.size()), d.data(), nullptr),
                         "dataspace for " + what);
  if (H5Aexists(group, name.c_str()) > 0) check(H5Adelete(group, name.c_str()), "cannot replace " + what);
  Handle a = checked(H5Acreate2(group, name.c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                     "cannot create " + what);
  check(H5Awrite(a.get(), mem_type, data), "cannot write " + what);
}

}  // namespace

void Group::write_attribute(const std::string& name, const std::string& value) const {
  Handle t = checked(H5Tcopy(H5T_C_S1), "string type");
  check(H5Tset_size(t.get(), H5T_VARIABLE), "string type");
  check(H5Tset_cset(t.get(), H5T_CSET_UTF8), "string type");
  const char* p = value.c_str();
  write_attr(group_->get(), name, t.get(), t.get(), {}, &p, "attribute " + where(name));
}

void Group::write_attribute(const std::string& name, const std::vector<std::int64_t>& value) const {
  write_attr(group_->get(), name, H5T_STD_I64LE, H5T_NATIVE_INT64, {static_cast<std::int64_t>(value.size())},
             value.data(), "attribute " + where(name));
}

void Group::write_attribute_int8(const std::string& name, const std::vector<std::int8_t>& value) const {
  write_attr(group_->get(), name, H5T_STD_I8LE, H5T_NATIVE_INT8, {static_cast<std::int64_t>(value.size())},
             value.data(), "attribute " + where(name));
}

void Group::write_attribute(const std::string& name, double value) const {
  write_attr(group_->get(), name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {}, &value, "attribute " + where(name));
}

void Group::write_attribute(const std::string& name, std::int64_t value) const {
  write_attr(group_->get(), name, H5T_STD_I64LE, H5T_NATIVE_INT64, {}, &value, "attribute " + where(name));
}

void Group::write_dataset(const std::string& name, const Tensor& t, bool compress) const {
  const std::string what = "dataset " + where(name);
  std::vector<hsize_t> dims(t.shape().begin(), t.shape().end());
  Handle space = checked(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), "dataspace for " + what);
  Handle dcpl = checked(H5Pcreate(H5P_DATASET_CREATE), "property list for " + what);
  if (compress && t.numel() > 0) {
    std::vector<hsize_t> chunk = dims;
    for (auto& c : chunk) c = std::max<hsize_t>(c, 1);
    // Chunk along the leading axes only so a chunk stays a modest size.
    hsize_t bytes = 4;
    for (size_t i = chunk.size(); i-- > 0;) {
      if (bytes * chunk[i] > (1u << 20)) chunk[i] = std::max<hsize_t>(1, (1u << 20) / bytes);
      bytes *= chunk[i];
    }
    check(H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()), "chunking " + what);
    check(H5Pset_deflate(dcpl.get(), 4), "gzip for " + what);
  }
  const bool half = t.dtype() == DType::f16;
  Handle file_type = checked(H5Tcopy(H5T_IEEE_F32LE), "float type");
  if (half) {
    // IEEE binary16 as h5py writes it: sign bit 15, exponent bits 10-14 (bias 15), mantissa 0-9.
    check(H5Tset_fields(file_type.get(), 15, 10, 5, 0, 10), "float16 type");
    check(H5Tset_size(file_type.get(), 2), "float16 type");
    check(H5Tset_ebias(file_type.get(), 15), "float16 type");
  }
  Handle d = checked(H5Dcreate2(group_->get(), name.c_str(), file_type.get(), space.get(), H5P_DEFAULT, dcpl.get(),
                                H5P_DEFAULT),
                     "cannot create " + what);
  const std::vector<float> values = t.to_floats();
  if (!values.empty())
    check(H5Dwrite(d.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), "cannot write " + what);
}

File File::open(const std::string& path) {
  File f;
  f.path_ = path;
  // A FIFO or device would block HDF5 (or stream forever): refused at once, as are directories,
  // missing and unreadable files, with the system's words.
  require_regular_file(path, "HDF5 file");
  const htri_t is_h5 = H5Fis_hdf5(path.c_str());
  if (is_h5 == 0) fail("{}: not an HDF5 file", path);
  if (is_h5 < 0) fail_h5("{}: cannot open", path);
  f.file_ = std::make_shared<Handle>(checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), path + ": cannot open"));
  return f;
}

File File::create(const std::string& path) {
  File f;
  f.path_ = path;
  f.file_ = std::make_shared<Handle>(
      checked(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), path + ": cannot create"));
  return f;
}

Group File::root() const {
  return Group(file_, checked(H5Gopen2(file_->get(), "/", H5P_DEFAULT), path_ + ": cannot open root group"), "/");
}

void File::flush() const { check(H5Fflush(file_->get(), H5F_SCOPE_GLOBAL), path_ + ": cannot flush"); }

}  // namespace natten::h5
