// natten-bench: trustworthy timings of neighborhood-attention backends (README.md beside this file).
#include "app.hpp"
#include "natten/backend.hpp"

int main(int argc, char** argv) { return natten::bench::natten_bench_main(argc, argv, natten::make_backend); }
