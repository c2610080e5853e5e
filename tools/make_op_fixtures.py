#!/usr/bin/python3
"""Writes the per-op reference fixtures under tests/fixtures/ops/.

    /usr/bin/python3 tools/make_op_fixtures.py [--out DIR] [--check]

One safetensors file per case plus cases.json; the format is documented in
tests/fixtures/ops/README.md. Everything is deterministic: inputs and
parameters come from numpy's PCG64 seeded by a CRC of the case name, rounded
to float32; outputs and gradients are computed by PyTorch in float64 from
those float32 values and rounded to float32 once (so a fixture is the exact
answer to within half an ulp, not PyTorch's float32 rounding). Each case is
also recomputed with netc_torch's independent "manual" formulation in
float64 and the two must agree to 1e-12 before anything is written.

--check regenerates in memory and compares with the files on disk (exit 1
if they differ).
"""

import argparse
import json
import os
import sys
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import netc_torch as nt  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(ROOT, "tests", "fixtures", "ops")

# (name, layer map (no name/input), input shapes ([C, H, W] or [F]), batch, input distribution)
# Distributions: "uniform" U(-1, 1); "wide" U(-4, 4); "negative" U(-2, -0.1)
# (a max pool whose padding would win if it were treated as 0); "zeros"
# U(-1, 1) with about a third of the entries exactly 0 (pins relu'(0) = 0).
OP_CASES = [
    # conv2d
    ("conv_k3", {"op": "conv2d", "out_channels": 3, "kernel_size": 3}, [[2, 7, 6]], 2, "uniform"),
    ("conv_k3x2_s2_p1", {"op": "conv2d", "out_channels": 3, "kernel_size": [3, 2], "stride": 2, "padding": 1},
     [[3, 9, 7]], 3, "uniform"),
    ("conv_k5_same", {"op": "conv2d", "out_channels": 2, "kernel_size": 5, "padding": "same"}, [[1, 8, 8]], 2,
     "uniform"),
    ("conv_k1_nobias", {"op": "conv2d", "out_channels": 4, "kernel_size": 1, "bias": False}, [[3, 5, 5]], 2,
     "uniform"),
    ("conv_k2x3_s2x1_p0x2", {"op": "conv2d", "out_channels": 2, "kernel_size": [2, 3], "stride": [2, 1],
                             "padding": [0, 2]}, [[2, 7, 5]], 2, "uniform"),
    ("conv_k3_s3_floor", {"op": "conv2d", "out_channels": 2, "kernel_size": 3, "stride": 3}, [[2, 8, 10]], 3,
     "uniform"),
    ("conv_k4x5_valid_1x1", {"op": "conv2d", "out_channels": 3, "kernel_size": [4, 5], "padding": "valid"},
     [[2, 4, 5]], 2, "uniform"),
    ("conv_k3_p2_nobias", {"op": "conv2d", "out_channels": 2, "kernel_size": 3, "padding": 2, "bias": False},
     [[1, 5, 6]], 2, "uniform"),
    # maxpool2d
    ("maxpool_k2", {"op": "maxpool2d", "kernel_size": 2}, [[2, 6, 6]], 2, "uniform"),
    ("maxpool_k3_s2_overlap", {"op": "maxpool2d", "kernel_size": 3, "stride": 2}, [[2, 7, 7]], 2, "uniform"),
    ("maxpool_k3_s1_p1_negative", {"op": "maxpool2d", "kernel_size": 3, "stride": 1, "padding": 1}, [[2, 5, 6]], 2,
     "negative"),
    ("maxpool_k2x3_s1x2_p1", {"op": "maxpool2d", "kernel_size": [2, 3], "stride": [1, 2], "padding": 1},
     [[1, 5, 7]], 3, "uniform"),
    ("maxpool_k2_odd_floor", {"op": "maxpool2d", "kernel_size": 2}, [[3, 5, 7]], 2, "uniform"),
    ("maxpool_k3_s2_p2_negative", {"op": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 2}, [[1, 6, 5]], 2,
     "negative"),
    # avgpool2d (count_include_pad=True)
    ("avgpool_k2", {"op": "avgpool2d", "kernel_size": 2}, [[2, 6, 6]], 2, "uniform"),
    ("avgpool_k3_s2_p1", {"op": "avgpool2d", "kernel_size": 3, "stride": 2, "padding": 1}, [[2, 7, 7]], 2,
     "uniform"),
    ("avgpool_k3x2_s2x1_p1x0", {"op": "avgpool2d", "kernel_size": [3, 2], "stride": [2, 1], "padding": [1, 0]},
     [[2, 7, 5]], 3, "uniform"),
    ("avgpool_k3_s1_p1_overlap", {"op": "avgpool2d", "kernel_size": 3, "stride": 1, "padding": 1}, [[1, 5, 5]], 2,
     "uniform"),
    ("avgpool_k2_odd_floor", {"op": "avgpool2d", "kernel_size": 2}, [[2, 5, 5]], 2, "uniform"),
    ("avgpool_k3_s2_p2", {"op": "avgpool2d", "kernel_size": 3, "stride": 2, "padding": 2}, [[1, 6, 6]], 2,
     "uniform"),
    # element-wise
    ("relu_image", {"op": "relu"}, [[3, 4, 5]], 2, "uniform"),
    ("relu_flat", {"op": "relu"}, [[7]], 3, "uniform"),
    ("relu_exact_zeros", {"op": "relu"}, [[2, 3, 3]], 2, "zeros"),
    ("tanh_image", {"op": "tanh"}, [[2, 5, 3]], 2, "wide"),
    ("tanh_flat", {"op": "tanh"}, [[6]], 2, "wide"),
    ("sigmoid_image", {"op": "sigmoid"}, [[2, 4, 4]], 2, "wide"),
    ("sigmoid_flat", {"op": "sigmoid"}, [[5]], 3, "wide"),
    ("leaky_relu_default", {"op": "leaky_relu"}, [[2, 5, 5]], 2, "uniform"),
    ("leaky_relu_0p2", {"op": "leaky_relu", "negative_slope": 0.2}, [[3, 3, 4]], 2, "uniform"),
    ("leaky_relu_flat_0p05", {"op": "leaky_relu", "negative_slope": 0.05}, [[9]], 3, "uniform"),
    # flatten, linear
    ("flatten", {"op": "flatten"}, [[3, 4, 5]], 2, "uniform"),
    ("linear_bias", {"op": "linear", "out_features": 5}, [[7]], 3, "uniform"),
    ("linear_nobias", {"op": "linear", "out_features": 4, "bias": False}, [[6]], 2, "uniform"),
    ("linear_in_features", {"op": "linear", "in_features": 12, "out_features": 3}, [[12]], 2, "uniform"),
    # add, concat
    ("add2_image", {"op": "add"}, [[2, 4, 5], [2, 4, 5]], 2, "uniform"),
    ("add3_image", {"op": "add"}, [[3, 3, 3], [3, 3, 3], [3, 3, 3]], 3, "uniform"),
    ("add2_flat", {"op": "add"}, [[6], [6]], 2, "uniform"),
    ("concat2_image", {"op": "concat"}, [[2, 4, 5], [3, 4, 5]], 2, "uniform"),
    ("concat3_image", {"op": "concat"}, [[1, 3, 3], [2, 3, 3], [1, 3, 3]], 3, "uniform"),
    ("concat2_flat", {"op": "concat"}, [[4], [3]], 2, "uniform"),
]

