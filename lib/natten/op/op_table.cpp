#include "natten/op/op_table.hpp"

#include <iterator>

#include <fmt/format.h>

#include "natten/core/error.hpp"
#include "natten/op/families.hpp"

namespace natten {

const std::string& ParityCase::name() const {
  return std::visit([](const auto& c) -> const std::string& { return c.name; }, data);
}
const std::string& ParityCase::op_name() const {
  return std::visit([](const auto& c) -> const std::string& { return c.op; }, data);
}
DType ParityCase::dtype() const {
  return std::visit([](const auto& c) { return c.dtype; }, data);
}
const std::map<std::string, Tensor>& ParityCase::expected() const {
  return std::visit([](const auto& c) -> const std::map<std::string, Tensor>& { return c.expected; }, data);
}

namespace {

// Indexed by OpFamily: a family added to NATTEN_OP_FAMILIES without an entry here fails the
// static_assert, one in the wrong place fails the check in op_table().
const CaseOp* const kTable[] = {&op_entries::na, &op_entries::na_qk, &op_entries::na_av, &op_entries::merge,
                                &op_entries::varlen};
static_assert(std::size(kTable) == kOpFamilyCount, "every op family needs its entry in the op table");

}  // namespace

const std::vector<const CaseOp*>& op_table() {
  static const std::vector<const CaseOp*> table = [] {
    std::vector<const CaseOp*> t(std::begin(kTable), std::end(kTable));
    for (std::size_t i = 0; i < t.size(); ++i) {
      const OpFamilyInfo& f = op_families()[i];
      if (t[i]->family != f.family)
        fail("internal: op table entry {} is '{}', expected '{}'", i, t[i]->name(), f.name);
      const bool checkable = t[i]->load && t[i]->compute && t[i]->describe && t[i]->generate && t[i]->write;
      if (checkable != f.in_case_files || t[i]->workload == nullptr)
        fail("internal: op table entry '{}' lacks functions its family needs", f.name);
    }
    return t;
  }();
  return table;
}

const CaseOp& case_op(OpFamily family) { return *op_table()[static_cast<std::size_t>(family)]; }

const CaseOp* find_case_op(std::string_view op) {
  const OpFamilyInfo* f = find_op_family(op);
  if (f == nullptr || !f->in_case_files) return nullptr;
  return &case_op(f->family);
}

std::string known_case_ops() { return family_names(/*case_files_only=*/true); }

ParityCase load_case(const h5::Group& root, const std::string& name, std::int64_t max_elements) {
  const std::string op = read_case_op(root, name);
  const CaseOp* entry = find_case_op(op);
  if (entry == nullptr) fail("case '{}': unsupported op '{}' (this natten-check knows: {})", name, op, known_case_ops());
  return entry->load(root, name, max_elements);
}

const CaseOp& case_op_for(const config::ResolvedCase& cfg) {
  const OpFamilyInfo* f = find_op_family(cfg.op);
  if (f == nullptr) fail("case [{}]: op '{}' has no entry in the op table (known: {})", cfg.name, cfg.op, family_names(false));
  return case_op(f->family);
}

std::unique_ptr<bench::Workload> make_workload(const config::ResolvedCase& cfg, bool allow_fast_path) {
  return case_op_for(cfg).workload(cfg, allow_fast_path);
}

std::map<std::string, Tensor> run_case(Backend& backend, const ParityCase& c) {
  OpOutputs out = c.op->compute(backend, c);
  if (!out.not_run.empty()) throw Unsupported(fmt::format("case '{}': {}", c.name(), out.not_run.front()));
  return std::move(out.tensors);
}

}  // namespace natten
