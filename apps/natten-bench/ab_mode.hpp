// natten-bench --ab BASE: is this build slower than the base build? Both are timed in the same
// job, on the same machine, in alternating runs.
//
// Method (as asv continuous, Chromium's Pinpoint and google-benchmark's compare.py): each round
// runs both builds once over every case, in an order drawn at random (seeded), so that drift in
// the machine's speed (other load, frequency, thermal) falls on both sides alike. Each run is a
// separate process with the run's own command-line flags, so each row's time in that run (its
// minimum by default, least disturbed by other load; --ab-stat median) is one independent
// observation per build: process-level effects such as memory layout vary between observations
// instead of biasing one side. Per row: the ratio of medians new / base with a
// bootstrap 95% interval, and a one-sided Mann-Whitney U test; the p-values of all rows are
// Holm-corrected. A row fails (exit 1) only when its slowdown is significant at --ab-alpha AND its
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
