// Every kind of bad input natten-check must survive: each is a clear per-case (or per-file) error,
// the run goes on with the other cases, and the exit code says "input error" (2).
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>

#include "case_list.hpp"
#include "check_runner.hpp"
#include "natten/io/h5.hpp"
#include "support/ref_fixtures.hpp"

namespace natten {
namespace {

using check::RunReport;
using check::Status;

check::RunOptions options() {
  check::RunOptions o;
  o.backends = {"reference"};
  o.progress = false;
  o.max_elements = std::int64_t{1} << 20;
  return o;
}

// Raw HDF5 edits the library's writer would never make.
void delete_link(const std::string& path, const std::string& link) {
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  ASSERT_GE(H5Ldelete(f, link.c_str(), H5P_DEFAULT), 0) << link;
  H5Fclose(f);
}

// A float32 dataset declaring `dims` whose chunks are never written (no data behind the shape).
void add_hollow_dataset(const std::string& path, const std::string& link, const std::vector<hsize_t>& dims) {
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  H5Ldelete(f, link.c_str(), H5P_DEFAULT);
  const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  std::vector<hsize_t> chunk(dims.size(), 1);
  H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data());
  const hid_t d = H5Dcreate2(f, link.c_str(), H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  ASSERT_GE(d, 0);
  H5Dclose(d);
  H5Pclose(dcpl);
  H5Sclose(space);
  H5Fclose(f);
}

void add_int_dataset(const std::string& path, const std::string& link, const std::vector<hsize_t>& dims) {
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  H5Ldelete(f, link.c_str(), H5P_DEFAULT);
  const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  const hid_t d = H5Dcreate2(f, link.c_str(), H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  std::vector<std::int32_t> zeros(1 << 12, 0);
  H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros.data());
  H5Dclose(d);
  H5Sclose(space);
  H5Fclose(f);
}

struct BadCase {
  std::string name;
  std::function<void(RefCase&)> edit_case;                         // before writing
  std::function<void(const h5::Group&)> edit_group;                // after writing, library API
  std::function<void(const std::string& path)> edit_file;         // after writing, raw HDF5
  std::string expected_message;                                    // exact
};

TEST(CheckBadInputs, EachBadCaseIsAClearErrorAndTheRunGoesOn) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<BadCase> bad = {
      {"missing_output", nullptr, nullptr, [](const std::string& p) { delete_link(p, "missing_output/output"); },
       "case 'missing_output': dataset 'output' is missing"},
      {"missing_grad", nullptr, nullptr, [](const std::string& p) { delete_link(p, "missing_grad/grad_key"); },
       "case 'missing_grad': dataset 'grad_key' is missing"},
      {"missing_additional_value", nullptr, nullptr,
       [](const std::string& p) { delete_link(p, "missing_additional_value/additional_value"); },
       "case 'missing_additional_value': dataset 'additional_value' is missing"},
      {"wrong_rank", [](RefCase& c) { c.inputs.query = Tensor::zeros({10, 2, 4}, DType::f32); }, nullptr, nullptr,
       "case 'wrong_rank': dataset 'query' has shape [10, 2, 4], expected 4 axes"},
      {"wrong_output_shape", [](RefCase& c) { c.expected["output"] = Tensor::zeros({1, 10, 2, 3}, DType::f32); },
       nullptr, nullptr,
       "case 'wrong_output_shape': dataset 'output' has shape [1, 10, 2, 3] (heads-last), expected [1, 10, 2, 4]"},
      {"mismatched_key", [](RefCase& c) { c.inputs.key = Tensor::zeros({1, 9, 2, 4}, DType::f32); }, nullptr, nullptr,
       "case 'mismatched_key': spatial size along axis 0: query 10, key 9, value 10 differ"},
      {"unknown_op", nullptr, [](const h5::Group& g) { g.write_attribute("op", std::string("na_fancy")); }, nullptr,
       "case 'unknown_op': unsupported op 'na_fancy' (this natten-check knows: na, na_qk, na_av, merge)"},
      {"op_not_a_string", nullptr, [](const h5::Group& g) { g.write_attribute("op", std::int64_t{3}); }, nullptr,
       "attribute /op_not_a_string/op: expected a string, found integer"},
      {"kernel_as_string", nullptr, [](const h5::Group& g) { g.write_attribute("kernel_size", std::string("3")); },
       nullptr, "attribute /kernel_as_string/kernel_size: expected integers, found string"},
      {"kernel_as_float", nullptr, [](const h5::Group& g) { g.write_attribute("kernel_size", 3.0); }, nullptr,
       "attribute /kernel_as_float/kernel_size: expected integers, found float64"},
      {"kernel_per_axis_count", nullptr,
       [](const h5::Group& g) { g.write_attribute("kernel_size", std::vector<std::int64_t>{3, 3}); }, nullptr,
       "case 'kernel_per_axis_count': attribute 'kernel_size' has 2 values, expected 1 (one per axis)"},
      {"kernel_too_large", nullptr,
       [](const h5::Group& g) { g.write_attribute("kernel_size", std::vector<std::int64_t>{11}); }, nullptr,
       "case 'kernel_too_large': kernel_size[0] * dilation[0] = 11 * 1 exceeds input size 10 along axis 0"},
      {"rank_out_of_range", nullptr, [](const h5::Group& g) { g.write_attribute("rank", std::int64_t{4}); }, nullptr,
       "case 'rank_out_of_range': attribute 'rank' must be 1, 2 or 3"},
      {"bad_dtype", nullptr, [](const h5::Group& g) { g.write_attribute("dtype", std::string("float8")); }, nullptr,
       "case 'bad_dtype': dtype: unknown 'float8' (expected fp32, fp16 or bf16)"},
      {"bad_layout", nullptr, [](const h5::Group& g) { g.write_attribute("layout", std::string("heads_middle")); },
       nullptr, "case 'bad_layout': layout 'heads_middle' (expected heads_last or heads_first)"},
      {"scale_nan", nullptr, [](const h5::Group& g) { g.write_attribute("scale", std::nan("")); }, nullptr,
       "case 'scale_nan': scale = nan: must be finite and non-zero (leave it unset for head_dim ** -0.5)"},
      {"nan_in_reference",
       [nan](RefCase& c) {
         c.expected["output"] = c.expected.at("output").clone();
         c.expected["output"].set(5, nan);
       },
       nullptr, nullptr, "case 'nan_in_reference': dataset 'output' holds a non-finite value (nan) at flat index 5"},
      {"inf_in_input",
       [inf](RefCase& c) {
         c.inputs.value = c.inputs.value.clone();
         c.inputs.value.set(7, -inf);
       },
       nullptr, nullptr, "case 'inf_in_input': dataset 'value' holds a non-finite value (-inf) at flat index 7"},
      {"zero_size",
       [](RefCase& c) {
         for (Tensor* t : {&c.inputs.query, &c.inputs.key, &c.inputs.value}) *t = Tensor::zeros({1, 0, 2, 4}, DType::f32);
       },
       nullptr, nullptr, "case 'zero_size': input size along axis 0 is 0: must be >= 1"},
      {"huge_over_limit", nullptr, nullptr,
       [](const std::string& p) { add_hollow_dataset(p, "huge_over_limit/output", {1u << 20, 1u << 20, 1024, 4}); },
       "dataset /huge_over_limit/output: shape [1048576, 1048576, 1024, 4] exceeds the limit of 1048576 elements"},
      {"huge_hollow", nullptr, nullptr,
       [](const std::string& p) { add_hollow_dataset(p, "huge_hollow/output", {1, 1000, 250, 4}); },
       "dataset /huge_hollow/output: declares 4000000 bytes of data but stores only 0 compressed (corrupt)"},
      {"integer_dataset", nullptr, nullptr,
       [](const std::string& p) { add_int_dataset(p, "integer_dataset/output", {1, 10, 2, 4}); },
       "dataset /integer_dataset/output: expected float16/32/64 elements, found integer"},
  };