# (name, batch, classes, logit scale)
CE_CASES = [
    ("cross_entropy", 5, 10, 2.0),
    ("cross_entropy_large_logits", 4, 7, 60.0),  # needs a max-subtracted log-sum-exp
]

# (name, shape, lr, momentum, weight_decay, nesterov)
SGD_CASES = [
    ("sgd_plain", [3, 4], 0.1, 0.0, 0.0, False),
    ("sgd_weight_decay", [3, 4], 0.1, 0.0, 0.01, False),
    ("sgd_momentum", [3, 4], 0.1, 0.9, 0.0, False),
    ("sgd_momentum_weight_decay", [3, 4], 0.05, 0.9, 0.001, False),
    ("sgd_nesterov", [3, 4], 0.1, 0.9, 0.0, True),
    ("sgd_nesterov_weight_decay", [3, 4], 0.05, 0.5, 0.1, True),
]
SGD_STEPS = 3


def rng_for(name):
    return np.random.Generator(np.random.PCG64(zlib.crc32(name.encode("utf-8"))))


def draw(rng, shape, dist):
    if dist == "uniform":
        a = rng.uniform(-1, 1, shape)
    elif dist == "wide":
        a = rng.uniform(-4, 4, shape)
    elif dist == "negative":
        a = rng.uniform(-2, -0.1, shape)
    elif dist == "zeros":
        a = rng.uniform(-1, 1, shape)
        a[rng.uniform(0, 1, shape) < 0.35] = 0.0
    else:
        raise ValueError(dist)
    return a.astype(np.float32)


