#!/usr/bin/env python3
"""Produce natten-ref v1 reference files (apps/natten-check/FORMAT.md) from upstream NATTEN.

    pip install natten          # upstream NATTEN >= 0.20 (heads-last API) and PyTorch
    python3 scripts/make_reference.py --config configs/conformance.ini --natten-backend flex-fna \
        --compress --output refs.h5   # (or PYTHONPATH=<NATTEN checkout>/src instead of pip)
    natten-check refs.h5        # our backends against upstream's numbers

    pip install "natten<0.20"   # 0.14-0.17: the split ops (heads-first API)
    python3 scripts/make_reference.py --config configs/parity_split.ini --skip-unsupported --output split.h5

tests/data/upstream/README.md says how the shipped reference files were made. Root attributes
record the producer (`natten 0.21.6`), torch_version, device, natten_backend, the command as run
(`command`) and any --attribute KEY=VALUE given (e.g. where upstream came from and how it was
built). scripts/make_candidate.py is the sibling for other implementations: it runs a module
with upstream's API on an existing reference file's inputs.

The case list is the project's INI format (lib/natten/config/case_spec.hpp; the same keys and
defaults natten-check --write reads): one section per case, [defaults] for all, keys rank,
input_size, batch, heads, heads_kv, dim, window_size (alias k), stride, dilation, causal, dtype,
add_kv, backward, seed, and op (na, na_qk, na_av, merge), rpb (na_qk), parts (merge). Inputs are
uniform in [-1, 1) from numpy's PCG64 seeded with the case's seed (default: FNV-1a of the case
name), rounded to the case's dtype; the rounded values are what is stored and what the producer
sees (merge logsumexps: uniform in [-4, 4), float32).

Producers:
  default                 upstream NATTEN, backward via autograd; --device (default cuda if
                          available) and --natten-backend pick where and how.
                          op = na: natten.na{1,2,3}d(..., return_lse=True) (0.20+, heads-last).
                          op = na_qk / na_av: the split ops of 0.15-0.17
                          (natten.functional.na{1,2,3}d_qk(q, k, kernel_size, dilation,
                          additional_keys=, is_causal=, rpb=) and na{1,2,3}d_av(attn, v, ...)) or of
                          0.14 (natten.functional.natten{1,2}dqkrpb / natten{1,2}dqk /
                          natten{1,2}dav, integer kernel_size and dilation). These take
                          heads-first tensors ([B, H, *S, D]; additional KV [B, H, N, D]) and do
                          not scale; the script permutes to and from the file's heads-last layout.
                          Upstream's split ops have no stride or GQA and need odd kernel sizes;
                          such cases are refused before anything runs (--skip-unsupported: left
                          out with a note on stderr instead).
                          op = merge is this project's op: use natten-check --write.
  --producer-module PATH  a Python file defining produce(case, inputs) -> {name: array} and
                          PRODUCER (a string); used by the tests (a numpy brute force) so the
                          file-writing side is tested where upstream NATTEN is not installed.

Files are written with h5py in HDF5 1.10's format (libver v110) so Debian 12's HDF5 1.10 reads them,
flags as int8 (numpy bools would become HDF5 enums), to a temporary file renamed into place.
Exit codes: 0 written, 2 bad arguments, config or environment (nothing written).
"""

import argparse
import fnmatch
import importlib.util
import os
import sys

KEYS = ("op", "rank", "input_size", "batch", "heads", "heads_kv", "dim", "window_size", "k", "stride",
        "dilation", "causal", "dtype", "add_kv", "backward", "seed", "rpb", "parts")
OPS = ("na", "na_qk", "na_av", "merge")
# Keys only some ops take (canonical names); every other key applies to every op.
WINDOW_KEYS = ("window_size", "stride", "dilation", "causal", "heads_kv", "add_kv")
MAX_ELEMENTS = 1 << 33
DTYPES = {"fp32": "float32", "float32": "float32", "fp16": "float16", "float16": "float16",
          "bf16": "bfloat16", "bfloat16": "bfloat16"}
BOOLS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


class ConfigError(Exception):
    pass


class ProducerRefused(ConfigError):
    """The producer failed on a case while running it (e.g. upstream refuses a combination)."""


# ---------------------------------------------------------------------------------------------
# INI case lists (mirrors lib/natten/io/ini.cpp and config/case_spec.cpp; keep the two in step)

