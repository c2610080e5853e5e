#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz into build-fuzz/ (clang,
# AddressSanitizer + UndefinedBehaviorSanitizer) and runs each one for a
# bounded time, starting from its seed corpus.
#
#   tools/fuzz.sh [SECONDS] [HARNESS...]   SECONDS per harness (default 60); harnesses
#                                          as in max_len below (default: all)
#
# Inputs that reach new code are kept in build-fuzz/corpus/<harness>/, so a
# later run goes on from there. A crash, sanitizer report, leak, timeout or
# failed harness check leaves the input in build-fuzz/artifacts/ and makes the
# script fail, after the other harnesses ran; copy such an input to
# tests/fuzz/corpus/<harness>/regress-<what> once fixed, so that the test
# suite replays it (ctest -L fuzz-corpus).
set -euo pipefail
cd "$(dirname "$0")/.."

# Every harness (tests/fuzz/fuzz_<name>.cpp) with the largest input it is
# given: a few times its largest sensible file, small enough to keep
# executions fast. A new harness needs a line here.
declare -A max_len=(
  [graph]=4096
  [idx]=2048
  [image]=4096
  [gzip]=8192
  [safetensors]=4096
  [schedule]=4096
  [checkpoint]=2048
  [onnx]=8192
)

seconds=${1:-60}
shift || true
mapfile -t all_harnesses < <(printf '%s\n' "${!max_len[@]}" | sort)
harnesses=("${@:-${all_harnesses[@]}}")
for h in "${harnesses[@]}"; do
  [ -n "${max_len[$h]:-}" ] || { echo "fuzz.sh: unknown harness '$h'; known: ${all_harnesses[*]}" >&2; exit 2; }
done

tools/install-deps.sh
# -O1 with line tables, as OSS-Fuzz builds: quick to compile, reports name file and line.
cmake -S . -B build-fuzz -G Ninja -DNETC_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" >/dev/null
cmake --build build-fuzz --parallel "$(nproc)" --target "${harnesses[@]/#/fuzz_}"

mkdir -p build-fuzz/artifacts
failed=()
summary=()
for h in "${harnesses[@]}"; do
  corpus=build-fuzz/corpus/$h
  mkdir -p "$corpus"
  options=(
    -max_total_time="$seconds" -max_len="${max_len[$h]}"
    -rss_limit_mb=2048     # the whole process
    -malloc_limit_mb=512   # one allocation: bad headers must not size buffers
    -timeout=20            # one input, in seconds: a hang is a defect
    -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$h-"
  )
  [ -f "tests/fuzz/$h.dict" ] && options+=(-dict="tests/fuzz/$h.dict")
  log=build-fuzz/fuzz-$h.log
  echo "fuzz.sh: $h for ${seconds} s (log: $log)"
  # New inputs go to the first folder; the repository's corpus is only read.
  status=0
  "build-fuzz/bin/fuzz_$h" "${options[@]}" "$corpus" "tests/fuzz/corpus/$h" >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  summary+=("$(printf '%-12s %12s executions %8s exec/s  %s' "$h" "${runs:-?}" "${rate:-?}" \
    "$([ $status -eq 0 ] && echo ok || echo FAILED)")")
  if [ $status -ne 0 ]; then
    failed+=("$h")
    tail -n 40 "$log" >&2
  fi
done

printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: defects found by: ${failed[*]} (inputs in build-fuzz/artifacts/)" >&2
  exit 1
fi
