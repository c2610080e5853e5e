#!/usr/bin/env python3
"""netc's ONNX models in ONNX Runtime (onnxruntime-node on the CPU, through
ort_run.js), the runtime the exports are for.

- Every graph file of graphs/ (together they use every op of the graph
  format), with PyTorch-initialized weights, exported by `netc export`: ONNX
  Runtime's logits on 300 synthetic test images equal PyTorch's twin of the
  graph within 1e-4, and the test loss and accuracy they give equal `netc
  eval`'s within 1e-4 (accuracy exactly); with `--softmax`, the output is the
  softmax of the logits.
- The round trip of docs/onnx.md: PyTorch's Model A → torch.onnx.export →
  `netc import` → `netc train` (20 steps, which must change the weights) →
  `netc export` → ONNX Runtime, whose test loss and accuracy equal `netc eval`'s
  of the trained weights.

onnxruntime-node is installed by tools/install-onnxruntime.sh (tools/test.sh
runs it); without it this test fails, saying so.

    check_onnxruntime.py --netc build/bin/netc --source . [--work DIR]
"""

import argparse
import glob
import os
import sys
import tempfile
import warnings

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_torch_import  # noqa: E402
import onnx_checks as oc  # noqa: E402

# Training steps of the round trip: enough to move every weight, few enough to compile once and run at once.
ROUND_TRIP_STEPS = 20
ROUND_TRIP_BATCH = 50


def check_graph(args, path, work, test_set, failures):
    name = os.path.splitext(os.path.basename(path))[0]
    twin = oc.nt.load_graph(path, seed=3)
    weights = os.path.join(work, name + ".safetensors")
    oc.nt.state_to_file(twin, weights)
    out = os.path.join(work, name + ".onnx")
    oc.run_netc(args.netc, ["export", path, "--weights", weights, "-o", out])
    images, labels = test_set
    x = images.astype(np.float32) / 255.0
    logits = oc.ort_run(out, x, work)["logits"]
    with torch.no_grad():
        want = twin(torch.as_tensor(x)).numpy()
    err = float(np.abs(logits - want).max())
    got = oc.netc_eval(args.netc, path, weights, args.data)
    ref = oc.logits_eval(logits, labels)
    print(f"{name}: ONNX Runtime vs PyTorch twin max |error| {err:.2e}; netc eval {got}, ONNX Runtime {ref}")
    if err > oc.TOLERANCE:
        failures.append(f"{name}: ONNX Runtime's logits differ from the twin's by {err}")
    oc.compare_eval(name, got, ref, failures)
    if name == "model_a":
        soft = os.path.join(work, name + ".softmax.onnx")
        oc.run_netc(args.netc, ["export", path, "--weights", weights, "-o", soft, "--softmax", "--opset", "17"])
        p = oc.ort_run(soft, x, work)["probabilities"]
        err = float(np.abs(p - torch.softmax(torch.as_tensor(want), 1).numpy()).max())
        print(f"{name} --softmax --opset 17: ONNX Runtime vs the twin's softmax max |error| {err:.2e}")
        if err > oc.TOLERANCE:
            failures.append(f"{name} --softmax: ONNX Runtime's probabilities differ from the twin's by {err}")


def check_round_trip(args, work, test_set, failures):
    torch.manual_seed(11)
    model = check_torch_import.ModelA().eval()
    onnx_in = os.path.join(work, "a.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.rand(1, 1, 28, 28), onnx_in, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    graph, init, trained = (os.path.join(work, f) for f in ("a.yaml", "a.safetensors", "trained.safetensors"))
    oc.run_netc(args.netc, ["import", onnx_in, "-o", graph])
    batch = ["--batch-size", str(ROUND_TRIP_BATCH)]
    oc.run_netc(args.netc, ["train", graph, "--init", init, "--save", trained, "--data", args.data, "--threads", "2",
                            "--iterations", str(ROUND_TRIP_STEPS), "--eval-every", "0"] + batch)
    before, after = oc.nt.load_safetensors(init), oc.nt.load_safetensors(trained)
    unchanged = [k for k in before if torch.equal(before[k], after[k])]
    if unchanged:
        failures.append(f"round trip: training left {unchanged} unchanged")
    onnx_out = os.path.join(work, "trained.onnx")
    oc.run_netc(args.netc, ["export", graph, "--weights", trained, "-o", onnx_out])
    images, labels = test_set
    ref = oc.logits_eval(oc.ort_run(onnx_out, images.astype(np.float32) / 255.0, work)["logits"], labels)
    got = oc.netc_eval(args.netc, graph, trained, args.data, batch)
    print(f"round trip (PyTorch → ONNX → netc train {ROUND_TRIP_STEPS} steps → ONNX): netc eval {got}, "
          f"ONNX Runtime {ref}")
    oc.compare_eval("round trip", got, ref, failures)


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
        test_set = oc.make_data(args.data, n_train=ROUND_TRIP_STEPS * ROUND_TRIP_BATCH)
        graphs = sorted(glob.glob(os.path.join(args.source, "graphs", "*.yaml")))
        try:
            for path in graphs:
                check_graph(args, path, work, test_set, failures)
            check_round_trip(args, work, test_set, failures)
        except AssertionError as e:
            failures.append(str(e))
    for f in failures:
        print("FAIL:", f)
    print(f"check_onnxruntime: {len(graphs)} graphs and the round trip, {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
