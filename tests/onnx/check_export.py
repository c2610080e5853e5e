#!/usr/bin/env python3
"""netc export, checked against ONNX's checker and against netc itself.

For every graph file of graphs/ (together they use every op of the graph
format): PyTorch-initialized weights (tools/netc_torch.py's twin), `netc
export`, then

- onnx.checker.check_model(full_check=True) (Debian's python3-onnx 1.12, so IR
  version 8 at most), a symbolic batch dimension, node names = layer names,
  initializers = the parameter table;
- the exported model run by onnx_reference.py (torch.nn.functional) equals the
  twin's output within 1e-4;
- for model_a, residual_mix and strided_tanh (every op between them): the
  exported model's test loss and accuracy on a synthetic data set equal
  `netc eval`'s within 1e-4;
- `--softmax --opset 17`: the output is the softmax of the logits.

    check_export.py --netc build/bin/netc --source . [--work DIR]
"""

import argparse
import glob
import os
import sys
import tempfile

import numpy as np
import onnx
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnx_checks as oc  # noqa: E402
import onnx_reference  # noqa: E402

EVALUATED = ("model_a", "residual_mix", "strided_tanh")


def reference_eval(model, images, labels):
    x = torch.as_tensor(images, dtype=torch.float32) / 255.0
    logits = onnx_reference.run(model, {"input": x})["logits"]
    loss = torch.nn.functional.cross_entropy(logits.double(), torch.as_tensor(labels), reduction="mean")
    accuracy = 100.0 * float((logits.argmax(1) == torch.as_tensor(labels)).double().mean())
    return {"test_loss": float(loss), "test_accuracy": accuracy}


def check_graph(args, path, work, test_set, failures):
    name = os.path.splitext(os.path.basename(path))[0]
    twin = oc.nt.load_graph(path, seed=3)
    weights = os.path.join(work, name + ".safetensors")
    oc.nt.state_to_file(twin, weights)
    out = os.path.join(work, name + ".onnx")
    oc.run_netc(args.netc, ["export", path, "--weights", weights, "-o", out])
    model = onnx.load(out)
    onnx.checker.check_model(model, full_check=True)
    if model.ir_version > 8 or not 13 <= model.opset_import[0].version <= 17:
        failures.append(f"{name}: IR version {model.ir_version}, opset {model.opset_import[0].version}")
    if model.graph.input[0].type.tensor_type.shape.dim[0].dim_param != "N":
        failures.append(f"{name}: the batch dimension is not symbolic")
    layers = [l.name for l in twin.graph.layers]
    if [n.name for n in model.graph.node] != layers:
        failures.append(f"{name}: node names {[n.name for n in model.graph.node]}, layers {layers}")
    if sorted(t.name for t in model.graph.initializer) != sorted(twin.state_dict()):
        failures.append(f"{name}: initializers differ from the parameters")

    x = torch.rand(8, *twin.graph.input.dims())
    with torch.no_grad():
        want = twin(x)
    got = onnx_reference.run(model, {"input": x})["logits"]
    err = float((got - want).abs().max())
    print(f"{name}: exported; reference evaluator vs PyTorch twin max |error| {err:.2e}")
    if err > oc.TOLERANCE:
        failures.append(f"{name}: the exported model's logits differ from the twin's by {err}")

    if name in EVALUATED:
        images, labels = test_set
        got = oc.netc_eval(args.netc, path, weights, args.data)
        ref = reference_eval(model, images, labels)
        print(f"{name}: netc eval {got}, exported model {ref}")
        oc.compare_eval(name, got, ref, failures)
    if name == "model_a":
        soft = os.path.join(work, name + ".softmax.onnx")
        oc.run_netc(args.netc, ["export", path, "--weights", weights, "-o", soft, "--softmax", "--opset", "17"])
        m = onnx.load(soft)
        onnx.checker.check_model(m, full_check=True)
        p = onnx_reference.run(m, {"input": x})["probabilities"]
        if m.opset_import[0].version != 17 or float((p - torch.softmax(want, 1)).abs().max()) > oc.TOLERANCE:
            failures.append("model_a --softmax --opset 17: not the softmax of the logits")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--netc", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--work")
    args = ap.parse_args()
    os.environ["NETC_BINARY"] = args.netc
    torch.manual_seed(0)
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or tmp
        os.makedirs(work, exist_ok=True)
        args.data = os.path.join(work, "data")
        test_set = oc.make_data(args.data)
        graphs = sorted(glob.glob(os.path.join(args.source, "graphs", "*.yaml")))
        for path in graphs:
            check_graph(args, path, work, test_set, failures)
    for f in failures:
        print("FAIL:", f)
    print(f"check_export: {len(graphs)} graphs, {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
