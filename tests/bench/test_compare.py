#!/usr/bin/python3
"""bench/compare.py against tests/bench/fake_netc.py, a netc that answers at once.

Checks what the benchmark computes and writes, independently of netc's speed
and of the machine's load (PyTorch really runs, a few steps only):
- with a well-formed netc: exit 0; the JSON rows are the training step and
  each inference batch; netc's times are the fake's, each ratio is
  PyTorch ms / netc ms and each verdict follows from ratio and target; a
  scaling row's cost per image is its batch's against the training batch's
  (batch 1000's training step taken from the inference run at 1000); the
  Markdown page holds the machine description and every row, and no
  temporary file is left beside it;
- with a netc that fails, or prints JSON that breaks the contract: exit 1
  and a message naming the problem.

Exit status: 0 pass, 1 failure, 77 when Python lacks torch (CTest skip).
"""

import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
COMPARE = os.path.join(ROOT, "bench", "compare.py")
FAKE_NETC = os.path.join(HERE, "fake_netc.py")
SKIPPED = 77


def compare(*args, mode="ok"):
    env = dict(os.environ, FAKE_NETC_MODE=mode)
    return subprocess.run([sys.executable, COMPARE, "--netc", FAKE_NETC, "--models", "a", "--threads", "1",
                           "--quick", *args], capture_output=True, text=True, env=env)


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def check_success(folder):
    page = os.path.join(folder, "benchmarks.md")
    done = compare("--rounds", "2", "--inference-batches", "100", "1000", "--scaling-batches", "500", "1000",
                   "--json", "--markdown", page)
    if done.returncode == SKIPPED:
        print(done.stderr, file=sys.stderr)
        sys.exit(SKIPPED)
    expect(done.returncode == 0, f"exit status {done.returncode}:\n{done.stderr}")
    report = json.loads(done.stdout)
    rows = report["rows"]
    expect([(r["task"], r["batch"]) for r in rows] == [("train", 100), ("inference", 100), ("inference", 1000)],
           f"unexpected rows {[(r['task'], r['batch']) for r in rows]}")
    # fake_netc.py: a training step takes 20 ms per 100 images at one thread, inference a third of that.
    for row, netc_ms in zip(rows, (20.0, 20.0 / 3, 200.0 / 3)):
        expect(len(row["netc_round_ms"]) == 2 and len(row["pytorch_round_ms"]) == 2, f"two rounds: {row}")
        expect(abs(row["netc_ms"] - netc_ms) < 1e-9, f"netc time {row['netc_ms']}, expected {netc_ms}")
        expect(row["pytorch_ms"] > 0, f"PyTorch time {row['pytorch_ms']}")
        expect(abs(row["ratio"] - row["pytorch_ms"] / row["netc_ms"]) < 1e-9, f"ratio of {row}")
        expect(row["pass"] == (row["ratio"] >= row["target"]), f"verdict of {row}")
    expect(rows[0]["target"] == 2.0 and rows[1]["target"] == 1.5, "Model A trains at 2x, infers at 1.5x")
    expect(rows[0]["stages"][0]["name"] == "cnn2.forward", "the training row keeps netc's stages")
    scaling = report["scaling_rows"]
    expect([r["batch"] for r in scaling] == [500, 1000], f"unexpected scaling rows {scaling}")
    for row in scaling:  # the fake's step costs the same per image at any batch
        expect(len(row["netc_round_ms"]) == 2, f"two rounds: {row}")
        expect(abs(row["netc_ms"] - 20.0 * row["batch"] / 100) < 1e-9, f"scaling time of {row}")
        expect(abs(row["cost_ratio"] - 1.0) < 1e-9 and row["pass"] and row["target"] == 1.2, f"verdict of {row}")
    with open(page, encoding="utf-8") as f:
        text = f.read()
    for needle in ("# Benchmarks: netc against PyTorch", "- Machine: ", "- netc commit: ", "- PyTorch ",
                   "| model_a | train | 100 | 1 | 20.00 |", "| model_a | inference | 1000 | 1 | 66.67 |",
                   "| cnn2.forward | 12.00 | 60.0 |",
                   "| model_a | 1 | 500 | 100.00 | 0.2000 | 100 | 0.2000 | 1.00x | <= 1.20x | pass |"):
        expect(needle in text, f"the Markdown page lacks {needle!r}:\n{text}")
    expect(os.listdir(folder) == ["benchmarks.md"], f"files left beside the page: {os.listdir(folder)}")


def check_failure(mode, message):
    done = compare("--inference-batches", "100", mode=mode)
    expect(done.returncode == 1, f"{mode}: exit status {done.returncode}, expected 1:\n{done.stderr}")
    expect(message in done.stderr, f"{mode}: stderr lacks {message!r}:\n{done.stderr}")


def main():
    with tempfile.TemporaryDirectory() as folder:
        check_success(folder)
    check_failure("fail", "the fake netc was told to fail")
    check_failure("missing-key", "JSON lacks gflops")
    check_failure("wrong-batch", "ran batch 101 at 1 threads, asked for batch 100")
    print("bench/compare.py: all checks passed")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:
        print(f"test_compare: FAIL: {e}", file=sys.stderr)
        sys.exit(1)
