#!/usr/bin/env bash
# The whole test suite: installs, builds, then runs every test through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh
# A cache of compiled pipelines private to this run, so that tests never
# depend on what an earlier build left behind.
export NETC_CACHE_DIR="${NETC_CACHE_DIR:-$PWD/build/test-cache}"
cd build
ctest --output-on-failure --parallel "$(nproc)" "$@"
