#!/usr/bin/env python3
"""Produce natten-ref v1 reference files (apps/natten-check/FORMAT.md) from upstream NATTEN.

    pip install natten          # upstream NATTEN >= 0.20 (heads-last API) and PyTorch
    python3 scripts/make_reference.py --config configs/parity.ini --output refs.h5
    natten-check refs.h5        # our backends against upstream's numbers

The case list is the project's INI format (lib/natten/io/case_config.hpp; the same keys and
defaults natten-check --write reads): one section per case, [defaults] for all, keys rank,
input_size, batch, heads, heads_kv, dim, window_size (alias k), stride, dilation, causal, dtype,
add_kv, backward, seed. Inputs are uniform in [-1, 1) from numpy's PCG64 seeded with the case's
seed (default: FNV-1a of the case name), rounded to the case's dtype; the rounded values are what
is stored and what the producer sees.

Producers:
  default                 upstream NATTEN: natten.na{1,2,3}d(..., return_lse=True), backward via
                          autograd; --device (default cuda if available) and --natten-backend
                          pick where and how.
  --producer-module PATH  a Python file defining produce(case, inputs) -> {name: array} and
                          PRODUCER (a string); used by the tests (a numpy brute force) so the
                          file-writing side is tested where upstream NATTEN is not installed.

Files are written with h5py using libver=("earliest", "v110") so Debian 12's HDF5 1.10 reads them,
flags as int8 (numpy bools would become HDF5 enums), to a temporary file renamed into place.
Exit codes: 0 written, 2 bad arguments, config or environment (nothing written).
"""

import argparse
import fnmatch
import importlib.util
import os
import sys

KEYS = ("rank", "input_size", "batch", "heads", "heads_kv", "dim", "window_size", "k", "stride",
        "dilation", "causal", "dtype", "add_kv", "backward", "seed")
DTYPES = {"fp32": "float32", "float32": "float32", "fp16": "float16", "float16": "float16",
          "bf16": "bfloat16", "bfloat16": "bfloat16"}
BOOLS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


class ConfigError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# INI case lists (mirrors lib/natten/io/ini.cpp and case_config.cpp; keep the two in step)

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
    h = 1469598103934665603
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


def _collect(path, section, into):
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
        into[canonical] = (value, where)


def _build_case(path, section, keys):
    name, line, _ = section
    where = f"{path}:{line}"
    if not name or name in (".", "..") or any(not (c.isascii() and (c.isalnum() or c in "_-.")) for c in name):
        raise ConfigError(f"{where}: section name [{name}] must use only letters, digits, '_', '-' and '.' "
                          "(it names an HDF5 group)")

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
    k_text, k_where = need("window_size", f"{where}: case [{name}] has no 'window_size' (or 'k')")
    case = {
        "name": name,
        "where": where,
        "rank": rank,
        "input_size": [_uint(s, size_where) for s in sizes],
        "kernel_size": _per_axis(k_text, k_where, rank, _uint),
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
    }
    for key, parse in (("stride", _uint), ("dilation", _uint)):
        if key in keys:
            case[key] = _per_axis(keys[key][0], keys[key][1], rank, parse)
    if "causal" in keys:
        case["is_causal"] = _per_axis(keys["causal"][0], keys["causal"][1], rank, _bool)
    for key in ("batch", "heads", "dim", "add_kv"):
        if key in keys:
            case[key] = _uint(*keys[key])
    case["heads_kv"] = _uint(*keys["heads_kv"]) if "heads_kv" in keys else case["heads"]
    if "dtype" in keys:
        text, w = keys["dtype"]
        if text not in DTYPES:
            raise ConfigError(f"{w}: dtype: unknown '{text}' (expected fp32, fp16 or bf16)")
        case["dtype"] = DTYPES[text]
    if "backward" in keys:
        case["backward"] = _bool(*keys["backward"])
    if "seed" in keys:
        case["seed"] = _uint(keys["seed"][0], keys["seed"][1], (1 << 64) - 1)
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
            _collect(path, s, defaults)
    cases = []
    for s in sections:
        if s[0] == "defaults":
            continue
        keys = dict(defaults)
        _collect(path, s, keys)
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


def make_inputs(case):
    import numpy as np
    rng = np.random.Generator(np.random.PCG64(case["seed"]))
    b, s, hq, hkv, d, n = (case["batch"], case["input_size"], case["heads"], case["heads_kv"], case["dim"],
                           case["add_kv"])

    def draw(shape):
        return round_to_dtype(rng.uniform(-1.0, 1.0, size=shape).astype(np.float32), case["dtype"])

    inputs = {"query": draw([b, *s, hq, d]), "key": draw([b, *s, hkv, d]), "value": draw([b, *s, hkv, d])}
    if n > 0:
        inputs["additional_key"] = draw([b, n, hkv, d])
        inputs["additional_value"] = draw([b, n, hkv, d])
    if case["backward"]:
        inputs["grad_output"] = draw([b, *s, hq, d])
    return inputs


