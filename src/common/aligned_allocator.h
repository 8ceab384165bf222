// An allocator whose blocks start on a cache line, for vector data that SIMD kernels and
// hardware prefetchers stream through.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace vecdex {

inline constexpr size_t kCacheLine = 64;

template <typename T, size_t Alignment = kCacheLine>
struct AlignedAllocator {
  using value_type = T;
  template <typename U>
  struct rebind {
    using other = AlignedAllocator<U, Alignment>;
  };
  AlignedAllocator() = default;
  template <typename U>
  AlignedAllocator(const AlignedAllocator<U, Alignment>&) {}  // NOLINT: rebinding copy

  T* allocate(size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(Alignment)));
  }
  void deallocate(T* p, size_t) { ::operator delete(p, std::align_val_t(Alignment)); }
  template <typename U>
  bool operator==(const AlignedAllocator<U, Alignment>&) const { return true; }
};

template <typename T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

}  // namespace vecdex
