#include <chrono>
#include <fmt/format.h>
#include "natten/backend.hpp"
int main() {
  using namespace natten;
  ProblemSpec s; s.params = NAParams::uniform(2, 7); s.spatial = {64, 64, 1}; s.heads_q = s.heads_kv = 4; s.dim = 32;
  Problem p = make_problem(s);
  NAInputs in{Tensor::zeros(p.query_shape(), p.dtype), Tensor::zeros(p.kv_shape(p.dim), p.dtype), Tensor::zeros(p.kv_shape(p.dim_v), p.dtype), {}, {}};
  auto b = make_backend("reference");
  auto t0 = std::chrono::steady_clock::now();
  auto r = na_forward(*b, p.params, in);
  auto g = na_backward(*b, p.params, in, r.output, r.lse, r.output);
  fmt::print("{} {:.3f}s\n", p.str(), std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}