def parse_ini(text, path):
    sections = []  # [(name, line, [(key, value, line)])]
    for line_no, raw in enumerate(text.splitlines(), 1):
        line = raw
        for i, ch in enumerate(raw):
            if ch in "#;" and (i == 0 or raw[i - 1] in " \t"):
                line = raw[:i]
                break
        line = line.strip(" \t\r")
        if not line:
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise ConfigError(f"{path}:{line_no}: section header '{line}' lacks its closing ']'")
            name = line[1:-1].strip()
            if not name:
                raise ConfigError(f"{path}:{line_no}: empty section name")
            for other, other_line, _ in sections:
                if other == name:
                    raise ConfigError(f"{path}:{line_no}: section [{name}] repeats the one on line {other_line}")
            sections.append((name, line_no, []))
            continue
        if "=" not in line:
            raise ConfigError(f"{path}:{line_no}: expected 'key = value', got '{line}'")
        key, value = (part.strip(" \t") for part in line.split("=", 1))
        if not key:
            raise ConfigError(f"{path}:{line_no}: empty key")
        if not sections:
            raise ConfigError(f"{path}:{line_no}: key '{key}' comes before any [section]")
        for other, _, other_line in sections[-1][2]:
            if other == key:
                raise ConfigError(f"{path}:{line_no}: key '{key}' repeats the one on line {other_line} "
                                  f"in section [{sections[-1][0]}]")
        sections[-1][2].append((key, value, line_no))
    return sections


def fnv1a(name):
    h = 14695981039346656037  # the 64-bit FNV-1a offset basis, as case_spec.cpp
    for byte in name.encode():
        h = ((h ^ byte) * 1099511628211) % (1 << 64)
    return h


def _uint(item, where, limit=1 << 30):
    if not item.isdigit():
        raise ConfigError(f"{where}: '{item}' is not a non-negative integer")
    value = int(item)
    if value > limit:
        raise ConfigError(f"{where}: {value} is too large (at most {limit})")
    return value


def _bool(item, where):
    if item not in BOOLS:
        raise ConfigError(f"{where}: '{item}' is not a boolean (true/false, 1/0, yes/no, on/off)")
    return BOOLS[item]


def _per_axis(value, where, rank, parse):
    items = [s.strip(" \t") for s in value.split(",")]
    if len(items) not in (1, rank):
        raise ConfigError(f"{where}: '{value}' has {len(items)} values, expected 1 or {rank} (one per axis)")
    return [parse(items[0 if len(items) == 1 else a], where) for a in range(rank)]


def _applies(key, op):
    if key == "rpb":
        return op == "na_qk"
    if key == "parts":
        return op == "merge"
    if key in WINDOW_KEYS:
        return op != "merge"
    return True


def _collect(path, section, into, from_defaults):
    name, _, entries = section
    seen = {}
    for key, value, line in entries:
        where = f"{path}:{line}: key '{key}'"
        if key not in KEYS:
            raise ConfigError(f"{where}: unknown key in section [{name}]")
        canonical = "window_size" if key == "k" else key
        if canonical in seen:
            raise ConfigError(f"{where}: section [{name}] already sets it as '{seen[canonical]}'")
        seen[canonical] = key
        into[canonical] = (value, where, from_defaults)


