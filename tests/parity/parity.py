#!/usr/bin/python3
"""Parity of `netc train` / `netc eval` with the PyTorch reference.

    parity.py --netc build/bin/netc --graph graphs/model_a.yaml [--momentum 0.9] ...
    parity.py --self-check --graph graphs/model_a.yaml      (netc reads the graph only)

Only netc's command line (see the README) is used. The reference reads the
graph with `netc describe` too (tools/netc_torch.py): that of --netc, or with
--self-check that of $NETC_BINARY. The steps:

1. A synthetic dataset in MNIST's IDX layout goes to a temporary folder
   (--train-images structured uint8 images with random labels 0..9, or
   0..K-1 for a graph of K < 10 classes, and
   --test-images more; some files gzip-compressed, some raw), shaped as the
   graph's input.
2. PyTorch's default initialization (seed --seed) goes to init.safetensors.
3. `netc summary GRAPH --json` must agree with the reference's shapes and
   parameter counts.
4. `netc train GRAPH --data DIR --iterations N --batch-size B --lr X
   --no-shuffle --init init.safetensors --save out.safetensors --metrics m.jsonl
   --eval-every 0 --threads 1` (plus --momentum when given) against
   netc_torch.train on the same data and init (float32, one thread):
   - every step's loss:  |netc - torch| <= loss_rtol * |torch| + E * spread
     (loss_rtol 1e-4);
   - every final parameter, elementwise in numpy.allclose's form:
     |netc - torch| <= param_atol + param_rtol * |torch| + E * spread
     (param_atol = param_rtol = 1e-5);
   - the final test evaluation in the metrics: loss within eval_rtol (1e-4)
     relative; accuracy equal up to test images whose top-2 reference logits
     are closer than 1e-4 + 2 x the ensemble's logit spread.
5. `netc eval GRAPH --weights out.safetensors --data DIR --json` against the
   reference's evaluation of the same file: test_loss within eval_rtol
   relative, `images` equal, test_accuracy equal up to images whose top-2
   logits are closer than 1e-4 (a float32 tie; normally there are none).

The rounding ensemble: the same reference run in float64 and from
--ensemble (4) copies of the init perturbed by about one ulp. `spread` is the
largest deviation of any member from the float32 reference, per step (losses)
or per tensor (parameters); E is --envelope (2; 0 turns the envelope off).
Why: with ReLU, leaky ReLU or max pooling, a pre-activation within rounding of
0 (or two window values within rounding of each other) sends a gradient one
way in one float32 implementation and the other way in another; over 20 SGD
steps such a discrete event moves parameters by ~lr * |gradient| (measured:
up to 2e-5 for model_a, 5e-4 for residual_mix with lr 0.05 and momentum 0.9),
beyond any fixed 1e-5 although both implementations are correct. The
ensemble shows how large such events are for this run; for smooth graphs
(strided_tanh, feedforward) its spread is ~1e-7 and the fixed 1e-5 rules.

With --eval-only, steps 4 and 5 become one: netc eval of init.safetensors
against the reference (no training). --weight-decay, --nesterov,
--optimizer, --betas and --eps, which have no netc flags, are written into a
copy of the graph's train.optimizer, and --lr-schedule into its
train.lr_schedule; every step's lr in the metrics must then be that of
PyTorch's scheduler (netc_torch.make_scheduler) within 1e-12 relative.

--self-check replaces netc by tools/torch_reference.py --impl manual, an
independent float32 formulation of every op (convolution as a sum over kernel
offsets, pooling over window slices, ...): it tests this script and
measures the float32 spread between two correct implementations.

Exit status: 0 pass, 1 failure (a clear message on stderr), 77 when Python
lacks torch (CTest: SKIP_RETURN_CODE 77).
"""

import argparse
import json
import math
import os
import shlex
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOOLS = os.path.join(ROOT, "tools")
sys.path.insert(0, TOOLS)

try:
    import numpy as np
    import torch
    import yaml
    import netc_torch as nt
except ImportError as e:  # pragma: no cover
    print(f"parity: skipped: {e} (needs Debian's python3-torch, python3-numpy, python3-yaml)", file=sys.stderr)
    sys.exit(77)

