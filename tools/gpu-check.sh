#!/usr/bin/env bash
# The GPU check (docs/gpu.md), in two parts:
#
#   tools/gpu-check.sh prepare      here, on a build machine without a GPU: builds
#                                   netc and fills build/gpu-bundle (under 64 MiB)
#                                   with what the GPU machine lacks: the netc binary
#                                   and the shared libraries it needs besides glibc,
#                                   the compile cache holding Model A's CUDA pipelines
#                                   (default schedule and Li2018) and CPU pipelines,
#                                   examples/classify built against `netc compile
#                                   --target cuda`'s output, and MNIST
#   tools/gpu-check.sh run [BUNDLE] there, in a copy of the repository with the bundle
#                                   carried along: one CUDA training step against the
#                                   CPU's (<= 1e-4 relative), Model A's 3000 steps on
#                                   the GPU timed with evaluation, and PyTorch training
#                                   the same network with the same settings in the same
#                                   run; netc bench --target cuda; the compiled classify
#                                   on the GPU against netc eval on the CPU; prints a
#                                   table, also written to $OUT/gpu-check.md ($OUT
#                                   defaults to /tmp/gpu-check).
#
# The GPU machine has no Halide: netc runs there only from the compile cache,
# which it finds by the same keys as here (the graph and schedule files, the
# compiler library's fingerprint, the Halide target). NETC_HOST_TARGET pins the
# CPU part of those targets to what every x86-64 host of an H200 has (AVX2,
# FMA), so that the code compiled here runs there.
set -euo pipefail
cd "$(dirname "$0")/.."

export NETC_HOST_TARGET=x86-64-linux-avx-avx2-f16c-fma-sse41
GRAPH=graphs/model_a.yaml
LI2018=schedules/cuda/li2018.yaml
MNIST_FILES=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

prepare() {
  local bundle=build/gpu-bundle
  tools/build.sh
  rm -rf "$bundle"
  mkdir -p "$bundle/bin" "$bundle/lib" "$bundle/data"
  cp build/bin/netc "$bundle/bin/"
  # Read (fingerprinted) by netc there to find the cache entries, never loaded.
  cp build/lib/libnetc_compiler.so "$bundle/lib/"
  # What netc and the compiled models link besides glibc itself.
  for lib in libfmt.so.9 libyaml-cpp.so.0.7 libz.so.1 libstdc++.so.6 libgcc_s.so.1; do
    cp -L "$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ {print $NF; exit}')" "$bundle/lib/"
  done

  export NETC_CACHE_DIR="$PWD/$bundle/cache"
  # MNIST: fetched into netc's data set cache by a run that trains nothing
  # (and compiles the CPU pipelines), then carried compressed (netc reads .gz).
  build/bin/netc train "$GRAPH" --iterations 0 >/dev/null
  local mnist="${NETC_DATA_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/netc/datasets}/mnist"
  for f in "${MNIST_FILES[@]}"; do gzip -9 -c "$mnist/$f" >"$bundle/data/$f.gz"; done

  # The CUDA pipelines: compiling them needs no GPU; netc then exits 1 here,
  # where no GPU is, with the pipelines cached.
  for schedule in "" "$LI2018"; do
    build/bin/netc train "$GRAPH" --data "$bundle/data" --iterations 0 --target cuda \
      ${schedule:+--schedule "$schedule"} >/dev/null 2>&1 || true
  done
  local entries
  entries=$(ls "$bundle/cache/models" | grep -c -- '-cuda-' || true)
  [[ "$entries" == 2 ]] || { echo "gpu-check: expected 2 CUDA cache entries, found $entries" >&2; exit 1; }

  # netc compile --target cuda, and a program built against its output alone.
  build/bin/netc compile "$GRAPH" --target cuda -o build/gpu-aot
  cmake -S examples/classify -B build/gpu-classify -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$PWD/build/gpu-aot" >/dev/null
  cmake --build build/gpu-classify >/dev/null
  cp build/gpu-classify/classify "$bundle/bin/classify-cuda"

  echo "gpu-check: the bundle holds $(du -sh "$bundle" | cut -f1) in $(find "$bundle" -type f | wc -l) files:"
  (cd "$bundle" && find . -type f | sort | sed 's/^/  /')
  echo "gpu-check: netc and its models need glibc $(objdump -T build/bin/netc "$bundle"/cache/models/*/model.so |
    grep -o 'GLIBC_[0-9.]*' | sort -t. -k2,2n -u | tail -1 | cut -d_ -f2) or newer there"
  local size
  size=$(du -sm "$bundle" | cut -f1)
  ((size < 60)) || { echo "gpu-check: the bundle is $size MiB, more than may travel" >&2; exit 1; }
  echo "gpu-check: ready; run it on the GPU machine as docs/gpu.md says"
}

