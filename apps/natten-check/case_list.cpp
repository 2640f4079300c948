#include "case_list.hpp"

#include "natten/app/diagnostics.hpp"
#include "natten/app/help_format.hpp"

#include <algorithm>
#include <new>

#include <fmt/format.h>

#include "case_selection.hpp"
#include "natten/app/case_globs.hpp"
#include "natten/core/error.hpp"
#include "natten/io/h5.hpp"
#include "natten/io/read_guard.hpp"
#include "natten/op/op_table.hpp"

namespace natten::check {

CaseListing list_cases(const std::string& file, const std::vector<std::string>& globs, std::int64_t max_elements,
                       unsigned read_guard_seconds) {
  CaseListing listing;
  const std::string crash =
      dry_run_read([&] { (void)discover_cases(h5::File::open(file).root()); }, read_guard_seconds);
  if (!crash.empty()) {
    listing.file_error = file + ": " + crash;
    return listing;
  }
  try {
    const h5::File f = h5::File::open(file);
    const h5::Group root = f.root();
    const std::vector<DiscoveredCase> all = discover_cases(root);
    if (all.empty()) fail("{}: no cases (no top-level group has an 'op' attribute)", file);
    std::vector<std::string> names;
    for (const DiscoveredCase& c : all) names.push_back(c.name);
    (void)app::select_cases(names, globs);  // throws when the globs match nothing
    for (const DiscoveredCase& dc : all) {
      if (!app::matches_any(dc.name, globs)) continue;
      ListedCase lc{dc.name, "", "", dc.error};
      if (lc.error.empty()) {
        const std::string case_crash =
            dry_run_read([&] { (void)load_case(root, dc.name, max_elements); }, read_guard_seconds);
        if (!case_crash.empty()) lc.error = fmt::format("case '{}': {}", dc.name, case_crash);
      }
      if (lc.error.empty()) {
        try {
          const ParityCase c = load_case(root, dc.name, max_elements);
          lc.op = c.op_name();
          lc.description = c.op->describe(c);
        } catch (const Error& e) {
          lc.error = e.what();
        } catch (const std::bad_alloc&) {
          lc.error = fmt::format("case '{}': out of memory", dc.name);
        }
      }
      listing.cases.push_back(std::move(lc));
    }
  } catch (const Error& e) {
    listing.file_error = e.what();
  } catch (const std::bad_alloc&) {
    listing.file_error = file + ": out of memory while reading the file structure";
  }
  return listing;
}

int print_listing(const CaseListing& listing, std::FILE* out) {
  if (!listing.file_error.empty()) {
    app::print_error("natten-check", listing.file_error);
    return 2;
  }
  // Descriptions wrap within the terminal (100 columns when piped), under their column.
  const std::size_t columns = static_cast<std::size_t>(app::terminal_columns(out));
  std::size_t width = 4;
  for (const ListedCase& c : listing.cases) width = std::max(width, app::printable(c.name).size());
  width = std::min(width, columns / 3);
  int errors = 0;
  for (const ListedCase& c : listing.cases) {
    const std::string name = app::printable(c.name);
    if (c.error.empty()) {
      fmt::print(out, "{:<{}}  {:<5}  {}\n", name, width, c.op, app::wrap(app::printable(c.description), columns, width + 9));
    } else {
      ++errors;
      fmt::print(out, "{:<{}}  ERROR {}\n", name, width, app::wrap(app::printable(c.error), columns, width + 8));
    }
  }
  fmt::print(out, "{} cases, {} unreadable\n", listing.cases.size(), errors);
  return errors > 0 ? 2 : 0;
}

}  // namespace natten::check
