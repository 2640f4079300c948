#include "support/ref_fixtures.hpp"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "natten/backend.hpp"
#include "natten/io/h5.hpp"
#include "natten/parity/case_generator.hpp"

namespace natten::testing {

config::ResolvedCase tiny_case_config(const std::string& name, int rank, DType dtype, bool backward, int add_kv) {
  config::ResolvedCase c;
  c.name = name;
  c.spec.params = NAParams::uniform(rank, 3);
  c.spec.dtype = dtype;
  c.spec.spatial = rank == 1 ? std::array<std::int64_t, kMaxRank>{10, 1, 1} : std::array<std::int64_t, kMaxRank>{6, 5, 1};
  c.spec.heads_q = 2;
  c.spec.heads_kv = 2;
  c.spec.dim = 4;
  c.spec.extra_kv = add_kv;
  c.backward = backward;
  c.seed = 1234;
  return c;
}

RefCase tiny_case(const std::string& name, int rank, DType dtype, bool backward, int add_kv) {
  auto backend = make_backend("reference");
  return generate_ref_case(tiny_case_config(name, rank, dtype, backward, add_kv), *backend);
}

std::string temp_path(const std::string& stem) {
  static std::atomic<int> counter{0};
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir());
  return (dir / (stem + "." + std::to_string(::getpid()) + "." + std::to_string(counter++) + ".h5")).string();
}

void write_cases(const std::string& path, const std::vector<RefCase>& cases, bool compress) {
  const h5::File f = h5::File::create(path);
  const h5::Group root = f.root();
  root.write_attribute("natten_ref_version", std::int64_t{1});
  for (const RefCase& c : cases) write_ref_case(root, c, "reference", compress);
}

Tensor to_heads_first(const Tensor& t, int rank, bool has_dim) {
  std::vector<int> order{0, rank + 1};
  for (int a = 0; a < rank; ++a) order.push_back(a + 1);
  if (has_dim) order.push_back(rank + 2);
  return t.permute(order).contiguous();
}

std::vector<unsigned char> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<unsigned char>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::vector<unsigned char>& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace natten::testing