# netc train GRAPH with the data and the arguments after NAME; its stdout goes
# to $out/NAME.txt, its stderr to $out/NAME.log, shown if it fails.
netc_train() {
  local name=$1
  shift
  "$netc" train "$GRAPH" --data "$data" "$@" >"$out/$name.txt" 2>"$out/$name.log" || {
    cat "$out/$name.log"
    status=1
  }
}

# Compares the CUDA step with the CPU's: the loss of step 1 and every
# parameter after it, relative to the largest value of each tensor.
compare_steps() {
  python3 - "$out" <<'PYTHON'
import json, sys
sys.path.insert(0, "tools")
import numpy as np
import netc_torch
out = sys.argv[1]
loss = {t: json.loads(open(f"{out}/step1_{t}.jsonl").readline())["loss"] for t in ("host", "cuda")}
worst = abs(loss["cuda"] - loss["host"]) / abs(loss["host"])
print(f"loss of step 1: host {loss['host']:.7f}, cuda {loss['cuda']:.7f}, relative difference {worst:.2e}")
p0, host, cuda = (netc_torch.load_safetensors(f"{out}/{n}.safetensors", as_torch=False)
                  for n in ("step0", "step1_host", "step1_cuda"))
for name in host:
    diff = float(np.abs(cuda[name] - host[name]).max())
    rel = diff / float(np.abs(host[name]).max())
    update = float(np.abs(host[name] - p0[name]).max())
    print(f"{name:12s} max |cuda - host| {diff:.2e}: {rel:.2e} of the largest value, "
          f"{diff / update if update else 0:.2e} of the largest update")
    worst = max(worst, rel)
print("PASS" if worst <= 1e-4 else "FAIL", f"(worst relative difference {worst:.2e}, limit 1e-4)")
sys.exit(0 if worst <= 1e-4 else 1)
PYTHON
}

# examples/classify compiled for CUDA (netc compile) on the GPU against
# netc eval on the CPU, with the weights of a CUDA training run.
compare_classify() {
  python3 - "$out" <<'PYTHON'
import json, sys
out = sys.argv[1]
gpu, cpu = json.load(open(f"{out}/classify_cuda.json")), json.load(open(f"{out}/eval_host.json"))
loss_diff = abs(gpu["loss"] - cpu["test_loss"]) / cpu["test_loss"]
ok = abs(gpu["accuracy"] - cpu["test_accuracy"]) <= 0.05 and loss_diff <= 1e-4
print(f"classify (netc compile --target cuda) on the GPU: {gpu['accuracy']:.2f}%, loss {gpu['loss']:.6f}; "
      f"netc eval on the CPU: {cpu['test_accuracy']:.2f}%, loss {cpu['test_loss']:.6f}: {'PASS' if ok else 'FAIL'}")
sys.exit(0 if ok else 1)
PYTHON
}

