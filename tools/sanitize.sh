#!/usr/bin/env bash
# The test suite built with AddressSanitizer and UndefinedBehaviorSanitizer
# (gcc) into build-asan/: a memory error, a leak or undefined behaviour in
# netc's code fails the test that ran it. Arguments go to ctest (default: the
# whole suite, as tools/test.sh runs it in build/).
#
# libHalide, yaml-cpp, zlib and the Halide-generated pipelines are not
# instrumented; calls into them are still checked at the boundary (their
# allocations go through ASan's malloc). Compiling pipelines in-process under
# ASan works but is slower, so the suite takes about three times as long.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
# -O1 with line tables: half the compile time of -O2 -g, and reports still
# name file and line.
cmake -S . -B build-asan -G Ninja -DNETC_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" >/dev/null
cmake --build build-asan --parallel "$(nproc)"

# Any report ends the program with an error; leaks are reported at exit.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
# Halide compiles on a large stack of its own, switched to with swapcontext,
# which ASan does not support: once in a while LeakSanitizer's exit check then
# crashed ("Tracer caught signal 11", after a compile in parity_residual_mix).
# Size 0 compiles on the thread's own stack, ample for netc's pipelines.
export HL_COMPILER_STACK_SIZE=0
# Pipelines compiled by this build are cached apart: the cache key names the
# netc build, so sharing build/'s cache would only mix entries.
export NETC_CACHE_DIR="$PWD/build-asan/test-cache"
cd build-asan
ctest --output-on-failure --parallel "$(nproc)" "$@"
