#!/usr/bin/env bash
# The performance guard CI gates on (README.md, "CI guard"): the same verdict on every machine.
#
#   scripts/ci-guard.sh [BUILD_DIR]       (default: build; natten-bench must be built there)
#
# 1. The deterministic work guard: natten-bench --count-work counts each row of configs/ci-work.ini
#    under valgrind's callgrind (one thread, AVX2 kernels, fixed simulated caches) and fails when a
#    row's instructions per call grew more than 3% over configs/ci-work-baseline.json. The count is
#    the same on a Zen 4, a Zen 5 or a Xeon, loaded or idle.
# 2. With NATTEN_AB_BASE=<git revision>: also build that revision and time it against this build in
#    alternating runs (scripts/ab-compare.sh); fails on a significant slowdown over 5%.
#
# After an intended change in the counted work, refresh the baseline (and say why in the commit):
#   build/apps/natten-bench/natten-bench --count-work --config configs/ci-work.ini \
#     --save-baseline configs/ci-work-baseline.json
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
bench=$build/apps/natten-bench/natten-bench

echo "== deterministic work guard: configs/ci-work.ini against configs/ci-work-baseline.json"
"$bench" --count-work --config "$root/configs/ci-work.ini" --baseline "$root/configs/ci-work-baseline.json" \
  --json "$build/ci-work.json"

if [ -n "${NATTEN_AB_BASE:-}" ]; then
  echo "== A/B timing: $NATTEN_AB_BASE against this build"
  bash "$root/scripts/ab-compare.sh" "$NATTEN_AB_BASE" "$build"
fi
