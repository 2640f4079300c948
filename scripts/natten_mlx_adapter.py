"""Example adapter: natten-mlx (Apple MLX) as a scripts/make_candidate.py module.

    python3 scripts/make_candidate.py --module scripts/natten_mlx_adapter.py \
        --reference tests/data/upstream/natten-0.21.6-conformance.h5 --output mlx.h5
    natten-check tests/data/upstream/natten-0.21.6-conformance.h5 --candidate mlx.h5

NEVER RUN: this project has no Mac, so this file has not been executed against MLX or natten-mlx.
It assumes natten-mlx exposes na1d/na2d/na3d (at the top level or in natten_mlx.functional) with
upstream NATTEN 0.20+'s argument names and heads-last arrays, returning (output, logsumexp) with
return_lse=True; if your version names or orders them differently, change `_call` below. The MLX
calls used are mx.array, astype, mx.vjp and np.array on an evaluated array.
"""

import numpy as np

import mlx.core as mx
import natten_mlx

_api = natten_mlx if hasattr(natten_mlx, "na1d") else natten_mlx.functional
PRODUCER = f"natten-mlx {getattr(natten_mlx, '__version__', 'unknown version')} (scripts/natten_mlx_adapter.py)"
attributes = {"device": f"mlx {mx.default_device()}", "mlx_version": getattr(mx, "__version__", "unknown")}
_DTYPES = {"float32": mx.float32, "float16": mx.float16, "bfloat16": mx.bfloat16}


def from_numpy(array, dtype):
    return mx.array(np.asarray(array, dtype=np.float32)).astype(_DTYPES[dtype])


def to_numpy(x):
    x = x.astype(mx.float32)
    mx.eval(x)
    return np.array(x)


def vjp(fn, primals, cotangent):
    _, grads = mx.vjp(fn, list(primals), [cotangent])
    return list(grads)


def _call(rank, query, key, value, **kwargs):
    return getattr(_api, f"na{rank}d")(query, key, value, **kwargs)


def na1d(query, key, value, **kwargs):
    return _call(1, query, key, value, **kwargs)


def na2d(query, key, value, **kwargs):
    return _call(2, query, key, value, **kwargs)


def na3d(query, key, value, **kwargs):
    return _call(3, query, key, value, **kwargs)
