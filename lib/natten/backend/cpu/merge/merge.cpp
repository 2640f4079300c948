// Host side of merge_attentions on the cpu backend: contiguous views, pointer tables, row units.
#include <vector>

#include "natten/backend/cpu/merge/merge_args.hpp"
#include "natten/backend/cpu/common/parallel.hpp"

namespace natten::cpu {
namespace {

void run_rows(const MergeProblem& m, const MergeArgs& a, const Workers& w,
              void (*rows)(DType, const MergeArgs&, std::int64_t, std::int64_t, Workspace&)) {
  const std::int64_t units = (m.rows + kMergeRowsPerUnit - 1) / kMergeRowsPerUnit;
  parallel_for(units, w.threads, [&](std::int64_t u, int thread) {
    const std::int64_t first = u * kMergeRowsPerUnit;
    rows(m.dtype, a, first, std::min(kMergeRowsPerUnit, m.rows - first), (*w.workspaces)[static_cast<std::size_t>(thread)]);
  });
}

// Contiguous copies (or the tensors themselves) of the parts, kept alive by the caller.
struct PartTables {
  std::vector<Tensor> outputs, lses;
  std::vector<const void*> output_ptrs;
  std::vector<const float*> lse_ptrs;
  PartTables(const std::vector<Tensor>& o, const std::vector<Tensor>& l) {
    for (std::size_t i = 0; i < o.size(); ++i) {
      outputs.push_back(o[i].contiguous());
      lses.push_back(l[i].contiguous());
      output_ptrs.push_back(outputs.back().raw());
      lse_ptrs.push_back(lses.back().data<float>());
    }
  }
};

MergeArgs base_args(const MergeProblem& m, const PartTables& parts) {
  MergeArgs a;
  a.parts = m.parts;
  a.dim = m.dim;
  a.rows = m.rows;
  a.outputs = parts.output_ptrs.data();
  a.lses = parts.lse_ptrs.data();
  return a;
}

}  // namespace

void run_merge_forward(const MergeProblem& m, const std::vector<Tensor>& outputs, const std::vector<Tensor>& lses,
                       Tensor& output, Tensor& lse, const Workers& w) {
  const PartTables parts(outputs, lses);
  MergeArgs a = base_args(m, parts);
  a.output = output.raw();
  a.lse = lse.data<float>();
  run_rows(m, a, w, merge_forward_rows);
}

void run_merge_backward(const MergeProblem& m, const std::vector<Tensor>& outputs, const std::vector<Tensor>& lses,
                        const Tensor& output, const Tensor& d_output, const Tensor& d_lse,
                        std::vector<Tensor>& d_outputs, std::vector<Tensor>& d_lses, const Workers& w) {
  const PartTables parts(outputs, lses);
  const Tensor merged = output.contiguous(), grad = d_output.contiguous();
  const Tensor grad_lse = d_lse.defined() ? d_lse.contiguous() : d_lse;
  std::vector<void*> d_out_ptrs;
  std::vector<float*> d_lse_ptrs;
  for (std::size_t i = 0; i < d_outputs.size(); ++i) {
    d_out_ptrs.push_back(d_outputs[i].raw());
    d_lse_ptrs.push_back(d_lses[i].data<float>());
  }
  MergeArgs a = base_args(m, parts);
  a.merged_output = merged.raw();
  a.d_output = grad.raw();
  a.d_lse = grad_lse.defined() ? grad_lse.data<float>() : nullptr;
  a.d_outputs = d_out_ptrs.data();
  a.d_lses = d_lse_ptrs.data();
  run_rows(m, a, w, merge_backward_rows);
}

}  // namespace natten::cpu
