#include "device.h"

#include <cstring>

#include <fmt/format.h>

namespace netc {

DeviceBuffer::DeviceBuffer(const Device& device, halide_type_t type, const std::vector<int>& extents)
    : device_(device), dims_(extents.size()) {
  int stride = 1;
  for (size_t d = 0; d < extents.size(); ++d) {
    dims_[d] = halide_dimension_t(0, extents[d], stride);
    stride *= extents[d];
  }
  buffer_.type = type;
  buffer_.dimensions = int(dims_.size());
  buffer_.dim = dims_.empty() ? nullptr : dims_.data();
}

DeviceBuffer::~DeviceBuffer() {
  if (!buffer_.device) return;
  // Errors while freeing cannot be reported from a destructor; the GPU
  // context is released with the Device anyway.
  if (view_)
    device_.release_crop_(nullptr, &buffer_);
  else
    device_.free_(nullptr, &buffer_);
}

int64_t DeviceBuffer::elements() const {
  int64_t n = 1;
  for (const halide_dimension_t& d : dims_) n *= d.extent;
  return n;
}

template <typename F>
F Device::function(const char* name) const {
  auto f = reinterpret_cast<F>(model_.runtime_function(name));
  if (!f) throw std::runtime_error(fmt::format("{} has no {}", model_.manifest().library, name));
  return f;
}

Device::Device(const CompiledModel& model) : model_(model) {
  const std::string api = model.manifest().target;  // "cuda": halide_cuda_device_interface
  interface_ = function<const halide_device_interface_t* (*)()>(fmt::format("halide_{}_device_interface", api).c_str())();
  malloc_ = function<decltype(malloc_)>("halide_device_malloc");
  free_ = function<decltype(free_)>("halide_device_free");
  copy_to_device_ = function<decltype(copy_to_device_)>("halide_copy_to_device");
  copy_to_host_ = function<decltype(copy_to_host_)>("halide_copy_to_host");
  slice_ = function<decltype(slice_)>("halide_device_slice");
  release_crop_ = function<decltype(release_crop_)>("halide_device_release_crop");
  release_ = function<decltype(release_)>("halide_device_release");
  // Pipelines allocate their intermediate buffers on every call; reusing
  // them spares a cuMemAlloc and a synchronizing cuMemFree per buffer.
  model.check(function<int (*)(void*, bool)>("halide_reuse_device_allocations")(nullptr, true),
              "reusing device allocations");
}

Device::~Device() { release_(nullptr, interface_); }

std::unique_ptr<DeviceBuffer> Device::allocate(halide_type_t type, const std::vector<int>& extents) const {
  std::unique_ptr<DeviceBuffer> b(new DeviceBuffer(*this, type, extents));
  b->host_.resize(size_t(b->elements()) * type.bytes());
  b->buffer_.host = b->host_.data();
  model_.check(malloc_(nullptr, b->raw(), interface_), fmt::format("allocating {} values on the GPU", b->elements()));
  return b;
}

void Device::upload(DeviceBuffer& buffer, const void* host) const {
  halide_buffer_t& b = buffer.buffer_;
  std::memcpy(b.host, host, size_t(buffer.elements()) * b.type.bytes());
  b.set_device_dirty(false);  // the new values replace whatever was on either side
  b.set_host_dirty(true);
  model_.check(copy_to_device_(nullptr, &b, interface_), "copying to the GPU");
}

void Device::download(DeviceBuffer& buffer, void* host) const {
  halide_buffer_t& b = buffer.buffer_;
  model_.check(copy_to_host_(nullptr, &b), "copying from the GPU");  // only if the device's copy is newer
  std::memcpy(host, b.host, size_t(buffer.elements()) * b.type.bytes());
}

std::unique_ptr<DeviceBuffer> Device::element(DeviceBuffer& buffer, int index, float* host) const {
  std::unique_ptr<DeviceBuffer> view(new DeviceBuffer(*this, buffer.raw()->type, {}));
  model_.check(slice_(nullptr, buffer.raw(), 0, index, view->raw()), "taking a view of GPU memory");
  view->view_ = true;
  view->buffer_.host = reinterpret_cast<uint8_t*>(host);
  view->buffer_.flags = 0;
  return view;
}

}  // namespace netc
