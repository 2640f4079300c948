// Variable length: the fused loops with, per sample, the queries of its own extents and the
// window rule applied at those extents, addressed in the padded storage.

#include "natten/backend/reference/attention_loops.hpp"
#include "natten/backend/reference/reference_ops.hpp"
#include "natten/core/neighborhood.hpp"

namespace natten::reference {
namespace {

// The attendance of a varlen problem; `samples` must outlive it.
Attendance varlen_attendance(const VarlenProblem& v, const std::vector<Problem>& samples) {
  auto sample = [&samples](std::int64_t b) -> const Problem& { return samples[static_cast<std::size_t>(b)]; };
  return {[sample](std::int64_t b) { return sample(b).tokens(); },
          [&v, sample](std::int64_t b, std::int64_t i) { return v.padded_token(sample(b), i); },
          [&v, sample](std::int64_t b, std::int64_t i, std::vector<std::int64_t>& keys) {
            for_each_neighbor(sample(b), i, [&](std::int64_t key) { keys.push_back(v.padded_token(sample(b), key)); });
          }};
}

std::vector<Problem> samples_of(const VarlenProblem& v) {
  std::vector<Problem> s;
  for (std::int64_t b = 0; b < v.padded.batch; ++b) s.push_back(v.sample(b));
  return s;
}

}  // namespace

void varlen_forward(const VarlenProblem& v, const NAInputs& in, Tensor& out, Tensor& lse) {
  const std::vector<Problem> samples = samples_of(v);
  attention_forward(v.padded, varlen_attendance(v, samples), in, out, lse);
}

void varlen_backward(const VarlenProblem& v, const NAInputs& in, const Tensor& out, const Tensor& lse,
                     const Tensor& d_out, Gradients& grads) {
  const std::vector<Problem> samples = samples_of(v);
  attention_backward(v.padded, varlen_attendance(v, samples), in, out, lse, d_out, grads);
}

}  // namespace natten::reference
