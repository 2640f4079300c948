"""Stand-in producer for scripts/make_reference.py (--producer-module), used by the tests where
upstream NATTEN is not installed: neighborhood attention (fused, the split qk/av ops with relative
positional bias, and merge) forward and backward by brute force in float64 with numpy, written
independently from the C++ backends from the rules in ../shared/natten-refs/README.md and
apps/natten-check/FORMAT.md. natten-check must accept what make_reference.py writes with it, which
tests the file-writing side of the script and the schema end to end.
"""

import itertools

import numpy as np

PRODUCER = "numpy brute force (tests/support/numpy_na_producer.py)"


class _Version(str):
    """A str subclass, as torch.__version__ is (pip's h5py refuses to store those)."""


# Root attributes of the kinds upstream's producer records: a str subclass and numpy scalars.
attributes = {"device": "cpu (numpy)", "standin_version": _Version("1.0"), "numpy_version": np.str_(np.__version__),
              "threads": np.int32(1), "input_range": np.float32(1.0), "deterministic": np.bool_(True)}


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
    op = case.get("op", "na")
    if op == "na_qk":
        return produce_qk(case, inputs)
    if op == "na_av":
        return produce_av(case, inputs)
    if op == "merge":
        return produce_merge(case, inputs)
    return produce_fused(case, inputs)


