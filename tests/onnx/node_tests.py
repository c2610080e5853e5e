#!/usr/bin/env python3
"""ONNX's backend node tests through `netc onnx-test`, as a table.

Runs netc onnx-test on the folders given (Debian's libonnx-testdata: node,
pytorch-converted, pytorch-operator, simple), prints the count of each status,
every test that passed and every reason a test was unsupported, and fails if
any test failed or fewer than --min-pass passed (so that a regression that
turns passing tests into "unsupported" is caught too).

    node_tests.py --netc build/bin/netc --min-pass N DIR...
"""

import argparse
import collections
import json
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--netc", required=True)
    ap.add_argument("--min-pass", type=int, required=True)
    ap.add_argument("dirs", nargs="+")
    args = ap.parse_args()
    p = subprocess.run([args.netc, "onnx-test", "--threads", "2"] + args.dirs, capture_output=True, text=True,
                       timeout=3000)
    results = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    by_status = collections.defaultdict(list)
    for r in results:
        by_status[r["status"]].append(r)
    for r in by_status["pass"]:
        print(f"pass         {r['name']:55s} max |error| {r['max_abs_err']:.2e}")
    for r in by_status["unsupported"]:
        print(f"unsupported  {r['name']:55s} {r['reason']}")
    for r in by_status["fail"]:
        print(f"FAIL         {r['name']:55s} {r['reason']}")
    counts = {s: len(by_status[s]) for s in ("pass", "unsupported", "fail")}
    print(f"node_tests: {len(results)} tests: {counts['pass']} passed, {counts['unsupported']} unsupported, "
          f"{counts['fail']} failed (netc exited {p.returncode}: {p.stderr.strip()})")
    ok = counts["fail"] == 0 and counts["pass"] >= args.min_pass and p.returncode in (0, 1) and results
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
