#!/usr/bin/env bash
# Installs what is missing (Debian packages) and builds into build/: the
# CMake targets given (`tools/build.sh netc` builds the binary and the
# compiler library it loads, nothing else), or everything.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
if [ $# -gt 0 ]; then
  cmake --build build --parallel "$(nproc)" --target "$@"
else
  cmake --build build --parallel "$(nproc)"
fi
