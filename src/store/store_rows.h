// How points map onto rows of the `points` table, shared by the store's read and write paths.
#pragma once

#include <bit>
#include <cstdint>
#include <span>
#include <string>

#include "store/sqlite.h"
#include "store/store.h"
#include "store/store_schema.h"
#include "vecdex/point.h"

namespace vecdex::store {

// Columns every point query selects, in this order; DecodePointRow reads them by position.
#define VECDEX_POINT_COLUMNS "id, key_int, key_str, vector, payload, seq, crc"

// SQLite integers are signed: an integer key is stored as the int64 with the same bits, so keys
// >= 2^63 appear negative in the sqlite3 shell (and Scroll visits them after the others).
inline int64_t KeyIntColumn(uint64_t key) { return std::bit_cast<int64_t>(key); }
inline uint64_t KeyFromIntColumn(int64_t column) { return std::bit_cast<uint64_t>(column); }

// Binds `key` to parameter `index` of a statement selected by PointByKeySql(key).
inline void BindKey(Statement& stmt, int index, const PointKey& key) {
  if (key.is_int()) {
    stmt.BindInt(index, KeyIntColumn(key.int_value()));
  } else {
    stmt.BindText(index, key.string_value());
  }
}

// "SELECT <columns> FROM points WHERE key_int = ?1" (or key_str).
inline const std::string& PointByKeySql(const PointKey& key) {
  static const std::string kByInt = "SELECT " VECDEX_POINT_COLUMNS " FROM points WHERE key_int = ?1";
  static const std::string kByStr = "SELECT " VECDEX_POINT_COLUMNS " FROM points WHERE key_str = ?1";
  return key.is_int() ? kByInt : kByStr;
}

// InvalidArgument unless every key is non-empty and outside the store's reserved "vecdex." prefix.
inline Status CheckMetaEntries(std::span<const MetaEntry> entries, const std::string& file_label) {
  for (const MetaEntry& entry : entries) {
    if (entry.key.empty() || entry.key.starts_with(kReservedMetaPrefix)) {
      return Status::InvalidArgument(file_label + ": meta key '" + entry.key + "' is empty or reserved");
    }
  }
  return Status::Ok();
}

// Decodes the current row of a statement selecting VECDEX_POINT_COLUMNS, verifying column types,
// the vector size (dim floats) and the row checksum; the vector and payload are copied only when
// asked for. Errors: Corruption naming `file_label` and the point.
[[nodiscard]] Result<StoredPoint> DecodePointRow(const Statement& stmt, size_t dim, const std::string& file_label,
                                                 bool with_vector, bool with_payload);

}  // namespace vecdex::store
