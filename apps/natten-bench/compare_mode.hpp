// natten-bench --compare A.json B.json: is report B slower than report A? Rows are matched by
// (case, backend, op, threads, problem); each row's raw samples (samples_s) are the observations,
// unpaired: the one-sided Mann-Whitney U test per row, Holm over the rows, the ratio of medians
// with a bootstrap interval (natten/bench/comparison.hpp). Reports from different machines
// (fingerprints) are compared with a warning: the ratio then mixes code and machine.
#pragma once

#include "options.hpp"

namespace natten::bench {

int compare_mode(const Options& options);

}  // namespace natten::bench
