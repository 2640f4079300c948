// natten-bench-fault: natten-bench whose cpu backend gets slower on demand. Built with the tests
// only, never installed: it is how the tests prove that the guards catch a slowdown of a known
// size in exactly the row that has it (tests/test_bench_work.cpp, tests/test_bench_ab.cpp).
//
// NATTEN_FAULT (unset: no fault) names the calls to slow and by how much, comma separated:
//   op=forward|backward   the fused op whose calls get the extra work
//   rank=N                only on problems of this rank (optional)
//   instructions=N        N extra instructions per call (a 2-instruction loop: exact under callgrind)
//   time=F                F times the call's own wall time of extra busy-waiting (A/B timing)
// The slowed backend keeps the name "cpu", so its rows match the baseline's.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "app.hpp"
#include "natten/backend.hpp"
#include "natten/core/error.hpp"

namespace natten {
namespace {

struct Fault {
  Op op = Op::forward;
  int rank = 0;  // 0 = every rank
  std::int64_t instructions = 0;
  double time_fraction = 0;
};

Fault parse_fault(const std::string& spec) {
  Fault f;
  for (std::size_t pos = 0; pos <= spec.size();) {
    const std::size_t comma = std::min(spec.find(',', pos), spec.size());
    const std::string item = spec.substr(pos, comma - pos);
    const std::size_t eq = item.find('=');
    const std::string key = item.substr(0, eq), value = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (key == "op" && (value == "forward" || value == "backward")) f.op = value == "forward" ? Op::forward : Op::backward;
    else if (key == "rank") f.rank = std::stoi(value);
    else if (key == "instructions") f.instructions = std::stoll(value);
    else if (key == "time") f.time_fraction = std::stod(value);
    else fail("NATTEN_FAULT: bad item '{}' (op=forward|backward, rank=N, instructions=N, time=F)", item);
    pos = comma + 1;
  }
  return f;
}

// Exactly `n` instructions (rounded down to even) under callgrind: dec + jnz per iteration.
void burn_instructions(std::int64_t n) {
  std::int64_t iterations = n / 2;
  if (iterations <= 0) return;
#if defined(__x86_64__)
  asm volatile("1:\n\tdec %0\n\tjnz 1b" : "+r"(iterations) : : "cc");
#else
  for (volatile std::int64_t i = 0; i < iterations; i = i + 1) {
  }
#endif
}

void busy_wait(std::chrono::steady_clock::duration d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
  }
}

class SlowedCpu final : public Backend {
 public:
  SlowedCpu(std::unique_ptr<Backend> inner, Fault f) : inner_(std::move(inner)), fault_(f) {}
  std::string name() const override { return inner_->name(); }
  std::string description() const override { return inner_->description() + " (with an injected slowdown)"; }
  bool implements(Op op) const override { return inner_->implements(op); }
  std::string why_unsupported(Op op, const Problem& p) const override { return inner_->why_unsupported(op, p); }

  void forward(const Problem& p, const NAInputs& in, Tensor& out, Tensor& lse) override {
    slowed(Op::forward, p, [&] { inner_->forward(p, in, out, lse); });
  }
  void backward(const Problem& p, const NAInputs& in, const Tensor& out, const Tensor& lse, const Tensor& d_out,
                Gradients& g) override {
    slowed(Op::backward, p, [&] { inner_->backward(p, in, out, lse, d_out, g); });
  }
  void qk_forward(const Problem& p, const SplitQKInputs& in, Tensor& a) override { inner_->qk_forward(p, in, a); }
  void qk_backward(const Problem& p, const SplitQKInputs& in, const Tensor& da, SplitQKGrads& g) override {
    inner_->qk_backward(p, in, da, g);
  }
  void av_forward(const Problem& p, const SplitAVInputs& in, Tensor& o) override { inner_->av_forward(p, in, o); }
  void av_backward(const Problem& p, const SplitAVInputs& in, const Tensor& d, SplitAVGrads& g) override {
    inner_->av_backward(p, in, d, g);
  }
  void merge_forward(const MergeProblem& p, const std::vector<Tensor>& outs, const std::vector<Tensor>& lses, Tensor& o,
                     Tensor& l) override {
    inner_->merge_forward(p, outs, lses, o, l);
  }
  void merge_backward(const MergeProblem& p, const std::vector<Tensor>& outs, const std::vector<Tensor>& lses,
                      const Tensor& o, const Tensor& l, const Tensor& d_o, const Tensor& d_l, std::vector<Tensor>& d_outs,
                      std::vector<Tensor>& d_lses) override {
    inner_->merge_backward(p, outs, lses, o, l, d_o, d_l, d_outs, d_lses);
  }
  void varlen_forward(const VarlenProblem& p, const NAInputs& in, Tensor& out, Tensor& lse) override {
    inner_->varlen_forward(p, in, out, lse);
  }
  void varlen_backward(const VarlenProblem& p, const NAInputs& in, const Tensor& out, const Tensor& lse,
                       const Tensor& d_out, Gradients& g) override {
    inner_->varlen_backward(p, in, out, lse, d_out, g);
  }
  void fmha_forward(const Problem& p, const NAInputs& in, Tensor& out, Tensor& lse) override {
    inner_->fmha_forward(p, in, out, lse);
  }
  void fmha_backward(const Problem& p, const NAInputs& in, const Tensor& out, const Tensor& lse, const Tensor& d_out,
                     Gradients& g) override {
    inner_->fmha_backward(p, in, out, lse, d_out, g);
  }
  void set_threads(int t) override { inner_->set_threads(t); }

 private:
  template <typename Call>
  void slowed(Op op, const Problem& p, const Call& call) {
    if (op != fault_.op || (fault_.rank != 0 && p.rank() != fault_.rank)) return call();
    if (fault_.time_fraction <= 0) {
      call();
      return burn_instructions(fault_.instructions);
    }
    const auto start = std::chrono::steady_clock::now();
    call();
    const auto took = std::chrono::steady_clock::now() - start;
    busy_wait(std::chrono::duration_cast<std::chrono::steady_clock::duration>(took * fault_.time_fraction));
  }

  std::unique_ptr<Backend> inner_;
  Fault fault_;
};

}  // namespace
}  // namespace natten

int main(int argc, char** argv) {
  using namespace natten;
  const char* spec = std::getenv("NATTEN_FAULT");
  bench::BackendFactory factory = make_backend;
  if (spec != nullptr && *spec != '\0') {
    Fault f;
    try {
      f = parse_fault(spec);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "natten-bench-fault: error: %s\n", e.what());
      return 2;
    }
    factory = [f](std::string_view name) -> std::unique_ptr<Backend> {
      std::unique_ptr<Backend> b = make_backend(name);
      if (name == "cpu") return std::make_unique<SlowedCpu>(std::move(b), f);
      return b;
    };
  }
  return bench::natten_bench_main(argc, argv, factory);
}