  const std::string path = testing::temp_path("bad_cases");
  std::vector<RefCase> cases = {testing::tiny_case("aaa_good", 1, DType::f32, true, 1)};
  for (const BadCase& b : bad) {
    RefCase c = testing::tiny_case(b.name, 1, DType::f32, true, 1);
    if (b.edit_case) b.edit_case(c);
    cases.push_back(c);
  }
  cases.push_back(testing::tiny_case("zzz_good", 2, DType::f16));
  {
    const h5::File f = h5::File::create(path);
    const h5::Group root = f.root();
    for (const RefCase& c : cases) write_ref_case_unvalidated(root, c, "reference");
    root.create_group("not_a_case");  // no `op`: ignored
    for (const BadCase& b : bad) {
      if (b.edit_group) b.edit_group(root.subgroup(b.name));
    }
  }
  for (const BadCase& b : bad) {
    if (b.edit_file) b.edit_file(path);
  }

  const RunReport r = check::run_backend_checks(path, options());
  EXPECT_EQ(r.file_error, "");
  ASSERT_EQ(r.results.size(), bad.size() + 2);
  EXPECT_EQ(r.results.front().case_name, "aaa_good");
  EXPECT_EQ(r.results.front().status, Status::pass);
  EXPECT_EQ(r.results.back().case_name, "zzz_good");
  EXPECT_EQ(r.results.back().status, Status::pass);
  for (const BadCase& b : bad) {
    const auto it = std::find_if(r.results.begin(), r.results.end(),
                                 [&](const check::CaseResult& c) { return c.case_name == b.name; });
    ASSERT_NE(it, r.results.end()) << b.name;
    EXPECT_EQ(it->status, Status::error) << b.name;
    EXPECT_NE(it->message.find(b.expected_message), std::string::npos)
        << b.name << ": got '" << it->message << "'";
  }
  EXPECT_EQ(check::exit_code(r, false), 2);