def _build_case(path, section, keys):
    name, line, _ = section
    where = f"{path}:{line}"
    if not name or name in (".", "..") or any(not (c.isascii() and (c.isalnum() or c in "_-.")) for c in name):
        raise ConfigError(f"{where}: section name [{name}] must use only letters, digits, '_', '-' and '.' "
                          "(it names an HDF5 group)")

    op = "na"
    if "op" in keys:
        op = keys["op"][0]
        if op not in OPS:
            raise ConfigError(f"{keys['op'][1]}: unknown op '{op}' (expected na, na_qk, na_av or merge)")
    # A key the op has no use for: an error when the case sets it, ignored when [defaults] does.
    for key in sorted(keys):
        if not _applies(key, op) and not keys[key][2]:
            raise ConfigError(f"{keys[key][1]}: does not apply to op {op} in section [{name}]")
    keys = {key: value[:2] for key, value in keys.items() if _applies(key, op)}

    def need(key, message=None):
        if key not in keys:
            raise ConfigError(message or f"{where}: case [{name}] has no '{key}' (nor does [defaults])")
        return keys[key]

    size_text, size_where = need("input_size")
    sizes = [s.strip(" \t") for s in size_text.split(",")]
    if not 1 <= len(sizes) <= 3:
        raise ConfigError(f"{size_where}: '{size_text}' must give 1 to 3 extents")
    rank = len(sizes)
    if "rank" in keys:
        declared = _uint(keys["rank"][0], keys["rank"][1])
        if declared != rank:
            raise ConfigError(f"{keys['rank'][1]}: rank {declared} disagrees with input_size '{size_text}' "
                              f"({rank} extents)")
    case = {
        "name": name,
        "where": where,
        "op": op,
        "rank": rank,
        "input_size": [_uint(s, size_where) for s in sizes],
        "stride": [1] * rank,
        "dilation": [1] * rank,
        "is_causal": [False] * rank,
        "batch": 1,
        "heads": 4,
        "dim": 32,
        "add_kv": 0,
        "dtype": "float32",
        "backward": False,
        "seed": fnv1a(name),
        "rpb": False,
        "parts": 2,
    }
    for key in ("batch", "heads", "dim"):
        if key in keys:
            case[key] = _uint(*keys[key])
    if "dtype" in keys:
        text, w = keys["dtype"]
        if text not in DTYPES:
            raise ConfigError(f"{w}: dtype: unknown '{text}' (expected fp32, fp16 or bf16)")
        case["dtype"] = DTYPES[text]
    if "backward" in keys:
        case["backward"] = _bool(*keys["backward"])
    if "seed" in keys:
        case["seed"] = _uint(keys["seed"][0], keys["seed"][1], (1 << 64) - 1)
    if op == "merge":
        return _check_merge(case, keys)
    if "rpb" in keys:
        case["rpb"] = _bool(*keys["rpb"])
    k_text, k_where = need("window_size", f"{where}: case [{name}] has no 'window_size' (or 'k')")
    case["kernel_size"] = _per_axis(k_text, k_where, rank, _uint)
    for key, parse in (("stride", _uint), ("dilation", _uint)):
        if key in keys:
            case[key] = _per_axis(keys[key][0], keys[key][1], rank, parse)
    if "causal" in keys:
        case["is_causal"] = _per_axis(keys["causal"][0], keys["causal"][1], rank, _bool)
    if "add_kv" in keys:
        case["add_kv"] = _uint(*keys["add_kv"])
    case["heads_kv"] = _uint(*keys["heads_kv"]) if "heads_kv" in keys else case["heads"]
    for what in ("batch", "heads", "heads_kv", "dim"):
        if case[what] < 1:
            raise ConfigError(f"{where}: case [{name}]: {what} is {case[what]}: must be >= 1")
    if case["heads"] % case["heads_kv"]:
        raise ConfigError(f"{where}: case [{name}]: heads: query heads {case['heads']} is not a multiple of "
                          f"key/value heads {case['heads_kv']}")
    for a in range(rank):
        k, s, d, n = case["kernel_size"][a], case["stride"][a], case["dilation"][a], case["input_size"][a]
        if k < 2 or s < 1 or d < 1 or s > k or k * d > n:
            raise ConfigError(f"{where}: case [{name}]: axis {a}: need 2 <= kernel_size, 1 <= stride <= "
                              f"kernel_size, dilation >= 1, kernel_size * dilation <= input size "
                              f"(got k={k} s={s} d={d} size={n})")
    return case


def _check_merge(case, keys):
    """A merge case is no NA problem: every extent at least 1, parts 2..1024, a bounded size."""
    where, name = case["where"], case["name"]
    if "parts" in keys:
        parts = _uint(*keys["parts"])
        if not 2 <= parts <= 1024:
            raise ConfigError(f"{keys['parts'][1]}: {parts} parts: expected 2..1024")
        case["parts"] = parts
    for what in ("batch", "heads", "dim"):
        if case[what] < 1:
            raise ConfigError(f"{where}: case [{name}]: {what} is {case[what]}: must be >= 1")
    elements = case["batch"] * case["heads"] * case["dim"]
    for a, n in enumerate(case["input_size"]):
        if n < 1:
            raise ConfigError(f"{where}: case [{name}]: input_size[{a}] is {n}: must be >= 1")
        elements *= n
    if elements * case["parts"] > MAX_ELEMENTS:
        raise ConfigError(f"{where}: case [{name}]: {case['parts']} parts of {elements:.3g} elements exceed the "
                          f"{MAX_ELEMENTS} elements a case may hold")
    case["heads_kv"] = case["heads"]
    return case