def op_case(name, layer_map, in_shapes, batch, dist):
    rng = rng_for(name)
    spec = nt.build_layer_spec(layer_map, in_shapes, name)
    xs = [draw(rng, [batch] + list(s), dist) for s in in_shapes]
    params = {}
    for p in spec.params:  # PyTorch's default init, weight before bias
        bound = 1.0 / np.sqrt(p["fan_in"])
        params[p["name"].rsplit(".", 1)[1]] = rng.uniform(-bound, bound, p["shape"]).astype(np.float32)
    gy = draw(rng, [batch] + spec.output.dims(), "uniform")

    def run(impl, dtype):
        mod = nt.make_module(spec, impl).to(dtype)
        with torch.no_grad():
            for k, v in params.items():
                getattr(mod, k).copy_(torch.from_numpy(v))
        ts = [torch.from_numpy(x).to(dtype).requires_grad_(True) for x in xs]
        y = mod(*ts)
        (y * torch.from_numpy(gy).to(dtype)).sum().backward()
        out = {"y": y.detach()}
        for i, t in enumerate(ts):
            out[f"gx{i}"] = t.grad
        for k in params:
            out[f"g{k}"] = getattr(mod, k).grad
        return {k: v.double().numpy() for k, v in out.items()}

    ref = run("torch", torch.float64)
    man = run("manual", torch.float64)
    f32 = run("torch", torch.float32)
    for k in ref:
        scale = max(1.0, float(np.abs(ref[k]).max()))
        d = float(np.abs(ref[k] - man[k]).max())
        if d > 1e-12 * scale:
            raise SystemExit(f"{name}: torch and manual formulations disagree on {k} by {d}")
    dev32 = max(float(np.abs(ref[k] - f32[k]).max()) for k in ref)

    tensors = {f"x{i}": x for i, x in enumerate(xs)}
    tensors.update(params)
    tensors["gy"] = gy
    for k, v in ref.items():
        tensors[k] = v.astype(np.float32)
    entry = {"name": name, "kind": "op", "file": f"{name}.safetensors", "layer": layer_map,
             "inputs": [list(s) for s in in_shapes], "batch": batch, "output": spec.output.dims()}
    return entry, tensors, dev32


def ce_case(name, batch, classes, scale):
    rng = rng_for(name)
    logits = (rng.uniform(-1, 1, [batch, classes]) * scale).astype(np.float32)
    labels = rng.integers(0, classes, [batch])
    lt = torch.from_numpy(logits).double().requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(lt, torch.from_numpy(labels))
    loss.backward()
    lm = torch.from_numpy(logits).double().requires_grad_(True)
    loss_m = nt.cross_entropy(lm, torch.from_numpy(labels), "manual")
    loss_m.backward()
    assert abs(float(loss) - float(loss_m)) < 1e-12 and float((lt.grad - lm.grad).abs().max()) < 1e-12
    tensors = {"logits": logits, "labels": labels.astype(np.float32),
               "loss": np.array([float(loss)], dtype=np.float32),
               "glogits": lt.grad.numpy().astype(np.float32)}
    entry = {"name": name, "kind": "cross_entropy", "file": f"{name}.safetensors", "batch": batch,
             "classes": classes}
    return entry, tensors


