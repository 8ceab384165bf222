// How the store encodes what SQLite does not check for us: vectors as little-endian float32
// blobs, a CRC32C over every row (SQLite has no page checksums, so a flipped bit inside a
// record would otherwise be served as data), and a scan of the WAL file that notices committed
// frames SQLite would silently drop after a damaged frame. docs/format/store.md is the spec.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vecdex/point.h"
#include "vecdex/status.h"

namespace vecdex::store {

static_assert(std::endian::native == std::endian::little, "the store writes float32 blobs in host order");

// Incrementally checksums the fields of a row. Each field is length-prefixed so that moving a
// byte from one field to its neighbour changes the result.
class RowChecksum {
 public:
  RowChecksum& Int(int64_t value);
  RowChecksum& Bytes(std::span<const uint8_t> bytes);
  RowChecksum& Text(std::string_view text);
  RowChecksum& Null();  // a NULL column differs from an empty one
  // Stored as a non-negative INTEGER so the sqlite3 shell shows it plainly.
  int64_t value() const { return static_cast<int64_t>(crc_); }

 private:
  uint32_t crc_ = 0;
};

// Row checksums, one definition each, shared by writers and readers.
int64_t PointRowChecksum(int64_t id, const PointKey& key, std::span<const uint8_t> vector_blob, bool has_payload,
                         std::string_view payload, int64_t seq);
int64_t ChangeRowChecksum(int64_t seq, int64_t op, int64_t point_id);
int64_t MetaRowChecksum(std::string_view key, std::span<const uint8_t> value);

// The bytes of a vector blob (little-endian float32, no header).
inline std::span<const uint8_t> VectorBlob(std::span<const float> vector) {
  return {reinterpret_cast<const uint8_t*>(vector.data()), vector.size() * sizeof(float)};
}

// Reads `path` (a SQLite WAL file; a missing file is fine) and returns Corruption naming
// `file_label` when it holds committed transactions that SQLite's recovery would silently drop:
// a damaged header with frames after it; a frame whose checksum chains but whose salts are
// damaged; or a break in the checksum chain followed by two or more commits of the current
// generation. One commit after the break is what a process killed mid-commit leaves (that
// transaction was never acknowledged), so it passes; the cost is that damage confined to the
// last transaction of the WAL looks the same and is not detected.
Status CheckWalFile(const std::string& path, const std::string& file_label);

}  // namespace vecdex::store
