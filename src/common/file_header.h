// The opening every vecdex file format shares (docs/format/*.md), so a reader can tell a file of
// another kind, a damaged file and a file from a newer build apart before trusting anything else:
//
//   offset 0   8 bytes  magic (names the kind, e.g. "VDXHNSW1")
//   offset 8   u32      format version
//   offset 12  u32      header size H (a multiple of 4, 16..65536)
//   ...                 the kind's fields
//   offset H-4 u32      CRC-32C of bytes 0..H-5
//
// Every version of every kind keeps this shape, which is what lets a newer file be recognised
// as newer: its header checksum is valid, its version is not one this build knows.
#pragma once

#include <cstdint>
#include <string>

#include "vecdex/status.h"

namespace vecdex {

// Checks the shared opening of `data` (the whole file, `size` bytes) against the kind's magic
// (8 bytes), the one version this build reads and that version's header size. Errors name the
// file as "<kind> <path>: ...": Corruption (truncated, bad magic, bad header size, header
// checksum mismatch), FailedPrecondition (a well-formed header of another version).
Status CheckFileHeader(const uint8_t* data, uint64_t size, const char* magic, uint32_t version,
                       uint32_t header_bytes, const std::string& kind, const std::string& path);

}  // namespace vecdex
