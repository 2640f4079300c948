// natten-check's top level: runs the mode the options select and returns the exit code.
#pragma once

#include "cli.hpp"

namespace natten::check {

// Never throws: errors are printed as one line on stderr and give exit code 2.
int run_app(const Options& options);

}  // namespace natten::check
