// Memory on the GPU of a compiled model for a GPU target, managed through
// the Halide runtime inside its model.so (functions found with dlsym: the
// runtime never links Halide).
//
// Every buffer has device memory and a host mirror, kept consistent by
// Halide's dirty flags: a schedule that runs a stage on the host (Li2018
// leaves the scalar loss there) has Halide copy what that stage reads or
// writes, and nothing else ever crosses. Data crosses only through upload()
// and download() otherwise.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "HalideRuntime.h"
#include "aligned.h"
#include "compiled_model.h"

namespace netc {

class Device;

// A dense halide_buffer_t, dimension 0 innermost, on the device and mirrored
// on the host.
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
  AlignedVector<uint8_t> host_;  // the mirror (pipelines need 128-byte aligned host memory)
  halide_buffer_t buffer_{};
  bool view_ = false;  // shares another buffer's device memory (released, not freed)
};

class Device {
 public:
  // The device runtime of `model` (which must outlive this and every buffer).
  explicit Device(const CompiledModel& model);
  // Releases the device (the GPU context) once every buffer is gone.
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  // A buffer of `type` with Halide extents `extents`, allocated on the device
  // and mirrored in host memory of its own.
  std::unique_ptr<DeviceBuffer> allocate(halide_type_t type, const std::vector<int>& extents) const;
  // Copies buffer.elements() values from `host` to the buffer, or back.
  void upload(DeviceBuffer& buffer, const void* host) const;
  void download(DeviceBuffer& buffer, void* host) const;
  // A 0-dimensional view of element `index` of a 1-dimensional buffer, with
  // `*host` as its host mirror.
  std::unique_ptr<DeviceBuffer> element(DeviceBuffer& buffer, int index, float* host) const;

 private:
  friend class DeviceBuffer;
  template <typename F>
  F function(const char* name) const;

  const CompiledModel& model_;
  const halide_device_interface_t* interface_ = nullptr;
  int (*malloc_)(void*, halide_buffer_t*, const halide_device_interface_t*) = nullptr;
  int (*free_)(void*, halide_buffer_t*) = nullptr;
  int (*copy_to_device_)(void*, halide_buffer_t*, const halide_device_interface_t*) = nullptr;
  int (*copy_to_host_)(void*, halide_buffer_t*) = nullptr;
  int (*slice_)(void*, const halide_buffer_t*, int, int, halide_buffer_t*) = nullptr;
  int (*release_crop_)(void*, halide_buffer_t*) = nullptr;
  void (*release_)(void*, const halide_device_interface_t*) = nullptr;
};

}  // namespace netc
