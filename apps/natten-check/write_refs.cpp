#include "write_refs.hpp"

#include <fmt/format.h>

#include "case_selection.hpp"
#include "natten/backend.hpp"
#include "natten/core/error.hpp"
#include "natten/io/atomic_file.hpp"
#include "natten/io/case_config.hpp"
#include "natten/io/h5.hpp"
#include "natten/io/ref_case.hpp"
#include "natten/parity/case_generator.hpp"
#include "progress.hpp"

#ifndef NATTEN_TOOLS_VERSION
#define NATTEN_TOOLS_VERSION "unknown"
#endif

namespace natten::check {

std::size_t write_refs(const WriteOptions& opt, std::FILE* out) {
  const std::vector<CaseConfig> all = read_case_configs(opt.config);
  std::vector<std::string> names;
  for (const CaseConfig& c : all) names.push_back(c.name);
  (void)select_cases(names, opt.case_globs);  // throws when the globs match nothing
  std::unique_ptr<Backend> backend = make_backend(opt.backend);

  std::vector<const CaseConfig*> chosen;
  for (const CaseConfig& c : all) {
    if (matches_any(c.name, opt.case_globs)) chosen.push_back(&c);
  }
  AtomicOutput target(opt.output);
  {
    const h5::File file = h5::File::create(target.temp_path());
    const h5::Group root = file.root();
    root.write_attribute("natten_ref_version", std::int64_t{1});
    root.write_attribute("producer", std::string("natten-tools " NATTEN_TOOLS_VERSION " (natten-check --write)"));
    root.write_attribute("device", backend->description());
    root.write_attribute("config", opt.config);
    Progress progress(opt.progress, chosen.size());
    for (const CaseConfig* cfg : chosen) {
      progress.step(cfg->name);
      RefCase c;
      try {
        c = generate_ref_case(*cfg, *backend);
      } catch (const Error& e) {
        fail("{}: case [{}]: {}", cfg->where, cfg->name, e.what());
      }
      write_ref_case(root, c, backend->name(), opt.compress);
      fmt::print(out, "{:<28} {} {}\n", cfg->name, make_problem(cfg->problem).str(),
                 cfg->backward ? "forward+backward" : "forward");
    }
    file.flush();
  }
  target.commit();
  fmt::print(out, "wrote {} cases from backend {} to {}\n", chosen.size(), backend->name(), opt.output);
  return chosen.size();
}

}  // namespace natten::check
