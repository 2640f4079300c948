"""Stand-in producer for scripts/make_reference.py (--producer-module), used by the tests where
upstream NATTEN is not installed: neighborhood attention forward and backward by brute force in
float64 with numpy, written independently from the C++ backends from the rules in
../shared/natten-refs/README.md. natten-check must accept what make_reference.py writes with it,
which tests the file-writing side of the script and the schema end to end.
"""

import itertools

import numpy as np

PRODUCER = "numpy brute force (tests/support/numpy_na_producer.py)"
attributes = {"device": "cpu (numpy)"}


def backend_name():
    return "numpy-brute-force"


def axis_neighbors(i, length, k, s, d, causal):
    """Key positions query position i attends along one axis (README: window rule per axis)."""
    g, j = i % d, i // d
    lg = (length - g + d - 1) // d  # length of i's dilation group
    if causal:
        leader = min((j // s) * s + s - 1, lg - 1)
        start, end = max(leader - k + 1, 0), j + 1
    else:
        leader = min((j // s) * s + s // 2, lg - 1)
        start = min(max(leader - k // 2, 0), lg - k)
        end = start + k
    return [g + d * t for t in range(start, end)]


def round_to(x, dtype):
    x = np.asarray(x, dtype=np.float32)
    if dtype == "float16":
        return x.astype(np.float16).astype(np.float32)
    if dtype == "bfloat16":
        bits = x.view(np.uint32).astype(np.uint64)
        return ((bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000).astype(np.uint32).view(np.float32)
    return x


def produce(case, inputs):
    sizes = case["input_size"]
    rank = len(sizes)
    q = inputs["query"].astype(np.float64)
    k = inputs["key"].astype(np.float64)
    v = inputs["value"].astype(np.float64)
    b, hq, hkv, dim = q.shape[0], q.shape[-2], k.shape[-2], q.shape[-1]
    tokens = int(np.prod(sizes))
    qf, kf, vf = (x.reshape(b, tokens, x.shape[-2], dim) for x in (q, k, v))
    extra = "additional_key" in inputs
    ak = inputs["additional_key"].astype(np.float64) if extra else np.zeros((b, 0, hkv, dim))
    av = inputs["additional_value"].astype(np.float64) if extra else np.zeros((b, 0, hkv, dim))
    scale = dim ** -0.5
    group = hq // hkv

    # Neighbor token indices (flattened, row-major) of every query token.
    per_axis = [[axis_neighbors(i, sizes[a], case["kernel_size"][a], case["stride"][a], case["dilation"][a],
                                bool(case["is_causal"][a])) for i in range(sizes[a])] for a in range(rank)]
    strides = [int(np.prod(sizes[a + 1:])) for a in range(rank)]
    neighbors = []
    for pos in itertools.product(*[range(n) for n in sizes]):
        lists = [per_axis[a][pos[a]] for a in range(rank)]
        neighbors.append(np.array([sum(c * st for c, st in zip(combo, strides))
                                   for combo in itertools.product(*lists)], dtype=np.int64))

    out = np.zeros((b, tokens, hq, dim))
    lse = np.zeros((b, tokens, hq))
    grads = {n: np.zeros_like(x) for n, x in (("query", qf), ("key", kf), ("value", vf),
                                              ("additional_key", ak), ("additional_value", av))}
    dout = (inputs["grad_output"].astype(np.float64).reshape(b, tokens, hq, dim)
            if case["backward"] else None)
    for bi in range(b):
        for t in range(tokens):
            nb = neighbors[t]
            for h in range(hq):
                kh = h // group
                keys = np.concatenate([kf[bi, nb, kh], ak[bi, :, kh]])
                values = np.concatenate([vf[bi, nb, kh], av[bi, :, kh]])
                scores = scale * keys @ qf[bi, t, h]
                m = scores.max()
                p = np.exp(scores - m)
                total = p.sum()
                p /= total
                out[bi, t, h] = p @ values
                lse[bi, t, h] = m + np.log(total)
                if dout is None:
                    continue
                do = dout[bi, t, h]
                ds = p * (values @ do - do @ out[bi, t, h])
                grads["query"][bi, t, h] += scale * ds @ keys
                n = len(nb)
                np.add.at(grads["key"][bi, :, kh], nb, scale * np.outer(ds[:n], qf[bi, t, h]))
                np.add.at(grads["value"][bi, :, kh], nb, np.outer(p[:n], do))
                grads["additional_key"][bi, :, kh] += scale * np.outer(ds[n:], qf[bi, t, h])
                grads["additional_value"][bi, :, kh] += np.outer(p[n:], do)

    dtype = case["dtype"]
    result = {"output": round_to(out.reshape(q.shape[:-1] + (dim,)), dtype),
              "logsumexp": lse.reshape(q.shape[:-1]).astype(np.float32)}
    if case["backward"]:
        result["grad_query"] = round_to(grads["query"].reshape(q.shape), dtype)
        result["grad_key"] = round_to(grads["key"].reshape(k.shape), dtype)
        result["grad_value"] = round_to(grads["value"].reshape(v.shape), dtype)
        if extra:
            result["grad_additional_key"] = round_to(grads["additional_key"], dtype)
            result["grad_additional_value"] = round_to(grads["additional_value"], dtype)
    return result
