// The store's schema and metadata rows: creation, version checks, checksummed meta access.
// Internal to the store; docs/format/store.md is the specification.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "store/sqlite.h"
#include "vecdex/status.h"

namespace vecdex::store {

// PRAGMA user_version. Bump on any incompatible schema change, never reuse a value.
inline constexpr int64_t kSchemaVersion = 1;
// PRAGMA application_id: "VDXS" ("vecdex store"), so a foreign SQLite file is told apart.
inline constexpr int64_t kApplicationId = 0x56445853;

// Meta keys the store owns; PutMeta refuses this prefix.
inline constexpr std::string_view kReservedMetaPrefix = "vecdex.";
inline constexpr char kMetaDim[] = "vecdex.dim";
inline constexpr char kMetaNextSequence[] = "vecdex.next_sequence";
inline constexpr char kMetaNextId[] = "vecdex.next_id";
inline constexpr char kMetaPointCount[] = "vecdex.point_count";
inline constexpr char kMetaTruncatedThrough[] = "vecdex.truncated_through";

// Builds a new store with dimension `dim` at `path`: written under "<path>.creating", synced,
// renamed into place and the directory synced. Errors: IOError, storage errors.
[[nodiscard]] Status CreateStoreFile(const std::string& path, size_t dim);

// Checks application_id and user_version. Errors: Corruption (not a vecdex store, e.g. an
// empty file), FailedPrecondition (a schema version this build does not know).
[[nodiscard]] Status CheckSchema(Connection* conn);

// Meta rows: value plus CRC32C. Read returns nullopt when the key is absent and Corruption
// naming the file and key when the row is damaged.
[[nodiscard]] Status WriteMeta(Connection* conn, std::string_view key, std::string_view value);
[[nodiscard]] Result<std::optional<std::string>> ReadMeta(Connection* conn, std::string_view key);
// A counter stored as decimal text; Corruption when missing or not a number.
[[nodiscard]] Result<uint64_t> ReadMetaCounter(Connection* conn, std::string_view key);

}  // namespace vecdex::store