TIE_MARGIN = 1e-4


class Failure(Exception):
    pass


# --------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------

def make_images(rng, n, c, h, w, labels):
    """Structured uint8 images: a per-class pattern of Gaussian blobs, shifted
    by up to 2 pixels, scaled and noised; roughly half the pixels are exactly 0
    and some saturate at 255, as in MNIST."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    trng = np.random.Generator(np.random.PCG64(12345))
    templates = []
    for _ in range(10):
        t = np.zeros((c, h, w))
        for ch in range(c):
            for _ in range(3):
                cy, cx = trng.uniform(0.2, 0.8) * h, trng.uniform(0.2, 0.8) * w
                sy, sx = trng.uniform(0.06, 0.2) * h, trng.uniform(0.06, 0.2) * w
                t[ch] = np.maximum(t[ch], np.exp(-((yy - cy) ** 2 / (2 * sy * sy) + (xx - cx) ** 2 / (2 * sx * sx))))
        templates.append(t)
    out = np.empty((n, c, h, w), dtype=np.uint8)
    for i in range(n):
        t = templates[labels[i]]
        dy, dx = rng.integers(-2, 3, 2)
        t = np.roll(t, (int(dy), int(dx)), axis=(1, 2))
        img = 235.0 * rng.uniform(0.6, 1.0) * t + rng.normal(28, 14, t.shape)
        out[i] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return out


def make_dataset(directory, shape, classes, n_train, n_test, seed, gz):
    c, h, w = shape
    rng = np.random.Generator(np.random.PCG64(seed))
    splits = {}
    for split, n in (("train", n_train), ("test", n_test)):
        # Labels the graph's logits can score; the patterns are made for ten.
        labels = rng.integers(0, min(classes, 10), n).astype(np.uint8)
        images = make_images(rng, n, c, h, w, labels)
        splits[split] = (images, labels.astype(np.int64))
        img_name, lab_name = nt.IDX_NAMES[split]
        # "mixed": train images and test labels gzipped, the other two raw.
        zimg = gz == "all" or (gz == "mixed" and split == "train")
        zlab = gz == "all" or (gz == "mixed" and split == "test")
        nt.write_idx(os.path.join(directory, img_name + (".gz" if zimg else "")),
                     images[:, 0] if c == 1 else images)
        nt.write_idx(os.path.join(directory, lab_name + (".gz" if zlab else "")), labels)
    return splits


def graph_with_optimizer(src, dst, args):
    """A copy of graph file `src` with train.optimizer's weight_decay,
    nesterov, type, betas and eps set from `args` (and momentum, which
    --momentum also passes, since a graph file with nesterov needs momentum > 0
    in itself), and train.lr_schedule from --lr-schedule."""
    with open(src) as f:
        doc = yaml.safe_load(f)
    opt = doc.setdefault("train", {}).setdefault("optimizer", {"type": "sgd", "lr": 0.01})
    if args.optimizer is not None:
        opt.clear()  # the type's own keys only
        opt["type"] = args.optimizer
    if args.momentum is not None:
        opt["momentum"] = args.momentum
    if args.weight_decay is not None:
        opt["weight_decay"] = args.weight_decay
    if args.nesterov:
        opt["nesterov"] = True
    if args.betas is not None:
        opt["betas"] = list(args.betas)
    if args.eps is not None:
        opt["eps"] = args.eps
    if args.lr_schedule is not None:
        doc["train"]["lr_schedule"] = yaml.safe_load(args.lr_schedule)
    with open(dst, "w") as f:
        yaml.safe_dump(doc, f, sort_keys=False)
    return dst


# --------------------------------------------------------------------------
# running netc
# --------------------------------------------------------------------------

def run_netc(netc, args, timeout, what):
    cmd = list(netc) + args
    t0 = time.time()
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, text=True)
    except subprocess.TimeoutExpired:
        raise Failure(f"{what}: timed out after {timeout} s: {shlex.join(cmd)}") from None
    except OSError as e:
        raise Failure(f"{what}: cannot run {shlex.join(cmd)}: {e}") from None
    dt = time.time() - t0
    if p.returncode != 0:
        tail = "\n".join((p.stderr or "").strip().splitlines()[-20:])
        raise Failure(f"{what}: exit status {p.returncode}: {shlex.join(cmd)}\n{tail}")
    print(f"  ran {what} in {dt:.1f} s")
    return p.stdout


def parse_json_output(text, what):
    text = text.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                break
    raise Failure(f"{what}: stdout holds no JSON object:\n{text[-2000:]}")


def read_metrics(path, iterations):
    if not os.path.exists(path):
        raise Failure(f"netc train wrote no metrics file {path}")
    losses, lrs, evals = {}, {}, []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                k = int(rec["iter"])
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                raise Failure(f"{path}:{n}: not a metrics record: {line.strip()!r}") from None
            if "loss" in rec:
                if k in losses:
                    raise Failure(f"{path}:{n}: step {k} reported twice")
                if "lr" not in rec:
                    raise Failure(f"{path}:{n}: the record of step {k} has no lr")
                losses[k] = float(rec["loss"])
                lrs[k] = float(rec["lr"])
            if "test_loss" in rec:
                evals.append((k, float(rec["test_loss"]), float(rec["test_accuracy"])))
    want = list(range(1, iterations + 1))
    if sorted(losses) != want:
        missing = sorted(set(want) - set(losses))
        extra = sorted(set(losses) - set(want))
        raise Failure(f"{path}: expected a loss for every step 1..{iterations}; missing {missing[:10]}, "
                      f"unexpected {extra[:10]}")
    return [losses[k] for k in want], [lrs[k] for k in want], evals


# --------------------------------------------------------------------------
# comparisons
# --------------------------------------------------------------------------

def fmt_shape(s):
    return "x".join(str(d) for d in s) or "scalar"


def compare_lrs(got, ref, failures):
    """Each step's lr in netc's metrics against PyTorch's scheduler's."""
    worst = max((abs(g - r) / abs(r) if r else abs(g) for g, r in zip(got, ref)), default=0.0)
    print(f"  learning rates of {len(ref)} steps against PyTorch's scheduler: max relative difference {worst:.1e}")
    if worst > 1e-12:
        failures.append(f"the metrics' lr differs from PyTorch's scheduler by up to {worst:.2e} relative "
                        f"(netc {got}, torch {ref})")


def compare_summary(netc_summary, graph, failures):
    ref = nt.summary(graph)
    got = [(l.get("name"), l.get("op"), list(l.get("output", [])), l.get("params")) for l in netc_summary.get("layers", [])]
    want = [(l["name"], l["op"], l["output"], l["params"]) for l in ref["layers"]]
    if got != want or netc_summary.get("params") != ref["params"] or netc_summary.get("input") != ref["input"]:
        lines = [f"    {'layer':<14} {'netc':<40} reference"]
        for i in range(max(len(got), len(want))):
            g = got[i] if i < len(got) else None
            w = want[i] if i < len(want) else None
            mark = "" if g == w else "  <-- differs"
            lines.append(f"    {(w or g)[0]!s:<14} {str(g and g[1:]):<40} {w and w[1:]}{mark}")
        lines.append(f"    total params: netc {netc_summary.get('params')}, reference {ref['params']}")
        failures.append("netc summary --json disagrees with the reference:\n" + "\n".join(lines))
        print("  summary: DIFFERS")
    else:
        print(f"  summary: {len(want)} layers, {ref['params']} parameters: same shapes and counts")


def spread_of(values, ref):
    """max |member - ref| over the rounding ensemble."""
    return max((float((v - ref).abs().max()) for v in values), default=0.0)


def compare_losses(got, ref, ens, rtol, factor, failures):
    ref_t = torch.tensor(ref, dtype=torch.float64)
    ens_t = [torch.tensor(l, dtype=torch.float64) for l in ens]
    spread = [spread_of([e[k] for e in ens_t], ref_t[k]) for k in range(len(ref))]
    dev = [abs(g - r) for g, r in zip(got, ref)]
    allowed = [rtol * abs(r) + factor * s for r, s in zip(ref, spread)]
    ratio = [d / a if a > 0 else (0.0 if d == 0 else math.inf) for d, a in zip(dev, allowed)]
    ratio = [math.inf if not math.isfinite(g) else q for g, q in zip(got, ratio)]
    worst = int(np.argmax(ratio))
    print(f"\n  per-step loss ({len(ref)} steps; |netc - torch| <= {rtol:g} * |torch| + {factor:g} * spread):")
    print(f"    {'step':>4} {'netc':>12} {'torch':>12} {'|d|/|torch|':>11} {'spread':>9} {'ratio':>7}")
    for k in sorted(set([0, 1, len(ref) // 2, len(ref) - 1, worst])):
        flag = "  FAIL" if ratio[k] > 1 else ""
        print(f"    {k + 1:>4} {got[k]:>12.7f} {ref[k]:>12.7f} {dev[k] / abs(ref[k]):>11.2e} {spread[k]:>9.2e} "
              f"{ratio[k]:>7.3f}{flag}")
    print(f"    worst ratio {ratio[worst]:.3f} at step {worst + 1} (pass: <= 1); max |netc - torch| / |torch| "
          f"{max(d / abs(r) if r else d for d, r in zip(dev, ref)):.2e}")
    bad = [k + 1 for k, q in enumerate(ratio) if q > 1]
    if bad:
        failures.append(f"step losses differ by more than {rtol:g} relative (+ {factor:g} x ensemble spread) at "
                        f"steps {bad[:10]} (worst at step {worst + 1}: netc {got[worst]!r}, torch {ref[worst]!r})")


def compare_params(got, ref, ens, rtol, atol, factor, failures):
    if set(got) != set(ref):
        failures.append(f"saved parameters have names {sorted(got)}, expected {sorted(ref)}")
        return
    print(f"\n  final parameters (elementwise |netc - torch| <= {atol:g} + {rtol:g} * |torch| + {factor:g} * spread):")
    print(f"    {'tensor':<16} {'shape':<12} {'max|torch|':>10} {'max|d|':>10} {'max|d|/max':>10} "
          f"{'spread':>9} {'ratio':>7}")
    for name in ref:
        g, r = got[name], ref[name]
        if g.dtype != torch.float32:
            failures.append(f"{name}: saved as {g.dtype}, expected F32")
            continue
        if tuple(g.shape) != tuple(r.shape):
            failures.append(f"{name}: saved with shape {list(g.shape)}, expected {list(r.shape)}")
            continue
        g64, r64 = g.double(), r.double()
        if not torch.isfinite(g64).all():
            failures.append(f"{name}: non-finite values in netc's result")
            continue
        d = (g64 - r64).abs()
        spread = spread_of([e[name] for e in ens], r64)
        allowed = atol + rtol * r64.abs() + factor * spread
        q = d / allowed
        ratio = float(q.max())
        maxr, maxd = float(r64.abs().max()), float(d.max())
        flag = "  FAIL" if ratio > 1 else ""
        print(f"    {name:<16} {fmt_shape(r.shape):<12} {maxr:>10.3e} {maxd:>10.2e} "
              f"{maxd / maxr if maxr else 0:>10.2e} {spread:>9.2e} {ratio:>7.3f}{flag}")
        if ratio > 1:
            i = int(torch.argmax(q))
            failures.append(f"parameter {name}: |netc - torch| exceeds {atol:g} + {rtol:g}*|torch| + {factor:g}*"
                            f"{spread:.2e} (max |d| {maxd:.3e}; worst element #{i}: netc "
                            f"{float(g.flatten()[i])!r}, torch {float(r.flatten()[i])!r})")


def tie_count(logits, margin=TIE_MARGIN):
    """Test images whose two largest logits are within `margin`."""
    if logits.shape[1] < 2:
        return 0
    top2 = np.sort(logits, axis=1)[:, -2:]
    return int((top2[:, 1] - top2[:, 0] < margin).sum())


def compare_eval(what, got, ref, ties, rtol, failures, check_images=True, loss_spread=0.0, factor=0.0):
    gl, ga = float(got["test_loss"]), float(got["test_accuracy"])
    rl, ra = ref["test_loss"], ref["test_accuracy"]
    n = ref["images"]
    allowed = rtol * abs(rl) + factor * loss_spread
    rel = abs(gl - rl) / abs(rl) if rl else abs(gl - rl)
    flips = round(abs(ga - ra) * n / 100.0)
    ok_loss = abs(gl - rl) <= allowed
    ok_acc = flips <= ties
    ok_n = (not check_images) or int(got.get("images", -1)) == n
    tol = f"tol {rtol:g}" + (f" + {factor:g} * {loss_spread:.1e}" if factor and loss_spread else "")
    print(f"  {what}: loss netc {gl:.7f} torch {rl:.7f} (rel {rel:.2e}, {tol}); accuracy netc {ga:.4f}% "
          f"torch {ra:.4f}% ({ties} near-ties)" + ("" if ok_loss and ok_acc and ok_n else "  FAIL"))
    if not ok_loss:
        failures.append(f"{what}: test_loss {gl!r} vs torch {rl!r} (|d| {abs(gl - rl):.3e} > {allowed:.3e}: {tol})")
    if not ok_acc:
        failures.append(f"{what}: test_accuracy {ga!r}% vs torch {ra!r}% over {n} images "
                        f"({ties} images are float32 ties)")
    if not ok_n:
        failures.append(f"{what}: images {got.get('images')!r}, expected {n}")


# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--netc", help="the netc binary")
    ap.add_argument("--self-check", action="store_true",
                    help="use tools/torch_reference.py --impl manual in place of netc")
    ap.add_argument("--graph", required=True)
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=50)
    ap.add_argument("--lr", type=float, help="default: the graph's")
    ap.add_argument("--momentum", type=float, help="passed to netc as --momentum; default: the graph's")
    ap.add_argument("--weight-decay", type=float, help="written into a copy of the graph")
    ap.add_argument("--nesterov", action="store_true", help="written into a copy of the graph")
    ap.add_argument("--optimizer", choices=["sgd", "adam", "adamw"], help="written into a copy of the graph")
    ap.add_argument("--betas", type=float, nargs=2, help="written into a copy of the graph")
    ap.add_argument("--eps", type=float, help="written into a copy of the graph")
    ap.add_argument("--lr-schedule", help="train.lr_schedule as YAML, as '{type: cosine, t_max: 20}', written "
                    "into a copy of the graph")
    ap.add_argument("--train-images", type=int, default=400)
    ap.add_argument("--test-images", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1234, help="data and init seed")
    ap.add_argument("--gzip", choices=["none", "mixed", "all"], default="mixed")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--loss-rtol", type=float, default=1e-4)
    ap.add_argument("--param-rtol", type=float, default=1e-5)
    ap.add_argument("--param-atol", type=float, default=1e-5)
    ap.add_argument("--eval-rtol", type=float, default=1e-4)
    ap.add_argument("--ensemble", type=int, default=4,
                    help="perturbed float32 reference runs in the rounding ensemble (plus one float64 run)")
    ap.add_argument("--envelope", type=float, default=2.0,
                    help="multiple of the ensemble spread added to the tolerances (0: fixed tolerances only)")
    ap.add_argument("--eval-only", action="store_true", help="compare netc eval of the init only")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per netc command")
    ap.add_argument("--keep", metavar="DIR", help="work in DIR and keep the files")
    args = ap.parse_args()
    if bool(args.netc) == bool(args.self_check):
        ap.error("give exactly one of --netc and --self-check")
    if args.netc:  # the reference reads the graph with the netc under test
        os.environ["NETC_BINARY"] = os.path.abspath(args.netc)

    torch.set_num_threads(1)
    failures = []
    try:
        if not os.path.isfile(args.graph):
            raise Failure(f"graph file {args.graph} does not exist")
        if args.keep:
            os.makedirs(args.keep, exist_ok=True)
            work = args.keep
            ctx = None
        else:
            ctx = tempfile.TemporaryDirectory(prefix="netc-parity-")
            work = ctx.name
        try:
            run(args, work, failures)
        finally:
            if ctx is not None:
                ctx.cleanup()
    except Failure as e:
        failures.append(str(e))
    except nt.GraphError as e:
        failures.append(f"netc describe rejects the graph: {e}")
    name = os.path.basename(args.graph)
    if failures:
        print(f"\nPARITY FAILED for {name}:", file=sys.stderr)
        for f in failures:
            print("  - " + f.replace("\n", "\n    "), file=sys.stderr)
        return 1
    print(f"\nparity OK for {name}")
    return 0


def run(args, work, failures):
    graph_path = os.path.abspath(args.graph)
    if (args.weight_decay is not None or args.nesterov or args.optimizer or args.betas or args.eps is not None
            or args.lr_schedule):
        graph_path = graph_with_optimizer(graph_path, os.path.join(work, os.path.basename(args.graph)), args)
    graph = nt.read_graph(graph_path)
    opt = graph.train.optimizer
    lr = args.lr if args.lr is not None else opt.lr
    momentum = args.momentum if args.momentum is not None else opt.momentum

    if args.self_check:
        shim = os.path.join(work, "netc-standin.sh")
        with open(shim, "w") as f:
            f.write("#!/bin/sh\ncmd=\"$1\"; shift\n"
                    f"exec /usr/bin/python3 {shlex.quote(os.path.join(TOOLS, 'torch_reference.py'))} "
                    "\"$cmd\" --impl manual \"$@\"\n")
        os.chmod(shim, 0o755)
        netc = [shim]
    else:
        netc = [os.path.abspath(args.netc)]

    data = os.path.join(work, "data")
    os.makedirs(data, exist_ok=True)
    classes = graph.layer(graph.output).output.size()
    splits = make_dataset(data, graph.input.dims(), classes, args.train_images, args.test_images, args.seed,
                          args.gzip)
    train_x, train_y = splits["train"]
    test_x, test_y = splits["test"]
    init = os.path.join(work, "init.safetensors")
    model = nt.build_model(graph, seed=args.seed)
    nt.state_to_file(model, init)

    mode = "eval only" if args.eval_only else (
        f"{args.iterations} steps, batch {args.batch_size}, {opt.type}, lr {lr:g}, momentum {momentum:g}, "
        f"weight_decay {opt.weight_decay:g}, nesterov {opt.nesterov}, betas {opt.betas}, eps {opt.eps:g}, "
        f"lr_schedule {graph.train.lr_schedule}")
    print(f"parity of {'torch_reference --impl manual' if args.self_check else netc[0]} with PyTorch "
          f"{torch.__version__} on {args.graph}: {mode}")
    print(f"  data: {args.train_images} train / {args.test_images} test images {fmt_shape(graph.input.dims())} "
          f"in {data} (gzip: {args.gzip}); init seed {args.seed}")

    summ = parse_json_output(run_netc(netc, ["summary", graph_path, "--json"], args.timeout, "netc summary"),
                             "netc summary --json")
    compare_summary(summ, graph, failures)

    def ref_eval(weights_path):
        m = nt.build_model(graph)
        try:
            nt.load_state_file(m, weights_path)
        except ValueError as e:
            raise Failure(f"cannot load {weights_path}: {e}") from None
        r = nt.evaluate(m, test_x, test_y, return_logits=True)
        return r, tie_count(r["logits"])

    def netc_eval(weights_path, what):
        out = run_netc(netc, ["eval", graph_path, "--weights", weights_path, "--data", data, "--json"],
                       args.timeout, what)
        got = parse_json_output(out, what)
        for k in ("test_loss", "test_accuracy", "images"):
            if k not in got:
                raise Failure(f"{what}: JSON lacks '{k}': {got}")
        return got

    if args.eval_only:
        ref, ties = ref_eval(init)
        compare_eval("netc eval (init weights)", netc_eval(init, "netc eval"), ref, ties, args.eval_rtol, failures)
        return

    out = os.path.join(work, "out.safetensors")
    metrics = os.path.join(work, "metrics.jsonl")
    cmd = ["train", graph_path, "--data", data, "--iterations", str(args.iterations),
           "--batch-size", str(args.batch_size), "--lr", repr(lr), "--no-shuffle", "--init", init,
           "--save", out, "--metrics", metrics, "--eval-every", "0", "--threads", str(args.threads)]
    if args.momentum is not None:
        cmd += ["--momentum", repr(args.momentum)]
    if os.path.exists(out):
        os.unlink(out)
    run_netc(netc, cmd, args.timeout, "netc train")
    got_losses, got_lrs, evals = read_metrics(metrics, args.iterations)
    if not os.path.exists(out):
        raise Failure(f"netc train wrote no {out}")
    try:
        got_params = nt.load_safetensors(out)
    except ValueError as e:
        raise Failure(f"netc's --save file is not valid safetensors: {e}") from None

    # The reference (float32), and its rounding ensemble: the same run in
    # float64 and from K copies of the init perturbed by ~1 ulp.
    def ref_run(dtype, state):
        m = nt.build_model(graph, dtype=dtype)
        m.load_state_dict({k: v.to(dtype) for k, v in state.items()})
        losses = nt.train(m, train_x, train_y, args.batch_size, args.iterations, lr, momentum,
                          opt.weight_decay, opt.nesterov, shuffle=False, optimizer_type=opt.type, betas=opt.betas,
                          eps=opt.eps, lr_schedule=graph.train.lr_schedule)
        return m, losses

    init_state = nt.load_safetensors(init)
    t0 = time.time()
    ref_model, ref_losses = ref_run(torch.float32, init_state)
    print(f"  ran torch reference in {time.time() - t0:.1f} s")
    ref_params = {k: v.detach().clone() for k, v in ref_model.state_dict().items()}
    t0 = time.time()
    ensemble = [ref_run(torch.float64, init_state)]
    gen = torch.Generator().manual_seed(args.seed)
    for _ in range(args.ensemble):
        pert = {k: (v.double() * (1 + 1e-7 * torch.randn(v.shape, generator=gen, dtype=torch.float64))).float()
                for k, v in init_state.items()}
        ensemble.append(ref_run(torch.float32, pert))
    print(f"  ran the rounding ensemble (float64 + {args.ensemble} perturbed float32 runs) in "
          f"{time.time() - t0:.1f} s")
    ens_losses = [l for _, l in ensemble]
    ens_params = [{k: v.detach().double() for k, v in m.state_dict().items()} for m, _ in ensemble]

    compare_lrs(got_lrs, nt.lr_sequence(graph.train.lr_schedule, lr, args.iterations), failures)
    compare_losses(got_losses, ref_losses, ens_losses, args.loss_rtol, args.envelope, failures)
    compare_params(got_params, ref_params, ens_params, args.param_rtol, args.param_atol, args.envelope, failures)

    print()
    final = [e for e in evals if e[0] == args.iterations]
    if not final:
        failures.append(f"metrics hold no test evaluation at step {args.iterations} (--eval-every 0 "
                        "means: evaluate at the end)")
    else:
        r = nt.evaluate(ref_model, test_x, test_y, return_logits=True)
        # Trained weights differ by float32 noise: a prediction may flip where
        # the top-2 margin is within the ensemble's spread of the logits, and
        # the loss may move by the ensemble's spread of it.
        ens_evals = [nt.evaluate(m, test_x, test_y, return_logits=True) for m, _ in ensemble]
        spread = max((float(np.abs(e["logits"] - r["logits"]).max()) for e in ens_evals), default=0.0)
        loss_spread = max((abs(e["test_loss"] - r["test_loss"]) for e in ens_evals), default=0.0)
        _, loss, acc = final[-1]
        compare_eval("final evaluation in the metrics", {"test_loss": loss, "test_accuracy": acc}, r,
                     tie_count(r["logits"], TIE_MARGIN + args.envelope * spread), args.eval_rtol, failures,
                     check_images=False, loss_spread=loss_spread, factor=args.envelope)
    if set(got_params) == set(ref_params):
        ref, ties = ref_eval(out)
        compare_eval("netc eval of its saved weights", netc_eval(out, "netc eval"), ref, ties,
                     args.eval_rtol, failures)


if __name__ == "__main__":
    sys.exit(main())
