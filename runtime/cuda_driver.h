// The CUDA driver, checked before any compiled GPU code runs: the Halide
// runtime inside a model aborts the process when the driver is missing, and
// a clear message is better than a crash.
#pragma once

#include <string>

namespace netc {

// Loads the CUDA driver library (libcuda.so.1) into the process for good,
// where the Halide runtime of compiled models finds it, and checks that it
// initializes and sees the GPU the Halide runtime will use (HL_GPU_DEVICE,
// else 0), one that runs sm_80 code. Returns a description ("GPU 0: NVIDIA
// H200, compute capability 9.0, driver 13.0"); throws
// std::runtime_error saying what is missing. Checks once per process.
const std::string& require_cuda_device();

// One GPU per rank of a data-parallel job: local rank k of a host uses GPU k
// unless HL_GPU_DEVICE says otherwise. Call before require_cuda_device().
void use_gpu_of_local_rank(int local_rank);

}  // namespace netc
