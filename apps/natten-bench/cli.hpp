// natten-bench's command line (CLI11), spelled as upstream NATTEN's profiler where they overlap.
#pragma once

#include <stdexcept>
#include <string>

#include "options.hpp"

namespace natten::bench {

// The command line asked for help (text holds it): print and exit 0.
struct HelpRequested {
  std::string text;
};

// Throws natten::Error (one line) on bad flags or values, HelpRequested for --help.
Options parse_command_line(int argc, const char* const* argv);

}  // namespace natten::bench