# ---------------------------------------------------------------------------------------------
# Producers

class UpstreamProducer:
    """Upstream NATTEN (>= 0.20, heads-last API)."""

    def __init__(self, device, natten_backend):
        try:
            import natten
            import torch
        except ImportError as e:
            raise ConfigError(f"upstream NATTEN is not importable ({e}); pip install natten, or pass "
                              "--producer-module")
        self.natten, self.torch = natten, torch
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.natten_backend = natten_backend
        version = getattr(natten, "__version__", "unknown")
        self.PRODUCER = f"natten {version}"
        self.attributes = {"torch_version": torch.__version__, "device": self._device_name()}
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False

    def _device_name(self):
        if self.device.startswith("cuda"):
            return self.torch.cuda.get_device_name(self.device)
        return self.device

    def backend_name(self):
        return self.natten_backend or "natten default"

    def produce(self, case, inputs):
        torch = self.torch
        dtype = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[case["dtype"]]
        t = {name: torch.from_numpy(array).to(self.device, dtype) for name, array in inputs.items()}
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
        return {name: x.detach().float().cpu().numpy() for name, x in result.items()}


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

def write_file(path, cases, producer, compress):
    import h5py
    import numpy as np
    directory = os.path.dirname(os.path.abspath(path))
    temp = os.path.join(directory, f".{os.path.basename(path)}.tmp.{os.getpid()}")
    try:
        with h5py.File(temp, "w", libver=("earliest", "v110")) as f:
            f.attrs["natten_ref_version"] = np.int64(1)
            f.attrs["producer"] = producer.PRODUCER
            for key, value in producer.attributes.items():
                f.attrs[key] = value
            for case in cases:
                print(f"{case['name']}: producing", file=sys.stderr, flush=True)
                inputs = make_inputs(case)
                results = producer.produce(case, inputs)
                expected = ["output", "logsumexp"]
                if case["backward"]:
                    expected += ["grad_query", "grad_key", "grad_value"]
                    if case["add_kv"]:
                        expected += ["grad_additional_key", "grad_additional_value"]
                missing = [n for n in expected if n not in results]
                if missing:
                    raise ConfigError(f"case [{case['name']}]: the producer returned no {', '.join(missing)}")
                g = f.create_group(case["name"])
                g.attrs["op"] = "na"
                g.attrs["rank"] = np.int64(case["rank"])
                g.attrs["kernel_size"] = np.asarray(case["kernel_size"], dtype=np.int64)
                g.attrs["stride"] = np.asarray(case["stride"], dtype=np.int64)
                g.attrs["dilation"] = np.asarray(case["dilation"], dtype=np.int64)
                g.attrs["is_causal"] = np.asarray(case["is_causal"], dtype=np.int8)
                g.attrs["scale"] = np.float64(case["dim"] ** -0.5)
                g.attrs["dtype"] = case["dtype"]
                g.attrs["layout"] = "heads_last"
                g.attrs["backend"] = producer.backend_name()
                storage = np.float16 if case["dtype"] == "float16" else np.float32
                options = {"compression": "gzip", "shuffle": True} if compress else {}
                for name, array in inputs.items():
                    g.create_dataset(name, data=np.asarray(array).astype(storage), **options)
                for name in expected:
                    # bf16 results are exact in float32; logsumexp is always float32.
                    kind = np.float32 if name == "logsumexp" else storage
                    g.create_dataset(name, data=np.asarray(results[name]).astype(kind), **options)
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.remove(temp)


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
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return 0 if e.code == 0 else 2
    try:
        try:
            import h5py  # noqa: F401
            import numpy  # noqa: F401
        except ImportError as e:
            raise ConfigError(f"h5py and numpy are required ({e})")
        cases = read_cases(args.config)
        globs = [g for item in args.case for g in item.split(",") if g]
        if globs:
            cases = [c for c in cases if any(fnmatch.fnmatchcase(c["name"], g) for g in globs)]
            if not cases:
                raise ConfigError(f"--case {', '.join(globs)}: no case matches")
        producer = (load_module_producer(args.producer_module) if args.producer_module
                    else UpstreamProducer(args.device, args.natten_backend))
        write_file(args.output, cases, producer, args.compress)
    except ConfigError as e:
        print(f"make_reference.py: error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {len(cases)} cases to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
