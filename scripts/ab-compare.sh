#!/usr/bin/env bash
# Before/after timing of a change: builds natten-bench at a base git revision and times it against
# this checkout's build in alternating runs (natten-bench --ab; apps/natten-bench/README.md).
#
#   scripts/ab-compare.sh BASE_REV [BUILD_DIR [natten-bench flags...]]
#
# BASE_REV: any revision (main, HEAD~1, $(git merge-base HEAD origin/main)). BUILD_DIR (default
# build) must hold this checkout's natten-bench. The flags (default: the quick CI set on one
# thread) go to both builds. The base is built in BUILD_DIR/ab-base from a worktree in
# BUILD_DIR/ab-base-src, reused while BASE_REV resolves to the same commit.
# Exit codes: natten-bench's (0 no significant slowdown, 1 regression, 2 error).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: scripts/ab-compare.sh BASE_REV [BUILD_DIR [natten-bench flags...]]" >&2; exit 2; }
rev=$(git -C "$root" rev-parse --verify "$1^{commit}") || { echo "ab-compare: '$1' is not a git revision" >&2; exit 2; }
build=$(cd "${2:-$root/build}" && pwd)
shift $(( $# >= 2 ? 2 : 1 ))
[ $# -gt 0 ] || set -- --config "$root/configs/ci-quick.ini" --threads 1
src=$build/ab-base-src
if [ "$(git -C "$src" rev-parse HEAD 2>/dev/null || true)" != "$rev" ]; then
  git -C "$root" worktree remove --force "$src" 2>/dev/null || rm -rf "$src"
  git -C "$root" worktree add --detach "$src" "$rev" >/dev/null
fi
cmake -S "$src" -B "$build/ab-base" -G Ninja -DCMAKE_BUILD_TYPE=Release -DNATTEN_BUILD_TESTS=OFF \
  -DNATTEN_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$build/ab-base" -j "$(nproc)" --target natten-bench
exec "$build/apps/natten-bench/natten-bench" --ab "$build/ab-base/apps/natten-bench/natten-bench" "$@"