def read_cases(path):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ConfigError(f"{path}: cannot open the config file: {e.strerror}")
    sections = parse_ini(text, path)
    defaults = {}
    for s in sections:
        if s[0] == "defaults":
            _collect(path, s, defaults, True)
    cases = []
    for s in sections:
        if s[0] == "defaults":
            continue
        keys = dict(defaults)
        _collect(path, s, keys, False)
        cases.append(_build_case(path, s, keys))
    if not cases:
        raise ConfigError(f"{path}: no cases (every section but [defaults] is a case)")
    return cases


# ---------------------------------------------------------------------------------------------
# Inputs

def round_to_dtype(x, dtype):
    """float32 array -> values representable in dtype (still float32; RNE like the C++ side)."""
    import numpy as np
    x = np.asarray(x, dtype=np.float32)
    if dtype == "float16":
        return x.astype(np.float16).astype(np.float32)
    if dtype == "bfloat16":
        bits = x.view(np.uint32).astype(np.uint64)
        rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
        return rounded.astype(np.uint32).view(np.float32)
    return x


def window_slots(case):
    slots = 1
    for k in case["kernel_size"]:
        slots *= k
    return slots


def make_inputs(case):
    """The case's inputs by dataset name, heads-last, drawn in a fixed order per op."""
    import numpy as np
    rng = np.random.Generator(np.random.PCG64(case["seed"]))
    b, s, hq, hkv, d = case["batch"], case["input_size"], case["heads"], case["heads_kv"], case["dim"]
    n, op = case.get("add_kv", 0), case["op"]

    def draw(shape):
        return round_to_dtype(rng.uniform(-1.0, 1.0, size=shape).astype(np.float32), case["dtype"])

    inputs = {}
    if op == "merge":
        for i in range(case["parts"]):
            inputs[f"output_{i}"] = draw([b, *s, hq, d])
            inputs[f"logsumexp_{i}"] = (4.0 * rng.uniform(-1.0, 1.0, size=[b, *s, hq])).astype(np.float32)
        if case["backward"]:
            inputs["grad_output"] = draw([b, *s, hq, d])
            inputs["grad_logsumexp"] = rng.uniform(-1.0, 1.0, size=[b, *s, hq]).astype(np.float32)
        return inputs
    attention = [b, *s, hq, window_slots(case) + n]
    if op == "na_qk":
        inputs["query"] = draw([b, *s, hq, d])
        inputs["key"] = draw([b, *s, hkv, d])
        if case["rpb"]:
            inputs["rpb"] = draw([hq] + [2 * k - 1 for k in case["kernel_size"]])
        if n > 0:
            inputs["additional_key"] = draw([b, n, hkv, d])
        if case["backward"]:
            inputs["grad_attention"] = draw(attention)
        return inputs
    if op == "na_av":
        inputs["attention"] = draw(attention)
        inputs["value"] = draw([b, *s, hkv, d])
        if n > 0:
            inputs["additional_value"] = draw([b, n, hkv, d])
        if case["backward"]:
            inputs["grad_output"] = draw([b, *s, hq, d])
        return inputs
    inputs = {"query": draw([b, *s, hq, d]), "key": draw([b, *s, hkv, d]), "value": draw([b, *s, hkv, d])}
    if n > 0:
        inputs["additional_key"] = draw([b, n, hkv, d])
        inputs["additional_value"] = draw([b, n, hkv, d])
    if case["backward"]:
        inputs["grad_output"] = draw([b, *s, hq, d])
    return inputs


def expected_names(case, inputs):
    """The datasets a producer must return for the case (apps/natten-check/FORMAT.md)."""
    op, backward = case["op"], case["backward"]
    if op == "merge":
        names = ["output", "logsumexp"]
        if backward:
            for i in range(case["parts"]):
                names += [f"grad_output_{i}", f"grad_logsumexp_{i}"]
        return names
    if op == "na_qk":
        names = ["attention"]
        if backward:
            names += ["grad_query", "grad_key"] + ["grad_" + n for n in ("rpb", "additional_key") if n in inputs]
        return names
    if op == "na_av":
        names = ["output"]
        if backward:
            names += ["grad_attention", "grad_value"] + (["grad_additional_value"] if "additional_value" in inputs else [])
        return names
    names = ["output", "logsumexp"]
    if backward:
        names += ["grad_query", "grad_key", "grad_value"]
        if case["add_kv"]:
            names += ["grad_additional_key", "grad_additional_value"]
    return names


