// Links the installed library and runs a small 1D forward on the reference and cpu backends:
// L = 8, K = 3, zero queries (uniform weights over each window), value j at key j, so each output is
// the mean of its window's keys: 1 at the left border (keys 0-2), j in the interior, 6 at the right
// border (keys 5-7).
#include <cmath>
#include <cstdio>
#include <memory>
#include <vector>

#include "natten/backend.hpp"

int main() {
  const natten::Shape shape{1, 8, 1, 1};  // [batch, length, heads, dim]
  std::vector<float> v(8);
  for (int j = 0; j < 8; ++j) v[static_cast<std::size_t>(j)] = static_cast<float>(j);
  natten::NAInputs in;
  in.query = natten::Tensor::zeros(shape, natten::DType::f32);
  in.key = natten::Tensor::zeros(shape, natten::DType::f32);
  in.value = natten::Tensor::from_floats(shape, natten::DType::f32, v.data());
  const float expected[8] = {1, 1, 2, 3, 4, 5, 6, 6};
  int failures = 0;
  for (const char* name : {"reference", "cpu"}) {
    std::unique_ptr<natten::Backend> backend = natten::make_backend(name);
    const natten::ForwardResult r = natten::na_forward(*backend, natten::NAParams::uniform(1, 3), in);
    for (int i = 0; i < 8; ++i) {
      const float got = r.output.get(i);
      if (std::fabs(got - expected[i]) > 1e-5f) {
        std::printf("%s: output[%d] = %g, expected %g\n", name, i, static_cast<double>(got), static_cast<double>(expected[i]));
        ++failures;
      }
    }
  }
  std::printf("natten_consumer: %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : 1;
}
