"""A stand-in "other implementation" for scripts/make_candidate.py's tests: upstream NATTEN's
Python API (na1d/na2d/na3d with heads-last arrays, returning (output, logsumexp)) over the numpy
brute force of numpy_na_producer.py, with the adapter hooks a non-torch module defines
(from_numpy, to_numpy, vjp). Arrays are numpy float32 holding values of their dtype.

`subsample_stride=True` (make_candidate.py --kwarg subsample_stride=True) makes it return what an
implementation that subsamples under stride would: the output and logsumexp of one query per
stride group (upstream keeps the input shape), which natten-check must report as a parity failure.
`refuse_3d=True` makes na3d raise, as an implementation without 3D would.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy_na_producer as brute  # noqa: E402

PRODUCER = "numpy stand-in module (tests/support/numpy_na_module.py)"
attributes = {"device": "cpu (numpy)"}


class Array(np.ndarray):
    """A float32 array that remembers the dtype its values are in, and (outputs) how to differentiate."""

    def __array_finalize__(self, obj):
        self.natten_dtype = getattr(obj, "natten_dtype", "float32")
        self.backward = None


def from_numpy(array, dtype):
    x = brute.round_to(array, dtype).view(Array)
    x.natten_dtype = dtype
    return x


def to_numpy(x):
    return np.asarray(x, dtype=np.float32)


def vjp(fn, primals, cotangent):
    out = fn(*primals)
    grads = out.backward(to_numpy(cotangent))
    return [grads.get(id(p)) for p in primals]


def _na(rank, query, key, value, kernel_size, stride=1, dilation=1, is_causal=False, scale=None,
        additional_keys=None, additional_values=None, return_lse=False, subsample_stride=False, refuse_3d=False):
    if refuse_3d and rank == 3:
        raise NotImplementedError("the stand-in was told to have no 3D")
    def per_axis(v):
        return list(v) if isinstance(v, (tuple, list)) else [v] * rank

    case = {"input_size": list(query.shape[1:1 + rank]), "kernel_size": per_axis(kernel_size),
            "stride": per_axis(stride), "dilation": per_axis(dilation),
            "is_causal": [bool(c) for c in per_axis(is_causal)], "dtype": query.natten_dtype,
            "backward": False, "scale": scale if scale is not None else query.shape[-1] ** -0.5}
    inputs = {"query": query, "key": key, "value": value}
    if additional_keys is not None:
        inputs.update(additional_key=additional_keys, additional_value=additional_values)
    result = brute.produce_fused(case, {n: to_numpy(x) for n, x in inputs.items()})
    output, lse = result["output"].view(Array), result["logsumexp"]
    if subsample_stride:
        keep = (slice(None),) + tuple(slice(None, None, s) for s in case["stride"])
        output, lse = np.ascontiguousarray(output[keep]).view(Array), np.ascontiguousarray(lse[keep])

    def backward(grad_output):
        full = brute.produce_fused(dict(case, backward=True),
                                   {**{n: to_numpy(x) for n, x in inputs.items()}, "grad_output": grad_output})
        return {id(x): full["grad_" + n] for n, x in inputs.items()}

    output.backward = backward
    return (output, lse) if return_lse else output


def na1d(query, key, value, kernel_size, **kwargs):
    return _na(1, query, key, value, kernel_size, **kwargs)


def na2d(query, key, value, kernel_size, **kwargs):
    return _na(2, query, key, value, kernel_size, **kwargs)


def na3d(query, key, value, kernel_size, **kwargs):
    return _na(3, query, key, value, kernel_size, **kwargs)