# ---------------------------------------------------------------------------------------------
# Producers

def cpu_name():
    """"cpu (<model name>)" from /proc/cpuinfo where there is one."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return f"cpu ({line.split(':', 1)[1].strip()})"
    except OSError:
        pass
    return "cpu"


class UpstreamProducer:
    """Upstream NATTEN: the fused op of >= 0.20 (heads-last), the split ops of 0.14-0.17 (heads-first)."""

    def __init__(self, device, natten_backend):
        try:
            import natten
            import natten.functional
            import torch
        except ImportError as e:
            raise ConfigError(f"upstream NATTEN is not importable ({e}); pip install natten, or pass "
                              "--producer-module")
        self.natten, self.torch = natten, torch
        self.functional = natten.functional
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.natten_backend = natten_backend
        self.version = getattr(natten, "__version__", "unknown")
        self.PRODUCER = f"natten {self.version}"
        self.attributes = {"torch_version": torch.__version__, "device": self._device_name(),
                           "natten_backend": natten_backend or "natten's default"}
        # fp32 matmuls in full precision (no TF32), as upstream's own fp32 tests run.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.set_float32_matmul_precision("highest")

    def _device_name(self):
        if self.device.startswith("cuda"):
            return self.torch.cuda.get_device_name(self.device)
        return cpu_name() if self.device == "cpu" else self.device

    def backend_name(self):
        return self.natten_backend or f"natten default ({self.device})"

    def _tensors(self, case, inputs):
        torch = self.torch
        dtype = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[case["dtype"]]
        # logsumexps and their gradients stay float32, like every producer's.
        return {name: torch.from_numpy(array).to(self.device, torch.float32 if "logsumexp" in name else dtype)
                for name, array in inputs.items()}

    def check_case(self, case):
        """Refuses, before anything runs, a case this upstream version cannot produce."""
        op, name = case["op"], case["name"]
        if op == "merge":
            raise ConfigError(f"case [{name}]: op merge is this project's op, not upstream's; "
                              "write it with natten-check --write")
        split_api = self._split_api()
        if op == "na":
            if not hasattr(self.natten, "na1d"):
                raise ConfigError(f"case [{name}]: natten {self.version} has no natten.na1d/na2d/na3d "
                                  "(the heads-last fused API of 0.20+)")
            return
        if split_api is None:
            raise ConfigError(f"case [{name}]: natten {self.version} has no split ops (na{{1,2,3}}d_qk/av were "
                              "removed in 0.20); install natten 0.14-0.17 for op " + op)
        problems = []
        if any(s != 1 for s in case["stride"]):
            problems.append("stride (upstream's split ops have none)")
        if case["heads_kv"] != case["heads"]:
            problems.append("heads_kv != heads (no GQA/MQA in upstream's split ops)")
        if any(k % 2 == 0 for k in case["kernel_size"]):
            problems.append("even kernel_size (0.14-0.17 take odd sizes only)")
        if split_api == "0.14":
            if case["rank"] == 3:
                problems.append("rank 3 (0.14's split ops are 1D and 2D)")
            if any(case["is_causal"]) or case["add_kv"]:
                problems.append("causal or additional KV (0.15+)")
            if len(set(case["kernel_size"])) > 1 or len(set(case["dilation"])) > 1:
                problems.append("per-axis kernel_size or dilation (0.14 takes one integer each)")
        if problems:
            raise ConfigError(f"case [{name}]: natten {self.version} cannot produce it: " + "; ".join(problems))

    def _split_api(self):
        if hasattr(self.functional, "na1d_qk"):
            return "0.15"
        if hasattr(self.functional, "natten1dav"):
            return "0.14"
        return None

    def produce(self, case, inputs):
        self.check_case(case)
        try:
            if case["op"] == "na":
                result = self._produce_fused(case, inputs)
            else:
                result = self._produce_split(case, inputs)
        except ConfigError:
            raise
        except Exception as e:  # upstream's own refusal (e.g. an unsupported combination) ends the run cleanly
            raise ProducerRefused(f"case [{case['name']}]: upstream NATTEN failed: {type(e).__name__}: {e}")
        return {name: x.detach().float().cpu().numpy() for name, x in result.items()}

    def _produce_fused(self, case, inputs):
        t = self._tensors(case, inputs)
        leaves = [n for n in ("query", "key", "value", "additional_key", "additional_value") if n in t]
        for n in leaves:
            t[n].requires_grad_(case["backward"])
        fn = {1: self.natten.na1d, 2: self.natten.na2d, 3: self.natten.na3d}[case["rank"]]
        kwargs = {}
        if self.natten_backend:
            kwargs["backend"] = self.natten_backend
        output, lse = fn(t["query"], t["key"], t["value"], kernel_size=tuple(case["kernel_size"]),
                         stride=tuple(case["stride"]), dilation=tuple(case["dilation"]),
                         is_causal=tuple(bool(c) for c in case["is_causal"]),
                         additional_keys=t.get("additional_key"), additional_values=t.get("additional_value"),
                         return_lse=True, **kwargs)
        result = {"output": output, "logsumexp": lse}
        if case["backward"]:
            output.backward(t["grad_output"])
            for n in leaves:
                result["grad_" + n] = t[n].grad
        return result

    def _produce_split(self, case, inputs):
        """0.14-0.17 split ops on heads-first copies of the (heads-last) inputs; results back to heads-last."""
        rank = case["rank"]
        # [B, *S, H, X] <-> [B, H, *S, X]; additional KV [B, N, H, D] <-> upstream's [B, H, N, D].
        to_first = (0, rank + 1) + tuple(range(1, rank + 1)) + (rank + 2,)
        to_last = (0,) + tuple(range(2, rank + 2)) + (1, rank + 2)
        t = self._tensors(case, inputs)
        hf = {}
        for name, x in t.items():
            if name == "rpb":
                hf[name] = x.clone()
            elif "additional" in name:
                hf[name] = x.transpose(1, 2).contiguous()
            else:
                hf[name] = x.permute(*to_first).contiguous()
        leaves = [n for n in ("query", "key", "rpb", "additional_key", "attention", "value", "additional_value")
                  if n in hf and not n.startswith("grad_")]
        for n in leaves:
            hf[n].requires_grad_(case["backward"])
        if case["op"] == "na_qk":
            out_name, grad_name = "attention", "grad_attention"
            result = self._qk(case, hf)
        else:
            out_name, grad_name = "output", "grad_output"
            result = self._av(case, hf)
        results = {out_name: result}
        if case["backward"]:
            result.backward(hf[grad_name])
            for n in leaves:
                results["grad_" + n] = hf[n].grad
        back = {}
        for name, x in results.items():
            if name in ("rpb", "grad_rpb"):
                back[name] = x
            elif "additional" in name:
                back[name] = x.transpose(1, 2)
            else:
                back[name] = x.permute(*to_last)
        return back

    def _qk(self, case, hf):
        F, rank = self.functional, case["rank"]
        k, d = tuple(case["kernel_size"]), tuple(case["dilation"])
        if self._split_api() == "0.15":
            kwargs = {"rpb": hf.get("rpb")}
            if "additional_key" in hf:
                kwargs["additional_keys"] = hf["additional_key"]
            if any(case["is_causal"]):
                kwargs["is_causal"] = tuple(bool(c) for c in case["is_causal"])
            return getattr(F, f"na{rank}d_qk")(hf["query"], hf["key"], kernel_size=k, dilation=d, **kwargs)
        # 0.14: natten{1,2}dqkrpb(query, key, rpb, kernel_size, dilation); rpb-less calls go through
        # natten{1,2}dqk where the version has it, else qkrpb with rpb=None.
        rpb_less = getattr(F, f"natten{rank}dqk", None)
        if "rpb" in hf or rpb_less is None:
            return getattr(F, f"natten{rank}dqkrpb")(hf["query"], hf["key"], hf.get("rpb"), k[0], d[0])
        return rpb_less(hf["query"], hf["key"], k[0], d[0])

    def _av(self, case, hf):
        F, rank = self.functional, case["rank"]
        k, d = tuple(case["kernel_size"]), tuple(case["dilation"])
        if self._split_api() == "0.15":
            kwargs = {}
            if "additional_value" in hf:
                kwargs["additional_values"] = hf["additional_value"]
            if any(case["is_causal"]):
                kwargs["is_causal"] = tuple(bool(c) for c in case["is_causal"])
            return getattr(F, f"na{rank}d_av")(hf["attention"], hf["value"], kernel_size=k, dilation=d, **kwargs)
        return getattr(F, f"natten{rank}dav")(hf["attention"], hf["value"], k[0], d[0])


def load_module_producer(path):
    spec = importlib.util.spec_from_file_location("natten_ref_producer", path)
    if spec is None or not os.path.exists(path):
        raise ConfigError(f"{path}: no such producer module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for attr in ("produce", "PRODUCER"):
        if not hasattr(module, attr):
            raise ConfigError(f"{path}: producer module lacks '{attr}'")
    if not hasattr(module, "attributes"):
        module.attributes = {"device": "cpu"}
    if not hasattr(module, "backend_name"):
        module.backend_name = lambda: module.PRODUCER
    return module


# ---------------------------------------------------------------------------------------------
# Writing (schema: apps/natten-check/FORMAT.md)

def plain_attribute(value, where):
    """`value` as a type every h5py stores the same way: an exact str (pip's h5py rejects str
    subclasses such as torch.__version__ and numpy strings: "No conversion path for dtype('<U12')"),
    int8 for flags (numpy bools become HDF5 enums), int64 and float64 scalars, arrays of those."""
    import numpy as np
    if isinstance(value, (str, bytes)):  # np.str_ and torch's TorchVersion are str subclasses
        return value.decode() if isinstance(value, bytes) else value.encode().decode()
    if isinstance(value, (bool, np.bool_)):
        return np.int8(bool(value))
    if isinstance(value, (int, np.integer)):
        return np.int64(value)
    if isinstance(value, (float, np.floating)):
        return np.float64(value)
    if isinstance(value, (list, tuple, np.ndarray)):
        array = np.asarray(value)
        for kind, plain in (("b", np.int8), ("iu", np.int64), ("f", np.float64)):
            if array.dtype.kind in kind and array.ndim == 1:
                return array.astype(plain)
    raise ConfigError(f"{where}: attribute value {value!r} ({type(value).__name__}) has no plain HDF5 type")


def set_attributes(obj, attributes, where):
    for key, value in attributes.items():
        obj.attrs[key] = plain_attribute(value, f"{where}: attribute '{key}'")


def write_case(f, case, producer, compress):
    import numpy as np
    inputs = make_inputs(case)
    results = producer.produce(case, inputs)
    expected = expected_names(case, inputs)
    missing = [n for n in expected if n not in results]
    if missing:
        raise ConfigError(f"case [{case['name']}]: the producer returned no {', '.join(missing)}")
    g = f.create_group(case["name"])
    attributes = {"op": case["op"]}
    if case["op"] == "merge":
        attributes["parts"] = case["parts"]
    else:
        attributes.update(rank=case["rank"], kernel_size=case["kernel_size"], stride=case["stride"],
                          dilation=case["dilation"], is_causal=[bool(c) for c in case["is_causal"]],
                          # The split ops do not scale.
                          scale=case["dim"] ** -0.5 if case["op"] == "na" else 1.0)
    attributes.update(dtype=case["dtype"], layout="heads_last", backend=producer.backend_name())
    set_attributes(g, attributes, f"case [{case['name']}]")
    storage = np.float16 if case["dtype"] == "float16" else np.float32

    def kind(name):
        # bf16 values are exact in float32; logsumexps (and their gradients) are always float32.
        return np.float32 if "logsumexp" in name else storage

    for name, array in inputs.items():
        write_dataset(g, name, np.asarray(array).astype(kind(name)), compress)
    for name in expected:
        write_dataset(g, name, np.asarray(results[name]).astype(kind(name)), compress)


def write_dataset(group, name, array, compress):
    """gzip (level 9, shuffled) in one chunk per dataset when small: with v110's single-chunk index
    that costs no B-tree (the earliest format's B-trees took ~4 KiB per dataset, more than many of
    them hold)."""
    options = {}
    if compress and array.size:
        one_chunk = array.nbytes <= (4 << 20)
        options = {"compression": "gzip", "compression_opts": 9, "shuffle": True,
                   "chunks": array.shape if one_chunk else True}
    group.create_dataset(name, data=array, **options)


def producible(cases, producer, skip_unsupported):
    """The cases the producer can make; refuses the rest (or, with skip_unsupported, drops them)."""
    check_case = getattr(producer, "check_case", None)
    if check_case is None:
        return cases
    kept = []
    for case in cases:  # checked before anything runs
        try:
            check_case(case)
            kept.append(case)
        except ConfigError as e:
            if not skip_unsupported:
                raise
            print(f"skipped: {e}", file=sys.stderr)
    if not kept:
        raise ConfigError("the producer can make none of the selected cases")
    return kept


def write_h5_atomically(path, root_attributes, fill):
    """Writes an HDF5 file in HDF5 1.10's format (libver v110, which Debian 12's HDF5 1.10 reads;
    pip's h5py bundles a newer HDF5 that would otherwise write newer structures): root attributes
    (plain types), then fill(f); to a temporary renamed into place, so a failure leaves no file."""
    import h5py
    directory = os.path.dirname(os.path.abspath(path))
    temp = os.path.join(directory, f".{os.path.basename(path)}.tmp.{os.getpid()}")
    try:
        with h5py.File(temp, "w", libver=("v110", "v110")) as f:
            set_attributes(f, root_attributes, "root")
            fill(f)
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.remove(temp)


def command_line(argv):
    """The command as run, for the file's `command` attribute."""
    import shlex
    return shlex.join(["python3", sys.argv[0] or "make_reference.py"] + list(argv))


