#!/usr/bin/python3
"""PyTorch reference for netc, with netc's command-line shape.

    torch_reference.py train GRAPH --data DIR --iterations N [--batch-size B] [--lr X]
                       [--momentum M] [--weight-decay W] [--nesterov] [--no-shuffle]
                       [--init FILE] [--save FILE] [--metrics FILE] [--seed S]
                       [--eval-every N] [--threads N]
    torch_reference.py init GRAPH --seed S -o FILE
    torch_reference.py eval GRAPH --weights FILE [--data DIR] [--json]
    torch_reference.py summary GRAPH [--json]

Every flag overrides the graph's `train` section, as netc's do. `train`
writes metrics as JSON Lines like netc: {"iter": k, "loss": x} for every step
and {"iter": k, "test_loss": x, "test_accuracy": y} at each evaluation
(every --eval-every steps and at the end; 0: only at the end). Without
--no-shuffle (and with `shuffle: true` in the graph) batches come from torch
permutations, which are not netc's: only --no-shuffle runs are comparable.
Without --init the parameters get PyTorch's default init from --seed.

`eval` prints {"test_loss": x, "test_accuracy": y, "images": n} (accuracy in
percent); --json is accepted for symmetry with netc.

Common options: --impl torch|manual (the second is an independent
formulation of the same ops, see netc_torch), --dtype float32|float64.
Exit codes follow netc: 2 for bad input (graph, flags, data, weights), 1 else.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import netc_torch as nt  # noqa: E402


class InputError(Exception):
    pass


def _common(p):
    p.add_argument("graph", metavar="GRAPH")
    p.add_argument("--impl", choices=["torch", "manual"], default="torch")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--threads", type=int, default=1)


def _parser():
    ap = argparse.ArgumentParser(prog="torch_reference.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train with SGD as netc train does")
    _common(t)
    t.add_argument("--data", help="folder with the four MNIST-named IDX files (raw or .gz)")
    t.add_argument("--iterations", type=int)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--momentum", type=float)
    t.add_argument("--weight-decay", type=float)
    t.add_argument("--nesterov", action="store_true", default=None)
    t.add_argument("--seed", type=int)
    t.add_argument("--eval-every", type=int)
    t.add_argument("--no-shuffle", action="store_true")
    t.add_argument("--init")
    t.add_argument("--save")
    t.add_argument("--metrics")
    t.add_argument("--target", default="host", help="accepted for netc compatibility; must be host")

    i = sub.add_parser("init", help="PyTorch default init to safetensors")
    _common(i)
    i.add_argument("--seed", type=int)
    i.add_argument("-o", "--output", required=True)

    e = sub.add_parser("eval", help="test loss and accuracy of a weights file")
    _common(e)
    e.add_argument("--weights", required=True)
    e.add_argument("--data")
    e.add_argument("--json", action="store_true")
    e.add_argument("--target", default="host")

    s = sub.add_parser("summary", help="layers, shapes and parameter counts")
    _common(s)
    s.add_argument("--json", action="store_true")
    return ap


def _data_dir(args, graph):
    d = args.data or graph.train.dataset
    if not os.path.isdir(d):
        raise InputError(f"dataset '{d}' is not a folder (this reference does not download; pass --data DIR)")
    return d


def _load_split(d, split, graph):
    try:
        images, labels = nt.load_dataset(d, split)
    except (OSError, ValueError) as e:
        raise InputError(str(e)) from None
    want = tuple(graph.input.dims())
    if tuple(images.shape[1:]) != want:
        raise InputError(f"{d}: {split} images are {list(images.shape[1:])}, the graph wants {list(want)}")
    return images, labels


def _model(args, graph):
    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    return nt.build_model(graph, args.impl, dtype)


def _load_weights(model, path):
    try:
        nt.load_state_file(model, path)
    except (OSError, ValueError) as e:
        raise InputError(str(e)) from None


def cmd_train(args, graph):
    t = graph.train
    iterations = args.iterations if args.iterations is not None else t.iterations
    batch = args.batch_size if args.batch_size is not None else t.batch_size
    o = t.optimizer
    lr = args.lr if args.lr is not None else o.lr
    momentum = args.momentum if args.momentum is not None else o.momentum
    wd = args.weight_decay if args.weight_decay is not None else o.weight_decay
    nesterov = args.nesterov if args.nesterov is not None else o.nesterov
    seed = args.seed if args.seed is not None else t.seed
    eval_every = args.eval_every if args.eval_every is not None else t.eval_every
    shuffle = t.shuffle and not args.no_shuffle
    for name, v, lo in (("--iterations", iterations, 1), ("--batch-size", batch, 1), ("--eval-every", eval_every, 0)):
        if v < lo:
            raise InputError(f"{name} must be >= {lo}, got {v}")
    if lr < 0 or momentum < 0 or wd < 0:
        raise InputError("--lr, --momentum and --weight-decay must be >= 0")
    if nesterov and momentum <= 0:
        raise InputError("nesterov needs momentum > 0")
    if args.target != "host":
        raise InputError("the reference runs on the host only")

    d = _data_dir(args, graph)
    train_x, train_y = _load_split(d, "train", graph)
    test = None

    model = _model(args, graph)
    if args.init:
        _load_weights(model, args.init)
    else:
        nt.init_params(model, seed)

    metrics = open(args.metrics, "w") if args.metrics else None

    def emit(obj):
        if metrics:
            metrics.write(json.dumps(obj) + "\n")
            metrics.flush()

    def do_eval(k):
        nonlocal test
        if test is None:
            test = _load_split(d, "test", graph)
        r = nt.evaluate(model, *test)
        emit({"iter": k, "test_loss": r["test_loss"], "test_accuracy": r["test_accuracy"]})
        print(f"iter {k}: test loss {r['test_loss']:.6f}, accuracy {r['test_accuracy']:.2f}%")
        model.train()

    lrs = nt.lr_sequence(t.lr_schedule, lr, iterations)

    def on_step(k, loss):
        emit({"iter": k, "loss": loss, "lr": lrs[k - 1]})
        if eval_every and k % eval_every == 0 and k != iterations:
            do_eval(k)

    losses = nt.train(model, train_x, train_y, batch, iterations, lr, momentum, wd, nesterov,
                      shuffle=shuffle, seed=seed, on_step=on_step, optimizer_type=o.type, betas=o.betas, eps=o.eps,
                      lr_schedule=t.lr_schedule)
    print(f"iter {iterations}: loss {losses[-1]:.6f}")
    do_eval(iterations)
    if metrics:
        metrics.close()
    if args.save:
        nt.state_to_file(model, args.save)
    return 0


def cmd_init(args, graph):
    model = nt.build_model(graph)
    nt.init_params(model, args.seed if args.seed is not None else graph.train.seed)
    nt.state_to_file(model, args.output)
    return 0


def cmd_eval(args, graph):
    model = _model(args, graph)
    _load_weights(model, args.weights)
    r = nt.evaluate(model, *_load_split(_data_dir(args, graph), "test", graph))
    print(json.dumps(r))
    return 0


def cmd_summary(args, graph):
    s = nt.summary(graph)
    if args.json:
        print(json.dumps(s))
    else:
        for l in s["layers"]:
            print(f"{l['name']:<16} {l['op']:<11} {str(l['output']):<16} {l['params']}")
        print(f"total params: {s['params']}")
    return 0


def main(argv=None):
    ap = _parser()
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        return 2 if e.code else 0
    torch.set_num_threads(max(1, args.threads))
    try:
        try:
            graph = nt.read_graph(args.graph)
        except nt.GraphError as e:
            raise InputError(str(e)) from None
        return {"train": cmd_train, "init": cmd_init, "eval": cmd_eval, "summary": cmd_summary}[args.command](args, graph)
    except InputError as e:
        print(f"torch_reference: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
