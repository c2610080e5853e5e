#include "cuda_driver.h"

#include <dlfcn.h>

#include <charconv>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "host_target.h"
#include "input_error.h"

namespace netc {
namespace {

// The few driver API functions needed, declared here: no CUDA header is
// needed to build netc.
using CuInit = int (*)(unsigned);
using CuDeviceGetCount = int (*)(int*);
using CuDeviceGet = int (*)(int*, int);
using CuDeviceGetName = int (*)(char*, int, int);
using CuDeviceGetAttribute = int (*)(int*, int, int);
using CuDriverGetVersion = int (*)(int*);
using CuGetErrorString = int (*)(int, const char**);
constexpr int kComputeCapabilityMajor = 75, kComputeCapabilityMinor = 76;  // CUdevice_attribute

template <typename F>
F symbol(void* library, const char* name) {
  auto f = reinterpret_cast<F>(dlsym(library, name));
  if (!f) throw std::runtime_error(fmt::format("the CUDA driver library has no {}", name));
  return f;
}

// The GPU the Halide runtime will use: HL_GPU_DEVICE's, else the first.
// Halide reads the variable with atoi, which takes "abc" for GPU 0: netc
// holds it to a plain non-negative number first.
int chosen_device() {
  const char* text = std::getenv("HL_GPU_DEVICE");
  if (!text || !*text) return 0;
  const std::string value = text;
  int ordinal = -1;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), ordinal);
  if (error != std::errc() || end != value.data() + value.size() || ordinal < 0)
    throw InputError(fmt::format("HL_GPU_DEVICE must be a GPU number (0, 1, ...), not '{}'", value.substr(0, 64)));
  return ordinal;
}

std::string check_device() {
  const int ordinal = chosen_device();  // bad input before a missing driver
  // RTLD_GLOBAL: the Halide runtime looks the driver's functions up in the
  // whole process before it tries to open "libcuda.so", which a machine with
  // only the driver (libcuda.so.1) lacks.
  void* library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
  if (!library) {
    throw std::runtime_error(fmt::format("--target cuda needs an NVIDIA GPU and its driver, and this machine has no "
                                         "CUDA driver ({})",
                                         dlerror()));
  }
  auto error_text = [&](int code) {
    const char* text = nullptr;
    auto get_error_string = reinterpret_cast<CuGetErrorString>(dlsym(library, "cuGetErrorString"));
    if (get_error_string) get_error_string(code, &text);
    return fmt::format("CUDA error {}{}", code, text ? std::string(": ") + text : "");
  };
  if (int err = symbol<CuInit>(library, "cuInit")(0))
    throw std::runtime_error(fmt::format("--target cuda: the CUDA driver does not start ({})", error_text(err)));
  int count = 0;
  if (int err = symbol<CuDeviceGetCount>(library, "cuDeviceGetCount")(&count))
    throw std::runtime_error(fmt::format("--target cuda: cannot count the GPUs ({})", error_text(err)));
  if (count == 0) throw std::runtime_error("--target cuda: the CUDA driver sees no GPU");
  if (ordinal >= count)
    throw std::runtime_error(fmt::format("--target cuda: HL_GPU_DEVICE is {}, but the CUDA driver sees GPUs 0 to {}",
                                         ordinal, count - 1));
  int device = 0, major = 0, minor = 0, driver = 0;
  char name[256] = {};
  symbol<CuDeviceGet>(library, "cuDeviceGet")(&device, ordinal);
  symbol<CuDeviceGetName>(library, "cuDeviceGetName")(name, int(sizeof name) - 1, device);
  symbol<CuDeviceGetAttribute>(library, "cuDeviceGetAttribute")(&major, kComputeCapabilityMajor, device);
  symbol<CuDeviceGetAttribute>(library, "cuDeviceGetAttribute")(&minor, kComputeCapabilityMinor, device);
  symbol<CuDriverGetVersion>(library, "cuDriverGetVersion")(&driver);
  if (major * 10 + minor < kCudaCapability)
    throw std::runtime_error(fmt::format("--target cuda: {} has compute capability {}.{}; netc compiles for {}.{} "
                                         "and newer",
                                         name, major, minor, kCudaCapability / 10, kCudaCapability % 10));
  return fmt::format("GPU {}: {}, compute capability {}.{}, driver {}.{}", ordinal, name, major, minor,
                     driver / 1000, driver % 1000 / 10);
}

}  // namespace

const std::string& require_cuda_device() {
  static const std::string description = check_device();
  return description;
}

void use_gpu_of_local_rank(int local_rank) {
  // Halide's runtime reads HL_GPU_DEVICE when it first creates a context,
  // after this; without it, it would give every rank the same GPU.
  if (!std::getenv("HL_GPU_DEVICE")) setenv("HL_GPU_DEVICE", std::to_string(local_rank).c_str(), 1);
}

}  // namespace netc