def neighbor_table(case):
    """Per query token (flattened, row-major): [(slot, key token, bias index tuple)] over the window.

    Slots run row-major over the kernel, first axis slowest, each axis from its window start
    upward; slots a causal window lacks are absent. Bias index per axis: (key - query) / d + K - 1.
    """
    sizes, ks, ds = case["input_size"], case["kernel_size"], case["dilation"]
    rank = len(sizes)
    per_axis = [[axis_neighbors(i, sizes[a], ks[a], case["stride"][a], ds[a], bool(case["is_causal"][a]))
                 for i in range(sizes[a])] for a in range(rank)]
    strides = [int(np.prod(sizes[a + 1:])) for a in range(rank)]
    table = []
    for pos in itertools.product(*[range(n) for n in sizes]):
        entries = []
        for slot, combo in enumerate(itertools.product(*[range(k) for k in ks])):
            lists = [per_axis[a][pos[a]] for a in range(rank)]
            if any(combo[a] >= len(lists[a]) for a in range(rank)):
                continue  # beyond the end of a causal window: no key
            keys = [lists[a][combo[a]] for a in range(rank)]
            token = sum(c * st for c, st in zip(keys, strides))
            bias = tuple((keys[a] - pos[a]) // ds[a] + ks[a] - 1 for a in range(rank))
            entries.append((slot, token, bias))
        table.append(entries)
    return table


def _flat(x, batch, tokens):
    return x.astype(np.float64).reshape(batch, tokens, x.shape[-2], x.shape[-1])


def produce_qk(case, inputs):
    sizes, dtype = case["input_size"], case["dtype"]
    tokens = int(np.prod(sizes))
    q, k = inputs["query"], inputs["key"]
    b, hq, hkv = q.shape[0], q.shape[-2], k.shape[-2]
    qf, kf = _flat(q, b, tokens), _flat(k, b, tokens)
    rpb = inputs["rpb"].astype(np.float64) if "rpb" in inputs else None
    ak = (inputs["additional_key"].astype(np.float64) if "additional_key" in inputs
          else np.zeros((b, 0, hkv, q.shape[-1])))
    slots = int(np.prod(case["kernel_size"]))
    n = ak.shape[1]
    group = hq // hkv
    table = neighbor_table(case)
    attn = np.full((b, tokens, hq, slots + n), -np.inf)
    da = (inputs["grad_attention"].astype(np.float64).reshape(b, tokens, hq, slots + n)
          if case["backward"] else None)
    gq, gk, gak = np.zeros_like(qf), np.zeros_like(kf), np.zeros_like(ak)
    grpb = np.zeros_like(rpb) if rpb is not None else None
    for bi in range(b):
        for t in range(tokens):
            for h in range(hq):
                kh = h // group
                for slot, key, bias in table[t]:
                    attn[bi, t, h, slot] = qf[bi, t, h] @ kf[bi, key, kh] + (rpb[(h,) + bias] if rpb is not None else 0.0)
                    if da is not None:
                        g = da[bi, t, h, slot]
                        gq[bi, t, h] += g * kf[bi, key, kh]
                        gk[bi, key, kh] += g * qf[bi, t, h]
                        if grpb is not None:
                            grpb[(h,) + bias] += g
                attn[bi, t, h, slots:] = ak[bi, :, kh] @ qf[bi, t, h]
                if da is not None:
                    gq[bi, t, h] += da[bi, t, h, slots:] @ ak[bi, :, kh]
                    gak[bi, :, kh] += np.outer(da[bi, t, h, slots:], qf[bi, t, h])
    result = {"attention": round_to(attn.reshape(q.shape[:-1] + (slots + n,)), dtype)}
    if case["backward"]:
        result["grad_query"] = round_to(gq.reshape(q.shape), dtype)
        result["grad_key"] = round_to(gk.reshape(k.shape), dtype)
        if grpb is not None:
            result["grad_rpb"] = round_to(grpb, dtype)
        if n:
            result["grad_additional_key"] = round_to(gak, dtype)
    return result


def produce_av(case, inputs):
    sizes, dtype = case["input_size"], case["dtype"]
    tokens = int(np.prod(sizes))
    a, v = inputs["attention"], inputs["value"]
    b, hq, hkv, dim = a.shape[0], a.shape[-2], v.shape[-2], v.shape[-1]
    af, vf = _flat(a, b, tokens), _flat(v, b, tokens)
    av = inputs["additional_value"].astype(np.float64) if "additional_value" in inputs else np.zeros((b, 0, hkv, dim))
    slots = int(np.prod(case["kernel_size"]))
    group = hq // hkv
    table = neighbor_table(case)
    out = np.zeros((b, tokens, hq, dim))
    do = inputs["grad_output"].astype(np.float64).reshape(b, tokens, hq, dim) if case["backward"] else None
    ga, gv, gav = np.zeros_like(af), np.zeros_like(vf), np.zeros_like(av)
    for bi in range(b):
        for t in range(tokens):
            for h in range(hq):
                kh = h // group
                for slot, key, _ in table[t]:
                    out[bi, t, h] += af[bi, t, h, slot] * vf[bi, key, kh]
                    if do is not None:
                        ga[bi, t, h, slot] = do[bi, t, h] @ vf[bi, key, kh]
                        gv[bi, key, kh] += af[bi, t, h, slot] * do[bi, t, h]
                out[bi, t, h] += af[bi, t, h, slots:] @ av[bi, :, kh]
                if do is not None:
                    ga[bi, t, h, slots:] = av[bi, :, kh] @ do[bi, t, h]
                    gav[bi, :, kh] += np.outer(af[bi, t, h, slots:], do[bi, t, h])
    result = {"output": round_to(out.reshape(a.shape[:-1] + (dim,)), dtype)}
    if case["backward"]:
        result["grad_attention"] = round_to(ga.reshape(a.shape), dtype)
        result["grad_value"] = round_to(gv.reshape(v.shape), dtype)
        if "additional_value" in inputs:
            result["grad_additional_value"] = round_to(gav, dtype)
    return result


def produce_merge(case, inputs):
    parts = case["parts"]
    outs = [inputs[f"output_{i}"].astype(np.float64) for i in range(parts)]
    lses = [inputs[f"logsumexp_{i}"].astype(np.float64) for i in range(parts)]
    top = np.max(lses, axis=0)
    total = sum(np.exp(x - top) for x in lses)
    lse = top + np.log(total)
    weights = [np.exp(x - lse) for x in lses]
    out = sum(w[..., None] * o for w, o in zip(weights, outs))
    result = {"output": round_to(out, case["dtype"]), "logsumexp": lse.astype(np.float32)}
    if case["backward"]:
        do = inputs["grad_output"].astype(np.float64)
        dl = inputs["grad_logsumexp"].astype(np.float64) if "grad_logsumexp" in inputs else np.zeros_like(lse)
        for i, (w, o) in enumerate(zip(weights, outs)):
            result[f"grad_output_{i}"] = round_to(w[..., None] * do, case["dtype"])
            result[f"grad_logsumexp_{i}"] = (w * (np.sum(do * (o - out), axis=-1) + dl)).astype(np.float32)
    return result


def produce_fused(case, inputs):
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
    scale = case.get("scale", dim ** -0.5)
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
