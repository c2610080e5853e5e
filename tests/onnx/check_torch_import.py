#!/usr/bin/env python3
"""netc import of what torch.onnx.export (PyTorch 1.13) writes.

Models A, B and C of the tutorial and a LeNet-5-style network with a residual
Add, a Concat of max and average pooling, functional pooling (which torch
writes as Constant + Pad + AveragePool), x.view(x.size(0), -1) (Shape, Gather,
Unsqueeze, Concat, Reshape), LeakyReLU, Tanh, Sigmoid, and a linear layer
written as x @ W.t() + b (MatMul + Add, with a Transpose of the weight when
constants are not folded). Each is exported with a dynamic batch, constant-
folded and not; then

- `netc import` writes a graph file and weights, with PyTorch's module names
  on the layers that have parameters;
- `netc eval` of the result on a synthetic data set equals PyTorch's test loss
  within 1e-4 and its accuracy exactly;
- `netc onnx-test` on the model with a batch of PyTorch's outputs: netc's
  logits within 1e-4 of PyTorch's;
- the folded and the unfolded export import to the same graph file and weights.

Compiles are what this test costs, so each model compiles once: the graph
file is named onnx_test.yaml (the graph's name is the file's) in a folder per
export, as `netc onnx-test` names what it imports, and the onnx-test batch is
the graph's batch size, which `netc eval` runs; the unfolded export, which
imports to the same graph, then finds that compiled model in the cache.

    check_torch_import.py --netc build/bin/netc [--work DIR]
"""

import argparse
import filecmp
import os
import sys
import tempfile
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnx_checks as oc  # noqa: E402


class ModelA(nn.Module):
    """2 convolutions (same padding) + 2 max pools + 1 fully connected."""

    def __init__(self, pool=nn.MaxPool2d, valid=False):
        super().__init__()
        pad = 0 if valid else 2
        self.cnn1 = nn.Conv2d(1, 16, 5, padding=pad)
        self.relu1 = nn.ReLU()
        self.maxpool1 = pool(2)
        self.cnn2 = nn.Conv2d(16, 32, 5, padding=pad)
        self.relu2 = nn.ReLU()
        self.maxpool2 = pool(2)
        self.fc1 = nn.Linear(512 if valid else 1568, 10)

    def forward(self, x):
        out = self.maxpool1(self.relu1(self.cnn1(x)))
        out = self.maxpool2(self.relu2(self.cnn2(out)))
        return self.fc1(out.view(out.size(0), -1))


def model_b():
    return ModelA(pool=nn.AvgPool2d)


def model_c():
    return ModelA(valid=True)


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv1b = nn.Conv2d(6, 6, 3, padding=1)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(800, 120)
        self.w2 = nn.Parameter(torch.randn(84, 120) * 0.1)
        self.b2 = nn.Parameter(torch.randn(84) * 0.1)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x1 = torch.tanh(self.conv1(x))
        x = F.avg_pool2d(x1 + F.relu(self.conv1b(x1)), 2)
        x = torch.sigmoid(self.conv2(x))
        x = torch.cat([F.max_pool2d(x, 2), F.avg_pool2d(x, 2)], 1)
        x = F.leaky_relu(self.fc1(x.view(x.size(0), -1)), 0.1)
        x = F.relu(x @ self.w2.t() + self.b2)
        return self.fc3(x)


MODELS = {"model_a": ModelA, "model_b": model_b, "model_c": model_c, "lenet5": LeNet}
# Layers whose names must come from PyTorch's module names.
NAMED = {"model_a": ["cnn1", "cnn2", "fc1"], "model_b": ["cnn1", "cnn2", "fc1"], "model_c": ["cnn1", "cnn2", "fc1"],
         "lenet5": ["conv1", "conv1b", "conv2", "fc1", "fc3"]}


def torch_eval(model, images, labels):
    x = torch.as_tensor(images, dtype=torch.float32) / 255.0
    with torch.no_grad():
        logits = model(x)
    y = torch.as_tensor(labels)
    return {"test_loss": float(F.cross_entropy(logits.double(), y)),
            "test_accuracy": 100.0 * float((logits.argmax(1) == y).double().mean())}


def check(args, name, fold, work, test_set, failures):
    torch.manual_seed(11)
    model = MODELS[name]().eval()
    tag = f"{name}{'' if fold else '_unfolded'}"
    folder = os.path.join(work, tag)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "model.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.rand(2, 1, 28, 28), path, opset_version=13, do_constant_folding=fold,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    graph = os.path.join(folder, "onnx_test.yaml")
    weights = os.path.join(folder, "onnx_test.safetensors")
    oc.run_netc(args.netc, ["import", path, "-o", graph, "--weights-out", weights])
    layers = [l.name for l in oc.nt.read_graph(graph).layers]
    missing = [n for n in NAMED[name] if n not in layers]
    if missing:
        failures.append(f"{tag}: layers {missing} not named after PyTorch's modules: {layers}")
    if not fold:
        folded = os.path.join(work, name)
        for f in ("onnx_test.yaml", "onnx_test.safetensors"):
            if not filecmp.cmp(os.path.join(folded, f), os.path.join(folder, f), shallow=False):
                failures.append(f"{tag}: {f} differs from the constant-folded export's")

    got = oc.netc_eval(args.netc, graph, weights, args.data)
    ref = torch_eval(model, *test_set)
    print(f"{tag}: netc eval {got}, PyTorch {ref}")
    oc.compare_eval(tag, got, ref, failures)

    x = torch.rand(oc.nt.read_graph(graph).train.batch_size, 1, 28, 28)
    with torch.no_grad():
        y = model(x)
    oc.node_test_folder(folder, path, x.numpy(), y.numpy())
    err = oc.onnx_test_error(args.netc, folder)
    print(f"{tag}: netc onnx-test max |error| {err:.2e} against PyTorch")
    if err > oc.TOLERANCE:
        failures.append(f"{tag}: logits differ from PyTorch's by {err}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--netc", required=True)
    ap.add_argument("--work")
    ap.add_argument("--models", nargs="*", default=list(MODELS))
    args = ap.parse_args()
    os.environ["NETC_BINARY"] = args.netc
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or tmp
        os.makedirs(work, exist_ok=True)
        args.data = os.path.join(work, "data")
        test_set = oc.make_data(args.data)
        for name in args.models:
            for fold in (True, False):
                try:
                    check(args, name, fold, work, test_set, failures)
                except AssertionError as e:
                    failures.append(str(e))
    for f in failures:
        print("FAIL:", f)
    print(f"check_torch_import: {len(args.models)} models, {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
