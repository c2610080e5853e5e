#!/usr/bin/python3
"""The PyTorch twin (tools/netc_torch.py) builds every graph as netc reads it.

    twin_graphs.py --netc build/bin/netc

For every graph file in graphs/ and under tests/ that `netc describe` accepts
(those it rejects with exit status 2 are the intentionally invalid ones; any
other failure fails the test), the twin's model is built from the
description and must match netc:

- its state_dict: the parameter names and shapes of the description, in
  order (weight before bias, layers in file order);
- `netc summary --json`: every layer's output shape (measured by a forward
  pass of the PyTorch model) and parameter count, and the total;
- the logits of a batch: [batch, the output layer's features].

Numbers (netc eval and train against the twin on the same weights) are
parity.py's business: tests/parity/CMakeLists.txt runs it on graphs/ and on a
graph of the fuzzing corpus.

Exit status: 0 pass, 1 failure, 77 when Python lacks torch.
"""

import argparse
import glob
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))

try:
    import torch
    import netc_torch as nt
except ImportError as e:  # pragma: no cover
    print(f"twin_graphs: skipped: {e} (needs Debian's python3-torch, python3-numpy, python3-yaml)", file=sys.stderr)
    sys.exit(77)


def graph_files():
    found = glob.glob(os.path.join(ROOT, "graphs", "*.yaml"))
    found += glob.glob(os.path.join(ROOT, "tests", "**", "*.yaml"), recursive=True)
    return sorted(os.path.relpath(f, ROOT) for f in found)


def summary_json(netc, path):
    done = subprocess.run([netc, "summary", path, "--json"], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def differences(netc, path, graph):
    """What the twin's model of `graph` gets wrong, as messages."""
    model = nt.build_model(graph)
    problems = []
    got = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    want = [(p["name"], p["shape"]) for l in graph.layers for p in l.params]
    if got != want:
        problems.append(f"state_dict {got} != described parameters {want}")
    ref, twin = summary_json(netc, path), nt.summary(graph)
    if twin != {k: ref[k] for k in twin}:
        problems.append(f"the model's summary {twin} != netc summary --json {ref}")
    with torch.no_grad():
        logits = model(torch.zeros([2] + graph.input.dims()))
    if list(logits.shape) != [2] + graph.layer(graph.output).output.dims():
        problems.append(f"logits of shape {list(logits.shape)} for output layer {graph.output}")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--netc", required=True, help="the netc binary")
    args = ap.parse_args()
    os.environ["NETC_BINARY"] = os.path.abspath(args.netc)
    os.chdir(ROOT)  # paths in messages relative to the repository
    failures, checked = 0, 0
    for path in graph_files():
        try:
            graph = nt.read_graph(path)
        except nt.GraphError:
            print(f"  {path}: rejected by netc (an invalid graph), skipped")
            continue
        problems = differences(args.netc, path, graph)
        checked += 1
        failures += bool(problems)
        print(f"  {path}: {'FAIL' if problems else 'same'} ({len(graph.layers)} layers)")
        for p in problems:
            print(f"    {p}", file=sys.stderr)
    print(f"{checked} graphs checked, {failures} differ")
    return 1 if failures or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
