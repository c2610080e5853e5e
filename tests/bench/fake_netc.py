#!/usr/bin/python3
"""A stand-in for `netc bench ... --json` that answers at once, so that
test_compare.py can check bench/compare.py without compiling anything.

FAKE_NETC_MODE chooses the answer: "ok" (default), "missing-key" (no
"gflops"), "wrong-batch" (reports another batch than asked), "fail" (exit 1
with a message, as netc does on a failure).
"""

import argparse
import json
import os
import sys


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["bench"])
    p.add_argument("graph")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--schedule")
    p.add_argument("--target", default="host")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    mode = os.environ.get("FAKE_NETC_MODE", "ok")
    if mode == "fail":
        print("netc: error: the fake netc was told to fail", file=sys.stderr)
        return 1
    train_ms = 20.0 * a.batch_size / 100 / a.threads
    gflop = 1.64 * a.batch_size / 100
    report = {
        "graph": os.path.splitext(os.path.basename(a.graph))[0],
        "batch": a.batch_size + (1 if mode == "wrong-batch" else 0),
        "threads": a.threads,
        "train_step_ms": train_ms,
        "inference_ms": train_ms / 3,
        "images_per_s": a.batch_size / (train_ms / 1e3),
        "gflops": gflop / (train_ms / 1e3),
        "peak_gflops": 40.0 * a.threads,
        "train_step_gflop": gflop,
        "stages": [{"name": "cnn2.forward", "ms": train_ms * 0.6, "percent": 60.0},
                   {"name": "update", "ms": train_ms * 0.4, "percent": 40.0}],
        "schedule": a.schedule or "schedules/cpu/default.yaml",
    }
    if mode == "missing-key":
        del report["gflops"]
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
