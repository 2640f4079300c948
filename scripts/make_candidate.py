#!/usr/bin/env python3
"""Write a natten-check candidate file from any implementation with upstream NATTEN's Python API.

    python3 scripts/make_candidate.py --module natten --reference REF.h5 --output theirs.h5
    natten-check REF.h5 --candidate theirs.h5

For every fused-op case (`op = na`) of the reference file, the module's na1d/na2d/na3d is called
on exactly the file's inputs, with upstream 0.20+'s signature:

    na{1,2,3}d(query, key, value, kernel_size=, stride=, dilation=, is_causal=, scale=,
               additional_keys=, additional_values=, return_lse=True) -> (output, logsumexp)

(heads-last tensors: [B, *spatial, heads, dim]; additional KV [B, N, heads_kv, dim]; tuples
per axis; `scale` is the reference's). Inputs are cast to the case's dtype (float32, float16 or
bfloat16; logsumexps stay float32). When the case has `grad_output`, the output is
differentiated against it and `grad_query`, `grad_key`, `grad_value` (and the additional KV
grads) are written too. What the module returns is written as it is, shape included: a result of
another shape is natten-check's parity failure to report, not this script's to fix.

--module names an importable module (`natten`, `natten_mps`) or a Python file (an adapter). A torch
module needs nothing more: tensors live on --device, gradients come from autograd. A module whose
arrays are not torch tensors (natten-mlx, through an adapter such as
scripts/natten_mlx_adapter.py) also defines:

    from_numpy(array, dtype)      # numpy float32 array -> the module's array in dtype
                                  # ("float32", "float16" or "bfloat16")
    to_numpy(x)                   # the module's array -> numpy float32
    vjp(fn, primals, cotangent)   # gradients of fn(*primals) (an array) against cotangent,
                                  # one per primal, in order

and optionally PRODUCER (a string naming it and its version) and `attributes` (a dict of extra
root attributes). Extra keyword arguments for every call: --kwarg NAME=VALUE (e.g.
--kwarg backend=flex-fna; VALUE is parsed as a Python literal when it is one, else a string).

A case the module raises on is written as a group with a `skipped` attribute holding the error
(natten-check reports it as skipped, naming the reason); cases of other ops (na_qk, na_av,
merge) are left out with a note. Exit codes: 0 written, 2 bad arguments, reference or module
(nothing written).
"""

import argparse
import ast
import fnmatch
import importlib
import importlib.util
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_reference import (ConfigError, command_line, import_h5py, parse_arguments, parse_key_values,  # noqa: E402
                            set_attributes, write_dataset, write_h5_atomically)

INPUTS = ("query", "key", "value", "additional_key", "additional_value")
ARGUMENT_NAMES = {"additional_key": "additional_keys", "additional_value": "additional_values"}


class TorchArrays:
    """Array conversion and gradients for a module working on torch tensors (upstream, natten-mps)."""

    def __init__(self, device):
        try:
            import torch
        except ImportError as e:
            raise ConfigError(f"the module works on torch tensors, but torch is not importable ({e})")
        self.torch = torch
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.set_float32_matmul_precision("highest")

    def attributes(self):
        torch = self.torch
        device = torch.cuda.get_device_name(self.device) if self.device.startswith("cuda") else self.device
        return {"torch_version": torch.__version__, "device": device}

    def from_numpy(self, array, dtype):
        torch = self.torch
        return torch.from_numpy(array).to(self.device, getattr(torch, dtype))

    def to_numpy(self, x):
        return x.detach().float().cpu().numpy()

    def vjp(self, fn, primals, cotangent):
        leaves = [p.detach().requires_grad_(True) for p in primals]
        out = fn(*leaves)
        out.backward(cotangent)
        return [leaf.grad for leaf in leaves]


class ModuleArrays:
    """The module's own from_numpy / to_numpy / vjp (an adapter for a non-torch framework)."""

    def __init__(self, module):
        self.module = module

    def attributes(self):
        return {}

    def from_numpy(self, array, dtype):
        return self.module.from_numpy(array, dtype)

    def to_numpy(self, x):
        return self.module.to_numpy(x)

    def vjp(self, fn, primals, cotangent):
        return self.module.vjp(fn, primals, cotangent)


