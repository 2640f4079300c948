#include "write_refs.hpp"

#include <optional>

#include <fmt/format.h>

#include "case_selection.hpp"
#include "natten/app/case_globs.hpp"
#include "natten/backend.hpp"
#include "natten/core/error.hpp"
#include "natten/io/files.hpp"
#include "natten/config/case_spec.hpp"
#include "natten/io/h5.hpp"
#include "natten/op/op_table.hpp"
#include "progress.hpp"

#ifndef NATTEN_TOOLS_VERSION
#define NATTEN_TOOLS_VERSION "unknown"
#endif

namespace natten::check {

std::size_t write_refs(const WriteOptions& opt, std::FILE* out) {
  AtomicOutput target("--write", opt.output);  // an unusable output fails before any work
  const std::vector<config::ResolvedCase> all = config::read_resolved_cases(opt.config, config::CaseKeys::parity);
  std::vector<std::string> names;
  for (const config::ResolvedCase& c : all) names.push_back(c.name);
  (void)app::select_cases(names, opt.case_globs);  // throws when the globs match nothing
  std::unique_ptr<Backend> backend = make_backend(opt.backend);

  std::vector<const config::ResolvedCase*> chosen;
  for (const config::ResolvedCase& c : all) {
    if (app::matches_any(c.name, opt.case_globs)) chosen.push_back(&c);
  }
  {
    const h5::File file = h5::File::create(target.temp_path());
    const h5::Group root = file.root();
    root.write_attribute("natten_ref_version", std::int64_t{1});
    root.write_attribute("producer", std::string("natten-tools " NATTEN_TOOLS_VERSION " (natten-check --write)"));
    root.write_attribute("device", backend->description());
    root.write_attribute("config", opt.config);
    Progress progress(opt.progress, chosen.size());
    for (const config::ResolvedCase* cfg : chosen) {
      progress.step(cfg->name);
      const CaseOp& op = case_op_for(*cfg);
      std::optional<ParityCase> c;
      try {
        c = op.generate(*cfg, *backend);
      } catch (const Error& e) {
        fail("{}: case [{}]: {}", cfg->origin, cfg->name, e.what());
      }
      op.write(root, *c, backend->name(), opt.compress);
      fmt::print(out, "{:<28} {:<5} {}\n", cfg->name, op.name(), op.describe(*c));
    }
    file.flush();
  }
  target.commit();
  fmt::print(out, "wrote {} cases from backend {} to {}\n", chosen.size(), backend->name(), opt.output);
  return chosen.size();
}

}  // namespace natten::check
