#!/bin/sh
# scripts/make_reference.py's HDF5 side, end to end: it writes a natten-ref v1 file from the
# numpy stand-in producer (tests/support/numpy_na_producer.py, used where upstream NATTEN is not
# installed) and natten-check must pass every case of it against our reference backend, for the
# fused op (configs/parity.ini) and for the split ops and merge (configs/parity_split.ini). Also: a
# bad config is exit 2 with file:line and leaves no file. And scripts/make_candidate.py with a numpy
# stand-in module (upstream's Python API): its candidate passes, a subsampling one fails with both
# shapes named. Skips (77) when h5py/numpy are missing.
# usage: check_make_reference.sh NATTEN_CHECK SOURCE_DIR WORK_DIR
set -eu
check=$1 src=$2 work=$3
py=""
for candidate in /usr/bin/python3 python3; do
  if "$candidate" -c 'import h5py, numpy' >/dev/null 2>&1; then py=$candidate; break; fi
done
if [ -z "$py" ]; then echo "SKIP: no python3 with h5py and numpy (Debian: python3-h5py)"; exit 77; fi
mkdir -p "$work"
out="$work/make_reference_test.h5"
rm -f "$out"

# Under an h5py as strict as pip's current one (tests/support/strict_h5py.py): the stand-in's root
# attributes include a str subclass (as torch.__version__ is) and numpy scalars, which
# make_reference.py must write as plain types (pip's h5py: "No conversion path for dtype('<U12')").
"$py" "$src/tests/support/strict_h5py.py" "$src/scripts/make_reference.py" --config "$src/configs/parity.ini" \
  --output "$out" --producer-module "$src/tests/support/numpy_na_producer.py" --compress \
  --case 'na1d*,na2d_gqa,na2d_mqa_add_kv,na2d_fp16,na2d_bf16,na2d_strided_causal,na2d_causal_mixed,na3d_mixed' \
  --attribute note=made-by-the-test
"$check" "$out" --backend reference -q >/dev/null
"$check" --list "$out" | grep -q '^12 cases, 0 unreadable$'
# Stored as plain HDF5 types: variable-length strings, int64, float64, int8 flags; and the command.
"$py" - "$out" <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
want = {"standin_version": str, "numpy_version": str, "device": str, "producer": str, "note": str,
        "command": str, "threads": "i8", "input_range": "f8", "deterministic": "i1", "natten_ref_version": "i8"}
for key, kind in want.items():
    value, tid = f.attrs[key], f.attrs.get_id(key).get_type()
    if kind is str:
        assert isinstance(value, str) and tid.get_class() == h5py.h5t.STRING and tid.is_variable_str(), (key, value)
    else:
        assert value.dtype.str.endswith(kind), (key, value.dtype)
assert f.attrs["standin_version"] == "1.0" and f.attrs["deterministic"] == 1, dict(f.attrs)
assert "make_reference.py --config" in f.attrs["command"] and "--attribute note=made-by-the-test" in f.attrs["command"]
assert f["na1d_basic"].attrs["is_causal"].dtype == "int8" and f["na1d_basic"].attrs["rank"].dtype == "int64"
PY
# Split ops and merge (op = na_qk with and without rpb, na_av, merge; causal, stride, GQA,
# additional KV, 3D, fp16/bf16): the stand-in's independent brute force must agree with our
# reference backend on every case of configs/parity_split.ini, in the schema natten-check reads.
split="$work/make_reference_split.h5"
rm -f "$split"
"$py" "$src/scripts/make_reference.py" --config "$src/configs/parity_split.ini" --output "$split" \
  --producer-module "$src/tests/support/numpy_na_producer.py" 2>/dev/null
"$check" "$split" --backend reference -q >/dev/null
"$check" --list "$split" | grep -q '^16 cases, 0 unreadable$'
COLUMNS=300 "$check" --list "$split" | grep -q '^qk2d_causal_gqa_add_kv  na_qk  .* rpb layout=heads_last forward+backward$'
# scripts/make_candidate.py: a module with upstream's na1d/na2d/na3d API (the numpy stand-in, through
# its adapter hooks) run on the reference's own inputs; natten-check passes its candidate (exit 0).
cand="$work/make_candidate_test.h5"
rm -f "$cand"
"$py" "$src/tests/support/strict_h5py.py" "$src/scripts/make_candidate.py" \
  --module "$src/tests/support/numpy_na_module.py" --reference "$out" --output "$cand" --compress 2>/dev/null \
  | grep -q "^wrote 12 cases to .* (0 skipped by the module, 0 of other ops left out)$"
