#include "natten/core/merge.hpp"

#include "natten/core/error.hpp"

namespace natten {
namespace {

void expect(const std::string& what, const Tensor& t, const Shape& shape, DType dtype) {
  if (!t.defined()) fail("merge: {} is missing", what);
  if (t.shape() != shape) fail("merge: {} has shape {}, expected {}", what, shape_str(t.shape()), shape_str(shape));
  if (t.dtype() != dtype) fail("merge: {} has dtype {}, expected {}", what, dtype_name(t.dtype()), dtype_name(dtype));
}

}  // namespace

MergeProblem validate_merge(const std::vector<Tensor>& outputs, const std::vector<Tensor>& lses) {
  if (outputs.size() != lses.size())
    fail("merge: {} outputs but {} logsumexps (one per part expected)", outputs.size(), lses.size());
  if (outputs.size() < 2) fail("merge: {} parts given, expected at least 2", outputs.size());
  if (outputs.size() > 1024) fail("merge: {} parts given, at most 1024 supported", outputs.size());
  if (!outputs[0].defined() || outputs[0].dim() < 2)
    fail("merge: output 0 must have at least 2 axes ([..., heads, dim])");
  MergeProblem m;
  m.dtype = outputs[0].dtype();
  m.output_shape = outputs[0].shape();
  m.lse_shape = Shape(m.output_shape.begin(), m.output_shape.end() - 1);
  m.parts = static_cast<int>(outputs.size());
  m.rows = numel(m.lse_shape);
  m.dim = static_cast<int>(std::min<std::int64_t>(m.output_shape.back(), INT32_MAX));
  if (m.dim < 1) fail("merge: head dim {} must be >= 1", m.output_shape.back());
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    expect(fmt::format("output {}", i), outputs[i], m.output_shape, m.dtype);
    expect(fmt::format("logsumexp {}", i), lses[i], m.lse_shape, DType::f32);
  }
  return m;
}

MergeProblem validate_merge_backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& lses,
                                     const Tensor& output, const Tensor& lse, const Tensor& d_output,
                                     const Tensor& d_lse) {
  const MergeProblem m = validate_merge(outputs, lses);
  expect("merged output", output, m.output_shape, m.dtype);
  expect("merged logsumexp", lse, m.lse_shape, DType::f32);
  expect("grad_output", d_output, m.output_shape, m.dtype);
  if (d_lse.defined()) expect("grad_logsumexp", d_lse, m.lse_shape, DType::f32);
  return m;
}

}  // namespace natten
