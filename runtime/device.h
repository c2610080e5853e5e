// Memory on the GPU of a compiled model for a GPU target, managed through
// the Halide runtime inside its model.so (functions found with dlsym: the
// runtime never links Halide). Buffers here live on the device only; data
// crosses to and from the host by explicit copies.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "HalideRuntime.h"
#include "compiled_model.h"

namespace netc {

class Device;

// A halide_buffer_t with memory on the device only (host is null), dense,
// dimension 0 innermost.
class DeviceBuffer {
 public:
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  halide_buffer_t* raw() { return &buffer_; }
  int64_t elements() const;

 private:
  friend class Device;
  DeviceBuffer(const Device& device, halide_type_t type, const std::vector<int>& extents);

  const Device& device_;
  std::vector<halide_dimension_t> dims_;
  halide_buffer_t buffer_{};
  bool view_ = false;  // shares another buffer's memory (released, not freed)
};

class Device {
 public:
  // The device runtime of `model` (which must outlive this and every buffer).
  explicit Device(const CompiledModel& model);
  // Releases the device (the GPU context) once every buffer is gone.
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  // A buffer of `type` with Halide extents `extents`, allocated on the device.
  std::unique_ptr<DeviceBuffer> allocate(halide_type_t type, const std::vector<int>& extents) const;
  // Copies buffer.elements() values from `host` to the device, or back.
  void upload(DeviceBuffer& buffer, const void* host) const;
  void download(DeviceBuffer& buffer, void* host) const;
  // A 0-dimensional view of element `index` of a 1-dimensional buffer.
  std::unique_ptr<DeviceBuffer> element(DeviceBuffer& buffer, int index) const;

 private:
  friend class DeviceBuffer;
  template <typename F>
  F function(const char* name) const;
  // A host-side halide_buffer_t over `host` shaped like `like`.
  static halide_buffer_t host_view(const DeviceBuffer& like, void* host);

  const CompiledModel& model_;
  const halide_device_interface_t* interface_ = nullptr;
  int (*malloc_)(void*, halide_buffer_t*, const halide_device_interface_t*) = nullptr;
  int (*free_)(void*, halide_buffer_t*) = nullptr;
  int (*copy_)(void*, halide_buffer_t*, const halide_device_interface_t*, halide_buffer_t*) = nullptr;
  int (*slice_)(void*, const halide_buffer_t*, int, int, halide_buffer_t*) = nullptr;
  int (*release_crop_)(void*, halide_buffer_t*) = nullptr;
  void (*release_)(void*, const halide_device_interface_t*) = nullptr;
};

}  // namespace netc
