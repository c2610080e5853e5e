#!/usr/bin/env python3
"""End to end on real MNIST: a short `netc train` must reach a stated accuracy.

400 SGD steps of Model A (batch 100, lr 0.05) see 40,000 images, two thirds of
one epoch; PyTorch reaches about 95% test accuracy there. The test demands 90%,
which any correct forward pass, adjoint or update reaches and no broken one does.
"""
import argparse
import json
import subprocess
import sys
import tempfile


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--netc", required=True)
    ap.add_argument("--graph", required=True)
    ap.add_argument("--min-accuracy", type=float, default=90.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        metrics = f"{tmp}/metrics.jsonl"
        cmd = [args.netc, "train", args.graph, "--iterations", "400", "--lr", "0.05", "--eval-every", "0",
               "--metrics", metrics]
        subprocess.run(cmd, check=True)
        records = [json.loads(line) for line in open(metrics)]
    losses = [r for r in records if "loss" in r]
    final = [r for r in records if "test_accuracy" in r][-1]
    assert len(losses) == 400, f"expected 400 loss records, got {len(losses)}"
    print(f"test accuracy after 400 steps: {final['test_accuracy']:.2f}% (needs {args.min_accuracy}%)")
    if final["test_accuracy"] < args.min_accuracy:
        sys.exit(f"accuracy {final['test_accuracy']:.2f}% is below {args.min_accuracy}%")


if __name__ == "__main__":
    main()
