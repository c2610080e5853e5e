"""What the ONNX tests share: running netc, a synthetic MNIST-shaped data set,
and a node-test folder (model.onnx + test_data_set_0) that `netc onnx-test`
runs through import and netc's compiled forward pass."""

import json
import os
import subprocess
import sys

import numpy as np
import onnx
import onnx.numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import netc_torch as nt  # noqa: E402

# Outputs of two float32 implementations of one network agree to this (the promise).
TOLERANCE = 1e-4


def run_netc(netc, args, timeout=900):
    p = subprocess.run([netc] + args, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError(f"netc {' '.join(args)} exited {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def make_data(directory, n_test=300, seed=7, n_train=10):
    """Random 28 x 28 test images and labels as IDX files (train files too,
    which netc's data reader wants); returns the test images and labels."""
    rng = np.random.Generator(np.random.PCG64(seed))
    os.makedirs(directory, exist_ok=True)
    splits = {}
    for split, n in (("train", n_train), ("test", n_test)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8)
        img_name, lab_name = nt.IDX_NAMES[split]
        nt.write_idx(os.path.join(directory, img_name), images)
        nt.write_idx(os.path.join(directory, lab_name), labels)
        splits[split] = (images[:, None], labels.astype(np.int64))
    return splits["test"]


def netc_eval(netc, graph, weights, data, extra=()):
    return json.loads(run_netc(netc, ["eval", graph, "--weights", weights, "--data", data, "--json", "--threads", "2"]
                               + list(extra)))


def compare_eval(what, got, ref, failures):
    if abs(got["test_loss"] - ref["test_loss"]) > TOLERANCE or abs(got["test_accuracy"] - ref["test_accuracy"]) > 1e-9:
        failures.append(f"{what}: netc eval {got} but the reference {ref}")


def node_test_folder(directory, model_path, x, y):
    """`directory` as an ONNX node test of `model_path` with input x and expected output y."""
    data = os.path.join(directory, "test_data_set_0")
    os.makedirs(data, exist_ok=True)
    model = onnx.load(model_path)
    onnx.save(model, os.path.join(directory, "model.onnx"))
    for name, value in (("input_0.pb", x), ("output_0.pb", y)):
        with open(os.path.join(data, name), "wb") as f:
            f.write(onnx.numpy_helper.from_array(np.asarray(value, dtype=np.float32)).SerializeToString())


def onnx_test_error(netc, directory):
    """The largest absolute error `netc onnx-test` reports for one test folder."""
    p = subprocess.run([netc, "onnx-test", directory, "--threads", "2"], capture_output=True, text=True, timeout=900)
    line = json.loads(p.stdout.strip().splitlines()[-1])
    if line["status"] != "pass":
        raise AssertionError(f"netc onnx-test {directory}: {line}")
    return line["max_abs_err"]


def onnxruntime_dir():
    """Where tools/install-onnxruntime.sh installs onnxruntime-node (the same
    rule): $NETC_ONNXRUNTIME_DIR, else $XDG_CACHE_HOME/netc/onnxruntime, else
    ~/.cache/netc/onnxruntime."""
    if os.environ.get("NETC_ONNXRUNTIME_DIR"):
        return os.environ["NETC_ONNXRUNTIME_DIR"]
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "netc", "onnxruntime")


def ort_run(model_path, x, work):
    """ONNX Runtime's outputs (name -> float32 array) for input x, through
    tests/onnx/ort_run.js; an AssertionError saying how to install it when
    onnxruntime-node is missing."""
    x = np.ascontiguousarray(np.asarray(x, dtype="<f4"))
    input_file = os.path.join(work, "ort_input.f32")
    x.tofile(input_file)
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ort_run.js")
    env = dict(os.environ, NODE_PATH=os.path.join(onnxruntime_dir(), "node_modules"))
    p = subprocess.run(["node", script, model_path, input_file, ",".join(map(str, x.shape))],
                       capture_output=True, text=True, timeout=300, env=env)
    if p.returncode == 3:
        raise AssertionError(f"ONNX Runtime is not installed in {onnxruntime_dir()}: "
                             f"run tools/install-onnxruntime.sh ({p.stderr.strip()})")
    if p.returncode != 0:
        raise AssertionError(f"ONNX Runtime on {model_path} exited {p.returncode}: {p.stderr.strip()}")
    return {name: np.array(o["data"], dtype=np.float32).reshape(o["dims"]) for name, o in json.loads(p.stdout).items()}


def logits_eval(logits, labels):
    """Test loss (mean cross entropy, in double) and accuracy (percent) of
    logits, as netc eval reports them."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -float(log_probs[np.arange(len(labels)), labels].mean())
    accuracy = 100.0 * float((logits.argmax(axis=1) == labels).mean())
    return {"test_loss": loss, "test_accuracy": accuracy}
