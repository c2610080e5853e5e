// The Halide target of a --target name, worked out without Halide: the
// compiler compiles for it and the compile cache is keyed by it, so a
// cached model is found without loading the compiler.
#pragma once

#include <string>

namespace netc {

// The CUDA capability GPU code is compiled for: sm_80's PTX, which the driver
// also compiles for newer GPUs (an H200 is sm_90).
inline constexpr int kCudaCapability = 80;

// Halide's target string for `target` ("host" or "cuda"):
//  - host: this machine as Halide::get_host_target() describes it (the x86
//    features found by cpuid, in the same way), or $NETC_HOST_TARGET when set
//    (e.g. x86-64-linux-avx-avx2-f16c-fma-sse41, to compile for and run on
//    machines with other CPUs; its arch-bits-os must be this machine's, and each
//    x86 feature it names this CPU's);
//  - cuda: the host's plus cuda and cuda_capability_80.
// `profile` or $NETC_PROFILE adds Halide's sampling profiler. Features are in Halide's order
// (alphabetical), so that equal targets give equal strings. A bad
// $NETC_HOST_TARGET is an InputError.
std::string halide_target_string(const std::string& target, bool profile = false);

}  // namespace netc
