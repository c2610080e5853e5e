// Vectors whose data is 128-byte aligned. Compiled pipelines use aligned
// vector loads and stores on the buffers they are given (AVX-512 ones need
// 64 bytes), so every buffer the runtime passes in is one of these.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <new>
#include <vector>

namespace netc {

inline constexpr size_t kBufferAlignment = 128;

template <typename T>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() = default;
  template <typename U>
  AlignedAllocator(const AlignedAllocator<U>&) {}

  T* allocate(size_t n) {
    size_t bytes = (n * sizeof(T) + kBufferAlignment - 1) / kBufferAlignment * kBufferAlignment;
    void* p = std::aligned_alloc(kBufferAlignment, bytes ? bytes : kBufferAlignment);
    if (!p) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) { std::free(p); }

  template <typename U>
  bool operator==(const AlignedAllocator<U>&) const { return true; }
  template <typename U>
  bool operator!=(const AlignedAllocator<U>&) const { return false; }
};

template <typename T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

inline bool is_aligned(const void* p) { return reinterpret_cast<uintptr_t>(p) % kBufferAlignment == 0; }

}  // namespace netc
