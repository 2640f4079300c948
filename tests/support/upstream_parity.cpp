#include "support/upstream_parity.hpp"

#include <gtest/gtest.h>

#include "natten/io/h5.hpp"
#include "natten/io/ref_case.hpp"
#include "natten/parity/compare.hpp"

namespace natten::testing {

void expect_close(const Tensor& ours, const Tensor& ref, DType dtype, const std::string& tensor, const char* ref_name) {
  const TensorComparison c = compare_tensors(ours, ref, default_tolerance(dtype, tensor));
  EXPECT_EQ(c.failures, 0) << tensor << ": " << c.failures << " of " << c.count << " outside tolerance, max abs error "
                           << c.max_abs_error << " at " << c.worst_index << " (ours " << c.worst_ours << ", "
                           << ref_name << " " << c.worst_reference << ")";
}

void expect_upstream_parity(const std::map<std::string, Tensor>& ours, const std::map<std::string, Tensor>& expected,
                            DType dtype, const std::set<std::string>& bounded) {
  for (const auto& [tensor, want] : expected) {
    ASSERT_TRUE(ours.count(tensor)) << tensor;
    expect_close(ours.at(tensor), want, dtype, tensor, "upstream");
    if (dtype == DType::f32 && bounded.count(tensor)) {
      EXPECT_LE(compare_tensors(ours.at(tensor), want, default_tolerance(dtype, tensor)).max_abs_error, 1e-5) << tensor;
    }
  }
}

UpstreamRun expect_upstream_file(Backend& backend, const std::string& path, const std::set<std::string>& bounded,
                                 const std::function<bool(const ParityCase&)>& skip) {
  UpstreamRun run;
  const h5::File file = h5::File::open(path);
  const h5::Group root = file.root();
  for (const std::string& name : list_ref_cases(root)) {
    SCOPED_TRACE(name);
    const ParityCase c = load_case(root, name, kMaxElements);
    if (skip && skip(c)) {
      run.skipped += " " + name;
      continue;
    }
    ++run.checked;
    const OpOutputs ours = c.op->compute(backend, c);
    for (const std::string& part : ours.not_run) ADD_FAILURE() << "not run: " << part;
    expect_upstream_parity(ours.tensors, c.expected(), c.dtype(), bounded);
  }
  return run;
}

}  // namespace natten::testing
