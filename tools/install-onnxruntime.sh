#!/usr/bin/env bash
# Installs ONNX Runtime for Node.js (onnxruntime-node, its CPU build) outside
# the repository, for the test onnx_runtime (tests/onnx/check_onnxruntime.py),
# which runs netc's exported models in it. tools/test.sh runs this; the main
# command (tools/train-model-a.sh) does not.
#
# Into $NETC_ONNXRUNTIME_DIR, else $XDG_CACHE_HOME/netc/onnxruntime, else
# ~/.cache/netc/onnxruntime (tests/onnx/onnx_checks.py follows the same rule).
# ~300 MB from the npm registry, once: nothing is fetched when the pinned
# version is there. --ignore-scripts: the package's install script fetches GPU
# libraries from a host that may be unreachable; the CPU build ships inside.
set -euo pipefail
version=1.31.1
dir="${NETC_ONNXRUNTIME_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/netc/onnxruntime}"
installed="$dir/node_modules/onnxruntime-node/package.json"
if [ -f "$installed" ] && grep -q "\"version\": \"$version\"" "$installed"; then
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "install-onnxruntime: npm is missing (tools/install-deps.sh installs it)" >&2; exit 1; }
echo "install-onnxruntime: onnxruntime-node $version into $dir (~300 MB)" >&2
mkdir -p "$dir"
npm install --prefix "$dir" --ignore-scripts --no-audit --no-fund --loglevel=error "onnxruntime-node@$version" >&2