def write_file(path, cases, producer, compress, extra_attributes, skip_unsupported):
    """Writes every case; returns the names written. With skip_unsupported a case upstream refuses
    while running is left out with a note (stderr and the root attribute `skipped_cases`)."""
    root = {"natten_ref_version": 1, "producer": producer.PRODUCER, **producer.attributes, **extra_attributes}
    written = []

    def fill(f):
        skipped = []
        for case in cases:
            print(f"{case['name']}: producing", file=sys.stderr, flush=True)
            try:
                write_case(f, case, producer, compress)
                written.append(case["name"])
            except ProducerRefused as e:
                if not skip_unsupported:
                    raise
                print(f"skipped: {e}", file=sys.stderr)
                skipped.append(str(e))
        if not written:
            raise ConfigError("the producer made none of the selected cases")
        if skipped:
            f.attrs["skipped_cases"] = "; ".join(skipped)

    write_h5_atomically(path, root, fill)
    return written


def parse_key_values(items, option, valid_key=bool):
    """Repeated `option KEY=VALUE` arguments as a dict of strings."""
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not valid_key(key):
            raise ConfigError(f"{option} '{item}': expected KEY=VALUE")
        pairs[key] = value
    return pairs


def parse_arguments(parser, argv):
    """(arguments, None), or (None, exit code): 0 after --help, 2 for bad arguments."""
    try:
        return parser.parse_args(argv), None
    except SystemExit as e:
        return None, 0 if e.code == 0 else 2