"$check" "$out" --candidate "$cand" -q | grep -q '^12 cases, 12 results: 12 passed, 0 failed'
# A module that subsamples under stride: the strided cases are parity failures (exit 1) naming both
# shapes, not input errors; a module that raises on 3D: those cases are skips naming the reason.
"$py" "$src/scripts/make_candidate.py" --module "$src/tests/support/numpy_na_module.py" --reference "$out" \
  --output "$cand" --kwarg subsample_stride=True --kwarg refuse_3d=True 2>/dev/null \
  | grep -q "^wrote 11 cases to .* (1 skipped by the module, 0 of other ops left out)$"
set +e
msg=$("$check" "$out" --candidate "$cand" -q -v)  # -v: every tensor, messages on one line
rc=$?
set -e
[ "$rc" -eq 1 ] || { echo "subsampled candidate: expected exit 1, got $rc: $msg"; exit 1; }
echo "$msg" | grep -q 'candidate output \[1, 10, 2, 16\] vs reference \[1, 30, 2, 16\]: a strided result subsampled' \
  || { echo "no shape message: $msg"; exit 1; }
echo "$msg" | grep -q "^na3d_mixed  *candidate  SKIP  *the candidate's implementation declined the case: NotImplementedError" \
  || { echo "no skip: $msg"; exit 1; }
echo "$msg" | grep -q '^12 cases, 12 results: 9 passed, 2 failed, 0 errors, 1 skipped$' || { echo "$msg"; exit 1; }
# Bad arguments: exit 2 and no file.
rm -f "$work/never.h5"
for args in "--module no_such_module_xyz --reference $out" "--module $src/tests/support/numpy_na_module.py --reference $work/none.h5"; do
  set +e
  # shellcheck disable=SC2086
  "$py" "$src/scripts/make_candidate.py" $args --output "$work/never.h5" 2>/dev/null
  rc=$?
  set -e
  [ "$rc" -eq 2 ] && [ ! -e "$work/never.h5" ] || { echo "make_candidate.py $args: exit $rc"; exit 1; }
done

# Debian's HDF5 1.10 reads superblock versions 0-3; libver=("earliest", "v110") keeps it there.
"$py" -c "import sys; v = open(sys.argv[1], 'rb').read(9)[8]; sys.exit(0 if v <= 3 else 'superblock version %d' % v)" "$out"

# A bad config (INI text $1) is exit 2 with the message $2 (a grep pattern) and leaves no file.
bad="$work/make_reference_bad.ini"
expect_config_error() {
  printf "$1" > "$bad"
  rm -f "$work/never.h5"
  set +e
  msg=$("$py" "$src/scripts/make_reference.py" --config "$bad" --output "$work/never.h5" \
    --producer-module "$src/tests/support/numpy_na_producer.py" 2>&1)
  rc=$?
  set -e
  [ "$rc" -eq 2 ] || { echo "bad config: expected exit 2, got $rc"; exit 1; }
  echo "$msg" | grep -q "$2" || { echo "unexpected: $msg"; exit 1; }
  [ ! -e "$work/never.h5" ] || { echo "a failed run left $work/never.h5"; exit 1; }
}
expect_config_error '[c]\ninput_size = 8\nk = 3\ncolour = red\n' \
  "make_reference_bad.ini:4: key 'colour': unknown key in section \\[c\\]"
# A key that does not apply to the case's op: an error in the case's own section, not in [defaults].
expect_config_error '[defaults]\nrpb = true\n[c]\nop = na_av\ninput_size = 8\nk = 3\n[d]\nop = na_av\ninput_size = 8\nk = 3\nrpb = true\n' \
  "make_reference_bad.ini:11: key 'rpb': does not apply to op na_av in section \\[d\\]"
echo "make_reference.py: ok"
