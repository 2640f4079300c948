// The HDF5 layer: write/read round trips in every storage type, gzip, and clear errors.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "natten/core/error.hpp"
#include "natten/io/h5.hpp"
#include "support/random_problem.hpp"

namespace natten {
namespace {

std::string temp_path(const char* name) {
  return (std::filesystem::temp_directory_path() / (std::string("natten_test_h5_") + name)).string();
}

TEST(H5, RoundTripsAttributesAndDatasets) {
  const std::string path = temp_path("roundtrip.h5");
  std::mt19937_64 rng(1);
  const Tensor f32 = testing::random_tensor(rng, {2, 3, 4}, DType::f32);
  const Tensor f16 = testing::random_tensor(rng, {5, 7}, DType::f16);
  {
    const h5::File f = h5::File::create(path);
    const h5::Group g = f.root().create_group("case");
    g.write_attribute("op", std::string("na"));
    g.write_attribute("kernel_size", std::vector<std::int64_t>{3, 5});
    g.write_attribute_int8("is_causal", {1, 0});
    g.write_attribute("scale", 0.25);
    g.write_dataset("a", f32);
    g.write_dataset("b", f16, /*compress=*/true);
  }
  const h5::File f = h5::File::open(path);
  const h5::Group root = f.root();
  EXPECT_EQ(root.subgroups(), std::vector<std::string>{"case"});
  const h5::Group g = root.subgroup("case");
  EXPECT_EQ(g.read_string_attribute("op"), "na");
  EXPECT_EQ(g.read_int_attribute("kernel_size"), (std::vector<std::int64_t>{3, 5}));
  EXPECT_EQ(g.read_int_attribute("is_causal"), (std::vector<std::int64_t>{1, 0}));
  EXPECT_EQ(g.read_float_attribute("scale"), 0.25);
  EXPECT_EQ(g.dataset_info("b").kind, h5::ElementKind::float16);
  const h5::Array a = g.read("a", 1000);
  EXPECT_EQ(a.shape, f32.shape());
  for (std::int64_t i = 0; i < f32.numel(); ++i) EXPECT_EQ(a.values[static_cast<std::size_t>(i)], f32.get(i));
  const h5::Array b = g.read("b", 1000);
  for (std::int64_t i = 0; i < f16.numel(); ++i) EXPECT_EQ(b.values[static_cast<std::size_t>(i)], f16.get(i));
  EXPECT_THROW(g.read("a", 10), Error);             // over the element limit
  EXPECT_THROW(g.read_int_attribute("op"), Error);  // wrong type
  EXPECT_THROW(g.read("missing", 10), Error);
  std::remove(path.c_str());
}

TEST(H5, NotAnHdf5FileIsAClearError) {
  const std::string path = temp_path("garbage.h5");
  std::ofstream(path) << "definitely not hdf5\n";
  try {
    h5::File::open(path);
    ADD_FAILURE() << "opened a text file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not an HDF5 file"), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace natten