# The table of the timed runs, from their outputs.
report() {
  python3 - "$out" "$(nproc)" <<'PYTHON'
import json, re, sys
import torch
out, threads = sys.argv[1], sys.argv[2]
rows = []
def netc(name, what):
    text = open(f"{out}/{name}.txt").read()
    m = re.search(r"test accuracy ([0-9.]+)%.*after (\d+) steps; ([0-9.]+) s of training", text)
    rows.append((what, m.group(2), m.group(3), m.group(1)) if m else (what, "?", "failed", "?"))
netc("cuda_run1", "netc, CUDA, default schedule (first run)")
netc("cuda_run2", "netc, CUDA, default schedule (second run)")
netc("li2018", "netc, CUDA, Li2018 autoschedule")
for line in open(f"{out}/torch.jsonl"):
    r = json.loads(line)
    rows.append((f"PyTorch {torch.__version__}, CUDA, eager ({'first' if r['run'] == 1 else 'second'} run)",
                 str(r["steps"]), f"{r['seconds']:.2f}", f"{r['test_accuracy']:.2f}"))
netc("host_300", f"netc, CPU, {threads} threads")
print("| Model A, batch 100, lr 0.01 | steps | seconds of training | test accuracy % |")
print("|---|---|---|---|")
for row in rows:
    print("| " + " | ".join(row) + " |")
PYTHON
}

run() {
  local bundle=${1:-build/gpu-bundle}
  out=${OUT:-/tmp/gpu-check}
  netc="$bundle/bin/netc"
  data="$bundle/data"
  status=0
  mkdir -p "$out"
  export NETC_CACHE_DIR="$PWD/$bundle/cache"
  export LD_LIBRARY_PATH="$PWD/$bundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
  echo "CPU threads: $(nproc)"

  echo "== one training step: CUDA against the CPU"
  netc_train step0 --iterations 0 --save "$out/step0.safetensors"
  for target in host cuda; do
    netc_train "step1_$target" --target "$target" --iterations 1 --no-shuffle --eval-every 0 \
      --save "$out/step1_$target.safetensors" --metrics "$out/step1_$target.jsonl"
  done
  compare_steps || status=1

  echo "== Model A: 3000 steps of 100 images, evaluation every 500 steps"
  # Twice: the first run also pays for the driver's compiling the PTX (which
  # it caches), the second does not.
  netc_train cuda_run1 --target cuda --metrics "$out/cuda_run1.jsonl"
  netc_train cuda_run2 --target cuda --metrics "$out/cuda_run2.jsonl" --save "$out/model_a.safetensors"
  netc_train li2018 --target cuda --schedule "$LI2018"
  netc_train host_300 --iterations 300 --eval-every 0
  PYTHONUNBUFFERED=1 NETC_BINARY="$netc" python3 tools/torch_train_bench.py --graph "$GRAPH" --data "$data" --runs 2 \
    >"$out/torch.jsonl" 2>"$out/torch.log" || { cat "$out/torch.log"; status=1; }
  cat "$out/cuda_run1.txt" "$out/cuda_run2.txt" "$out/li2018.txt" "$out/host_300.txt" "$out/torch.jsonl"
  report | tee "$out/gpu-check.md" || status=1

  echo "== netc bench --target cuda"
  "$netc" bench "$GRAPH" --target cuda --steps 20 2>"$out/bench.log" | tee -a "$out/gpu-check.md" ||
    { cat "$out/bench.log"; status=1; }

  echo "== netc compile --target cuda: examples/classify on the GPU"
  mkdir -p "$out/mnist"
  for f in t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do gzip -dc "$data/$f.gz" >"$out/mnist/$f"; done
  "$bundle/bin/classify-cuda" "$out/model_a.safetensors" "$out/mnist/t10k-images-idx3-ubyte" \
    "$out/mnist/t10k-labels-idx1-ubyte" --json >"$out/classify_cuda.json" 2>"$out/classify.log" &&
    "$netc" eval "$GRAPH" --weights "$out/model_a.safetensors" --data "$data" --json >"$out/eval_host.json" &&
    compare_classify | tee -a "$out/gpu-check.md" || { cat "$out/classify.log"; status=1; }
  return $status
}

case "${1:-}" in
  prepare) prepare ;;
  run) shift; run "$@" ;;
  *) echo "usage: tools/gpu-check.sh prepare | run [BUNDLE]" >&2; exit 2 ;;
esac
