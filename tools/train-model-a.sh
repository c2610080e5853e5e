#!/usr/bin/env bash
# The main job: installs, builds, fetches MNIST (first run only) and trains
# Model A of the tutorial end to end (3000 SGD steps, batch 100, lr 0.01),
# printing progress and the final test accuracy. Extra arguments go to
# `netc train` (e.g. --threads 1, --iterations 500).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh netc  # the binary and its compiler library: no tests, no fuzzers
exec build/bin/netc train graphs/model_a.yaml --save build/model_a.safetensors "$@"
