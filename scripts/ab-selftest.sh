#!/usr/bin/env bash
# How often natten-bench --ab raises a false alarm, and how often it catches a real slowdown, on
# this machine: N comparisons of the same build with itself (A/A) and N of the build with a copy
# whose cpu forward is 20% slower on one case (the test-only natten-bench-fault, A/B).
#
#   scripts/ab-selftest.sh [N [BUILD_DIR]]      (default 10, build; the tests must be built)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-10}
build=$(cd "${2:-$root/build}" && pwd)
bench=$build/apps/natten-bench/natten-bench
fault=$build/apps/natten-bench/natten-bench-fault
[ -x "$fault" ] || { echo "ab-selftest: $fault missing (build the tests)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/cases.ini" <<'INI'
[defaults]
backend = cpu
backward = true
heads = 2
dim = 16
threads = 1
[2d]
input_size = 24,24
window_size = 5
[3d]
input_size = 8,8,8
window_size = 3
INI
flags=(--config "$work/cases.ini" -q --warmup-time 0.01 --min-time 0.03 --max-time 0.06 --ab-rounds 12)
# Rows flagged REGRESSION in a report: "case/op" words.
flagged() { python3 -c 'import json,sys; print(" ".join(r["case"]+"/"+r["op"] for r in json.load(open(sys.argv[1]))["results"] if r["verdict"]=="REGRESSION"))' "$1"; }
# Runs one comparison; exit codes 0 and 1 are verdicts, anything else stops the self-test.
compare() {
  local out=$1
  shift
  rm -f "$out"
  local rc=0
  "$@" --json "$out" >/dev/null || rc=$?
  [ "$rc" -le 1 ] && [ -f "$out" ] || { echo "ab-selftest: natten-bench failed (exit $rc)" >&2; exit 2; }
}
aa=0 hit=0 wrong=0
for i in $(seq 1 "$n"); do
  compare "$work/aa.json" "$bench" --ab "$bench" "${flags[@]}" --ab-seed "$i"
  [ -z "$(flagged "$work/aa.json")" ] || aa=$((aa + 1))
  NATTEN_FAULT=op=forward,rank=3,time=0.2 compare "$work/ab.json" "$bench" --ab "$bench" --ab-new "$fault" \
    "${flags[@]}" --ab-seed "$i"
  rows=$(flagged "$work/ab.json")
  case " $rows " in *" 3d/forward "*) hit=$((hit + 1)) ;; esac
  for r in $rows; do [ "$r" = 3d/forward ] || wrong=$((wrong + 1)); done
  echo "run $i: A/A flagged [$(flagged "$work/aa.json")], A/B flagged [$rows]"
done
echo "A/A false alarms: $aa of $n; A/B 20% slowdown caught: $hit of $n; other rows flagged in A/B: $wrong"
