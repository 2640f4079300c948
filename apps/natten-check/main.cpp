// natten-check: parity of our neighborhood-attention backends (or another implementation's saved
// results) with natten-ref v1 reference files. See README.md beside this file.
#include "app.hpp"
#include "cli.hpp"

int main(int argc, char** argv) {
  const natten::check::ParsedCommandLine cli = natten::check::parse_command_line(argc, argv);
  if (!cli.options) return cli.exit_code;
  return natten::check::run_app(*cli.options);
}