  // --list reports the same errors per case, and exits 2.
  const check::CaseListing listing = check::list_cases(path, {}, std::int64_t{1} << 20);
  EXPECT_EQ(listing.cases.size(), bad.size() + 2);
  std::FILE* sink = std::fopen("/dev/null", "w");
  EXPECT_EQ(check::print_listing(listing, sink), 2);
  std::fclose(sink);
}

TEST(CheckBadInputs, UnreadableFilesAreFileErrors) {
  const std::string good = testing::temp_path("good");
  testing::write_cases(good, {testing::tiny_case("a"), testing::tiny_case("b", 2)});
  const std::vector<unsigned char> bytes = testing::read_bytes(good);

  const std::string text = testing::temp_path("text");
  testing::write_bytes(text, {'h', 'e', 'l', 'l', 'o', '\n'});
  const std::string empty = testing::temp_path("empty");
  testing::write_bytes(empty, {});
  const std::string dir = testing::temp_path("dir");
  std::filesystem::create_directory(dir);
  const std::string no_cases = testing::temp_path("no_cases");
  {
    const h5::File f = h5::File::create(no_cases);
    f.root().create_group("just_a_group");
  }

  const std::pair<std::string, std::string> files[] = {
      {"/nonexistent/refs.h5", "HDF5 file /nonexistent/refs.h5: No such file or directory"},
      {text, text + ": not an HDF5 file"},
      {empty, empty + ": not an HDF5 file"},
      {dir, "HDF5 file " + dir + ": is a directory, not a file"},
      {no_cases, no_cases + ": no cases (no top-level group has an 'op' attribute)"},
  };
  for (const auto& [path, message] : files) {
    const RunReport r = check::run_backend_checks(path, options());
    EXPECT_EQ(r.file_error, message);
    EXPECT_TRUE(r.results.empty());
    EXPECT_EQ(check::exit_code(r, false), 2);
  }

  // Truncations at several points: never a crash; a file or case error (exit 2), never a pass.
  for (const double fraction : {0.0005, 0.01, 0.1, 0.5, 0.9, 0.999}) {
    const std::string cut = testing::temp_path("truncated");
    testing::write_bytes(cut, std::vector<unsigned char>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(
                                                                                           fraction * static_cast<double>(bytes.size()))));
    const RunReport r = check::run_backend_checks(cut, options());
    EXPECT_EQ(check::exit_code(r, false), 2) << "truncated at " << fraction;
    if (r.file_error.empty()) {
      for (const auto& c : r.results) EXPECT_EQ(c.status, Status::error) << c.case_name << " at " << fraction;
    }
  }
}

TEST(CheckBadInputs, CaseGlobMatchingNothingIsAnError) {
  const std::string path = testing::temp_path("glob");
  testing::write_cases(path, {testing::tiny_case("na1d_a"), testing::tiny_case("na2d_b", 2)});
  check::RunOptions o = options();
  o.case_globs = {"na3d*"};
  const RunReport r = check::run_backend_checks(path, o);
  EXPECT_EQ(r.file_error, "--case 'na3d*': matches no case (of 2: na1d_a, na2d_b)");
  o.case_globs = {"na2d*"};
  const RunReport r2 = check::run_backend_checks(path, o);
  ASSERT_EQ(r2.results.size(), 1u);
  EXPECT_EQ(r2.results[0].case_name, "na2d_b");
}

// A candidate of another shape is a parity failure (test_check_io.cpp), but a candidate dataset that
// is not floats is a malformed file: an input error (exit 2) naming it, whatever its shape.
TEST(CheckBadInputs, CandidateDatasetOfIntegersIsAnInputError) {
  const std::string ref = testing::temp_path("ints_ref"), cand = testing::temp_path("ints_cand");
  const RefCase a = testing::tiny_case("a");
  testing::write_cases(ref, {a});
  testing::write_cases(cand, {a});
  add_int_dataset(cand, "a/output", {5});
  const RunReport r = check::run_candidate_check(ref, cand, options());
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].status, Status::error);
  EXPECT_NE(r.results[0].message.find("output"), std::string::npos) << r.results[0].message;
  EXPECT_EQ(check::exit_code(r, false), 2);
}

}  // namespace
}  // namespace natten
