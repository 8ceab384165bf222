// CRC-32C (Castagnoli): the checksum of every index file vecdex writes (docs/format/*.md).
// Chosen over CRC-32 for its SSE4.2 instruction: checksumming a multi-gigabyte file on load costs
// well under a second.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vecdex {

// CRC-32C of `n` bytes (reflected polynomial 0x82F63B78, initial value and final xor
// 0xFFFFFFFF; Crc32c("123456789", 9) == 0xE3069283). Uses the SSE4.2 instruction when the CPU
// has it, a table otherwise; both give the same value. Thread-safe.
uint32_t Crc32c(const void* data, size_t n);
// Continues `crc`, the Crc32c of some prefix, over `n` more bytes: Crc32cExtend(Crc32c(a), b)
// == Crc32c(a + b), and Crc32cExtend(0, b) == Crc32c(b).
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n);

}  // namespace vecdex