def load_module(name):
    try:
        if name.endswith(".py") or os.sep in name:
            if not os.path.exists(name):
                raise ConfigError(f"--module {name}: no such file")
            spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(name))[0], name)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(name)
    except ConfigError:
        raise
    except Exception as e:
        raise ConfigError(f"--module {name}: cannot import it: {type(e).__name__}: {e}")
    # upstream NATTEN and natten-mps export na1d/na2d/na3d at the top level (also in .functional)
    api = module if hasattr(module, "na1d") else getattr(module, "functional", None)
    missing = [f"na{r}d" for r in (1, 2, 3) if api is None or not hasattr(api, f"na{r}d")]
    if len(missing) == 3:
        raise ConfigError(f"--module {name}: has no na1d/na2d/na3d (upstream NATTEN's API)")
    return module, api


def parse_kwargs(items):
    """--kwarg NAME=VALUE: VALUE as a Python literal when it is one, else the string."""
    kwargs = {}
    for key, value in parse_key_values(items, "--kwarg", str.isidentifier).items():
        try:
            kwargs[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            kwargs[key] = value
    return kwargs


# ---------------------------------------------------------------------------------------------
# Reading the reference's cases (apps/natten-check/FORMAT.md)

def _text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def _per_axis(attrs, key, rank, default):
    import numpy as np
    if key not in attrs:
        return (default,) * rank
    values = np.atleast_1d(attrs[key]).tolist()
    return tuple(values) if len(values) == rank else tuple(values[:1] * rank)


def read_case(group):
    """A fused case's parameters and inputs (heads-last numpy float32), or None for other ops."""
    import numpy as np
    attrs = group.attrs
    op = _text(attrs.get("op", ""))
    if op != "na":
        return None
    rank = int(np.atleast_1d(attrs["rank"])[0])
    dtype = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}.get(_text(attrs["dtype"]), _text(attrs["dtype"]))
    heads_first = _text(attrs.get("layout", "heads_last")) == "heads_first"
    data = {}
    for name in INPUTS + ("grad_output",):
        if name not in group:
            continue
        x = group[name][()].astype(np.float32)
        if heads_first and "additional" not in name:  # [B, H, *S, D] -> [B, *S, H, D]
            x = np.ascontiguousarray(np.moveaxis(x, 1, rank + 1))
        data[name] = x
    scale = float(np.atleast_1d(attrs["scale"])[0]) if "scale" in attrs else data["query"].shape[-1] ** -0.5
    return {
        "rank": rank, "dtype": dtype, "scale": scale, "data": data,
        "kernel_size": _per_axis(attrs, "kernel_size", rank, 0),
        "stride": _per_axis(attrs, "stride", rank, 1),
        "dilation": _per_axis(attrs, "dilation", rank, 1),
        "is_causal": tuple(bool(c) for c in _per_axis(attrs, "is_causal", rank, 0)),
    }


# ---------------------------------------------------------------------------------------------
# Running the module

def run_case(api, arrays, case, kwargs):
    """{dataset: numpy array} of the module's results for one case, and notes."""
    data, dtype = case["data"], case["dtype"]
    names = [n for n in INPUTS if n in data]
    primals = [arrays.from_numpy(data[n], dtype) for n in names]
    fn = getattr(api, f"na{case['rank']}d")

    def call(*tensors):
        given = dict(zip(names, tensors))
        return fn(given["query"], given["key"], given["value"], kernel_size=case["kernel_size"],
                  stride=case["stride"], dilation=case["dilation"], is_causal=case["is_causal"],
                  scale=case["scale"], additional_keys=given.get("additional_key"),
                  additional_values=given.get("additional_value"), return_lse=True, **kwargs)

    output, lse = call(*primals)
    results = {"output": arrays.to_numpy(output), "logsumexp": arrays.to_numpy(lse)}
    notes = []
    if "grad_output" in data:
        if results["output"].shape != data["grad_output"].shape:
            notes.append(f"backward not run: output shape {list(results['output'].shape)} differs from "
                         f"grad_output's {list(data['grad_output'].shape)}")
        else:
            grads = arrays.vjp(lambda *t: call(*t)[0], primals, arrays.from_numpy(data["grad_output"], dtype))
            for name, grad in zip(names, grads):
                if grad is None:
                    notes.append(f"no gradient for {name}")
                else:
                    results["grad_" + name] = arrays.to_numpy(grad)
    return results, notes


