// The CUDA driver, checked before any compiled GPU code runs: the Halide
// runtime inside a model aborts the process when the driver is missing, and
// a clear message is better than a crash.
#pragma once

#include <string>

namespace netc {

// Loads the CUDA driver library (libcuda.so.1) into the process for good,
// where the Halide runtime of compiled models finds it, and checks that it
// initializes and sees a GPU that runs sm_80 code. Returns a description
// ("NVIDIA H200, compute capability 9.0, driver 13.0"); throws
// std::runtime_error saying what is missing. Checks once per process.
const std::string& require_cuda_device();

}  // namespace netc
