#!/usr/bin/env bash
# The whole test suite: installs, builds, runs every test through ctest, then
# the same suite under sanitizers and each fuzz harness briefly.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh
# ONNX Runtime for the test onnx_runtime, outside the repository (cached).
tools/install-onnxruntime.sh
# A cache of compiled pipelines private to this run, so that tests never
# depend on what an earlier build left behind.
export NETC_CACHE_DIR="${NETC_CACHE_DIR:-$PWD/build/test-cache}"
(cd build && ctest --output-on-failure --parallel "$(nproc)" "$@")
# The whole suite (no ctest selection given) then runs again under ASan and
# UBSan, and each fuzz harness runs for a short while (README: "Fuzzing and
# sanitizers").
if [ $# -eq 0 ]; then
  tools/sanitize.sh
  tools/fuzz.sh "${NETC_FUZZ_SECONDS:-20}"
fi