def write_candidate(f, name, results, dtype, compress):
    import numpy as np
    g = f.create_group(name)
    set_attributes(g, {"layout": "heads_last", "dtype": dtype}, f"case [{name}]")
    storage = np.float16 if dtype == "float16" else np.float32
    for key, array in results.items():
        write_dataset(g, key, np.asarray(array).astype(np.float32 if "logsumexp" in key else storage), compress)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--module", required=True, help="importable module name, or a Python file (an adapter)")
    parser.add_argument("--reference", required=True, help="natten-ref v1 file whose cases (and inputs) to use")
    parser.add_argument("--output", required=True, help="candidate file to write")
    parser.add_argument("--case", action="append", default=[], help="only cases matching this shell glob (repeatable, or a,b)")
    parser.add_argument("--device", help="torch device (default: cuda if available, else cpu)")
    parser.add_argument("--kwarg", action="append", default=[], metavar="NAME=VALUE",
                        help="extra keyword argument for every na{1,2,3}d call, e.g. backend=flex-fna")
    parser.add_argument("--compress", action="store_true", help="gzip the datasets")
    args, code = parse_arguments(parser, argv)
    if args is None:
        return code
    try:
        h5py = import_h5py()
        kwargs = parse_kwargs(args.kwarg)
        try:
            ref = h5py.File(args.reference, "r")
        except OSError as e:
            raise ConfigError(f"{args.reference}: cannot open it as HDF5 ({e})")
        with ref:
            globs = [g for item in args.case for g in item.split(",") if g]
            names = sorted(n for n in ref if isinstance(ref[n], h5py.Group) and "op" in ref[n].attrs
                           and (not globs or any(fnmatch.fnmatchcase(n, g) for g in globs)))
            if not names:
                raise ConfigError(f"{args.reference}: no cases{' match --case' if globs else ''}")
            module, api = load_module(args.module)
            arrays = ModuleArrays(module) if hasattr(module, "from_numpy") else TorchArrays(args.device)
            version = getattr(module, "__version__", "unknown version")
            root = {"natten_ref_version": 1, "producer": getattr(module, "PRODUCER", f"{module.__name__} {version}"),
                    "reference": os.path.basename(args.reference), **arrays.attributes(),
                    **getattr(module, "attributes", {}), "command": command_line(sys.argv[1:] if argv is None else argv)}
            if kwargs:
                root["kwargs"] = repr(kwargs)
            counts = {"written": 0, "skipped": 0, "other ops": 0}

            def fill(f):
                for name in names:
                    case = read_case(ref[name])
                    if case is None:
                        counts["other ops"] += 1
                        print(f"{name}: left out (op {_text(ref[name].attrs['op'])}: only na is called)", file=sys.stderr)
                        continue
                    try:
                        results, notes = run_case(api, arrays, case, kwargs)
                    except Exception as e:  # the module's refusal is the candidate's result: a skip
                        reason = f"{type(e).__name__}: {e}".splitlines()[0][:500]
                        print(f"{name}: skipped: {reason}", file=sys.stderr)
                        set_attributes(f.create_group(name), {"skipped": reason}, f"case [{name}]")
                        counts["skipped"] += 1
                        continue
                    for note in notes:
                        print(f"{name}: {note}", file=sys.stderr)
                    write_candidate(f, name, results, case["dtype"], args.compress)
                    counts["written"] += 1
                if counts["written"] + counts["skipped"] == 0:
                    raise ConfigError(f"{args.reference}: no fused (op = na) cases to run")

            write_h5_atomically(args.output, root, fill)
    except ConfigError as e:
        print(f"make_candidate.py: error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {counts['written']} cases to {args.output} ({counts['skipped']} skipped by the module, "
          f"{counts['other ops']} of other ops left out)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
