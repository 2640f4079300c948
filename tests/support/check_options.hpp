// natten-check run options shared by the in-process natten-check tests.
#pragma once

#include "check_runner.hpp"

namespace natten::testing {

// The reference backend only, no progress output: results independent of the machine's backends.
inline check::RunOptions quiet_reference() {
  check::RunOptions o;
  o.backends = {"reference"};
  o.progress = false;
  return o;
}

}  // namespace natten::testing
