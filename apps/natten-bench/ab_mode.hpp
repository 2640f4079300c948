// natten-bench --ab BASE: is this build slower than the base build? Both are timed in the same
// job, on the same machine, in alternating runs.
//
// Method (as asv continuous, Chromium's Pinpoint and google-benchmark's compare.py): each round
// runs both builds once over every case, in an order drawn at random (seeded), so that drift in
// the machine's speed (other load, frequency, thermal) falls on both sides alike. Each run is a
// separate process with the run's own command-line flags, so each row's time in that run (its
// minimum by default, least disturbed by other load; --ab-stat median) is one independent
// observation per build: process-level effects such as memory layout vary between observations
// instead of biasing one side. The two runs of a round are a pair: they ran back to back, under the
// same load. Per row: the ratio of medians new / base with a bootstrap 95% interval (resampling
// rounds), and a one-sided Wilcoxon signed-rank test on the rounds' log ratios (pairing cancels
// load that drifts between rounds: on a loaded machine an unpaired rank test missed a 20%
// slowdown that the paired one found in every run); the p-values of all rows are Holm-corrected. A row fails (exit 1) only when its slowdown is significant at --ab-alpha AND its
// ratio exceeds 1 + --ab-max-slowdown: noise alone rarely passes the first, a real but negligible
// change never passes the second.
//
// The two builds need only understand the flags given (plus --json, -q and --no-verify, which
// every natten-bench has), so the base can be any earlier build of the project.
#pragma once

#include "options.hpp"

namespace natten::bench {

int ab_mode(const Options& options);

}  // namespace natten::bench