def sgd_case(name, shape, lr, momentum, wd, nesterov):
    """torch.optim.SGD itself, in float32, over SGD_STEPS steps with given gradients."""
    rng = rng_for(name)
    p0 = rng.uniform(-1, 1, shape).astype(np.float32)
    grads = [rng.uniform(-1, 1, shape).astype(np.float32) for _ in range(SGD_STEPS)]
    p = torch.nn.Parameter(torch.from_numpy(p0.copy()))
    opt = torch.optim.SGD([p], lr=lr, momentum=momentum, dampening=0, weight_decay=wd, nesterov=nesterov)
    pm = torch.nn.Parameter(torch.from_numpy(p0.copy()))
    man = nt.ManualSGD([pm], lr, momentum, wd, nesterov)
    tensors = {"param0": p0}
    for t, g in enumerate(grads, start=1):
        p.grad = torch.from_numpy(g.copy())
        opt.step()
        pm.grad = torch.from_numpy(g.copy())
        man.step()
        tensors[f"grad{t}"] = g
        tensors[f"param{t}"] = p.detach().numpy().copy()
        if momentum != 0:
            tensors[f"buf{t}"] = opt.state[p]["momentum_buffer"].numpy().copy()
        d = float((p.detach() - pm.detach()).abs().max())
        assert d <= 1e-6, (name, t, d)
    entry = {"name": name, "kind": "sgd", "file": f"{name}.safetensors", "shape": shape, "steps": SGD_STEPS,
             "optimizer": {"lr": lr, "momentum": momentum, "weight_decay": wd, "nesterov": nesterov}}
    return entry, tensors


def generate():
    """[(entry, tensors)], in cases.json order, and the float32 deviations."""
    out, devs = [], {}
    for c in OP_CASES:
        entry, tensors, dev = op_case(*c)
        out.append((entry, tensors))
        devs[entry["name"]] = dev
    for c in CE_CASES:
        out.append(ce_case(*c))
    for c in SGD_CASES:
        out.append(sgd_case(*c))
    return out, devs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true", help="compare with the files on disk instead of writing")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cases, devs = generate()
    entries = [e for e, _ in cases]
    if args.check:
        bad = []
        with open(os.path.join(args.out, "cases.json")) as f:
            if json.load(f) != entries:
                bad.append("cases.json")
        for e, tensors in cases:
            disk = nt.load_safetensors(os.path.join(args.out, e["file"]), as_torch=False)
            if set(disk) != set(tensors) or any(not np.array_equal(disk[k], np.asarray(v, np.float32))
                                                for k, v in tensors.items()):
                bad.append(e["file"])
        if bad:
            print("fixtures differ from the generator: " + ", ".join(bad), file=sys.stderr)
            return 1
        print(f"{len(entries)} fixtures match the generator")
        return 0
    os.makedirs(args.out, exist_ok=True)
    total = 0
    for e, tensors in cases:
        path = os.path.join(args.out, e["file"])
        nt.save_safetensors(path, {k: np.asarray(v, dtype=np.float32) for k, v in tensors.items()})
        total += os.path.getsize(path)
        if args.verbose:
            extra = f"  (float32 torch vs float64: {devs[e['name']]:.2e})" if e["name"] in devs else ""
            print(f"{e['file']:<40} {os.path.getsize(path):>6} B  {', '.join(sorted(tensors))}{extra}")
    with open(os.path.join(args.out, "cases.json"), "w") as f:
        f.write("[\n" + ",\n".join("  " + json.dumps(e) for e in entries) + "\n]\n")
    total += os.path.getsize(os.path.join(args.out, "cases.json"))
    print(f"wrote {len(entries)} cases to {args.out} ({total} bytes); "
          f"max |float32 torch - fixture| over op cases: {max(devs.values()):.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
