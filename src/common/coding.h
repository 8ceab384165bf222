// Fixed-width little-endian fields of the file formats (docs/format/*.md): memcpy, because
// file offsets carry no alignment guarantee.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

namespace vecdex::coding {

static_assert(std::endian::native == std::endian::little, "the file formats are little-endian; add byte swaps");

template <typename T>
void Put(uint8_t* at, T value) {
  std::memcpy(at, &value, sizeof(T));
}
template <typename T>
T Get(const uint8_t* at) {
  T value;
  std::memcpy(&value, at, sizeof(T));
  return value;
}

}  // namespace vecdex::coding