def import_h5py():
    try:
        import h5py
        import numpy  # noqa: F401
    except ImportError as e:
        raise ConfigError(f"h5py and numpy are required ({e})")
    return h5py


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="INI case list (e.g. configs/parity.ini)")
    parser.add_argument("--output", required=True, help="natten-ref v1 file to write")
    parser.add_argument("--case", action="append", default=[],
                        help="only cases matching this shell glob (repeatable, or a,b)")
    parser.add_argument("--producer-module", help="Python file with produce()/PRODUCER instead of upstream NATTEN")
    parser.add_argument("--device", help="torch device for upstream NATTEN (default: cuda if available, else cpu)")
    parser.add_argument("--natten-backend", help="upstream backend, e.g. cutlass-fna, flex-fna (default: its choice)")
    parser.add_argument("--compress", action="store_true", help="gzip the datasets")
    parser.add_argument("--skip-unsupported", action="store_true",
                        help="leave out (with a note) the cases the installed upstream version cannot produce "
                             "or refuses while running")
    parser.add_argument("--attribute", action="append", default=[], metavar="KEY=VALUE",
                        help="an extra root attribute (repeatable), e.g. how upstream was built")
    args, code = parse_arguments(parser, argv)
    if args is None:
        return code
    try:
        import_h5py()
        extra = {"command": command_line(sys.argv[1:] if argv is None else argv),
                 **parse_key_values(args.attribute, "--attribute")}
        cases = read_cases(args.config)
        globs = [g for item in args.case for g in item.split(",") if g]
        if globs:
            cases = [c for c in cases if any(fnmatch.fnmatchcase(c["name"], g) for g in globs)]
            if not cases:
                raise ConfigError(f"--case {', '.join(globs)}: no case matches")
        producer = (load_module_producer(args.producer_module) if args.producer_module
                    else UpstreamProducer(args.device, args.natten_backend))
        cases = producible(cases, producer, args.skip_unsupported)
        written = write_file(args.output, cases, producer, args.compress, extra, args.skip_unsupported)
    except ConfigError as e:
        print(f"make_reference.py: error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {len(written)} cases to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
