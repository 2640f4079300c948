// merge_attentions, literally as core/merge.hpp defines it, in double.
#include <cmath>

#include "natten/backend/reference/reference_ops.hpp"

namespace natten::reference {
namespace {

// Weights w_i = exp(L_i - L) of one row and the merged L, around the largest L_i.
double merge_weights(const std::vector<std::vector<double>>& lses, std::int64_t row, std::vector<double>& w) {
  double m = -INFINITY;
  for (const auto& l : lses) m = std::max(m, l[static_cast<std::size_t>(row)]);
  w.assign(lses.size(), 0.0);
  if (m == -INFINITY) return -INFINITY;  // every part empty: weights 0, output 0
  double sum = 0.0;
  for (std::size_t i = 0; i < lses.size(); ++i) sum += (w[i] = std::exp(lses[i][static_cast<std::size_t>(row)] - m));
  for (double& x : w) x /= sum;
  return m + std::log(sum);
}

std::vector<std::vector<double>> doubles(const std::vector<Tensor>& ts) {
  std::vector<std::vector<double>> out;
  for (const Tensor& t : ts) out.push_back(t.to_doubles());
  return out;
}

void store(Tensor& t, const std::vector<double>& v) {
  for (std::size_t i = 0; i < v.size(); ++i) t.set(static_cast<std::int64_t>(i), static_cast<float>(v[i]));
}

}  // namespace

void merge_forward(const MergeProblem& m, const std::vector<Tensor>& outputs, const std::vector<Tensor>& lses,
                   Tensor& output, Tensor& lse) {
  const auto o = doubles(outputs);
  const auto l = doubles(lses);
  std::vector<double> out(static_cast<std::size_t>(m.rows * m.dim), 0.0), merged(static_cast<std::size_t>(m.rows));
  std::vector<double> w;
  for (std::int64_t r = 0; r < m.rows; ++r) {
    merged[static_cast<std::size_t>(r)] = merge_weights(l, r, w);
    for (std::size_t i = 0; i < o.size(); ++i) {
      for (std::int64_t d = 0; d < m.dim; ++d) {
        const auto e = static_cast<std::size_t>(r * m.dim + d);
        if (w[i] != 0.0) out[e] += w[i] * o[i][e];  // an empty part may hold anything: skip it
      }
    }
  }
  store(output, out);
  store(lse, merged);
}

void merge_backward(const MergeProblem& m, const std::vector<Tensor>& outputs, const std::vector<Tensor>& lses,
                    const Tensor& output, const Tensor& lse, const Tensor& d_output, const Tensor& d_lse,
                    std::vector<Tensor>& d_outputs, std::vector<Tensor>& d_lses) {
  const auto o = doubles(outputs);
  const auto l = doubles(lses);
  const std::vector<double> out = output.to_doubles();
  const std::vector<double> dout = d_output.to_doubles();
  const std::vector<double> dl = d_lse.defined() ? d_lse.to_doubles() : std::vector<double>();
  (void)lse;  // the weights are recomputed from the parts, which also gives the merged logsumexp
  std::vector<std::vector<double>> d_o(o.size(), std::vector<double>(dout.size(), 0.0));
  std::vector<std::vector<double>> d_l(o.size(), std::vector<double>(static_cast<std::size_t>(m.rows), 0.0));
  std::vector<double> w;
  for (std::int64_t r = 0; r < m.rows; ++r) {
    merge_weights(l, r, w);
    const double g_lse = dl.empty() ? 0.0 : dl[static_cast<std::size_t>(r)];
    for (std::size_t i = 0; i < o.size(); ++i) {
      if (w[i] == 0.0) continue;
      double proj = 0.0;  // dO . (O_i - O)
      for (std::int64_t d = 0; d < m.dim; ++d) {
        const auto e = static_cast<std::size_t>(r * m.dim + d);
        d_o[i][e] = w[i] * dout[e];
        proj += dout[e] * (o[i][e] - out[e]);
      }
      d_l[i][static_cast<std::size_t>(r)] = w[i] * (proj + g_lse);
    }
  }
  for (std::size_t i = 0; i < o.size(); ++i) {
    store(d_outputs[i], d_o[i]);
    store(d_lses[i], d_l[i]);
  }
}

}  // namespace natten::reference
