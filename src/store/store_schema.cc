#include "store/store_schema.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <memory>
#include <system_error>

#include "store/store_format.h"

namespace vecdex::store {

namespace {

// The schema: every entry sqlite_schema must hold, in creation order. Rows carry a CRC32C
// (`crc`) because SQLite has no page checksums. SQLite keeps each CREATE text verbatim and
// CheckSchema compares it, so damage to the schema (a renamed column, a lost PRIMARY KEY) is
// caught before any query runs. The key indexes are partial: a point has one kind of key, and
// indexing the other column's NULL would cost an index entry per point for nothing.
struct SchemaEntry {
  const char* type;
  const char* name;
  const char* sql;  // nullptr: an index SQLite creates itself (meta's PRIMARY KEY)
};
constexpr SchemaEntry kSchema[] = {
    {"table", "meta",
     "CREATE TABLE meta(\n"
     "  key   TEXT PRIMARY KEY,\n"
     "  value BLOB NOT NULL,\n"
     "  crc   INTEGER NOT NULL\n"
     ")"},
    {"index", "sqlite_autoindex_meta_1", nullptr},
    {"table", "points",
     "CREATE TABLE points(\n"
     "  id      INTEGER PRIMARY KEY,\n"
     "  key_int INTEGER,\n"
     "  key_str TEXT,\n"
     "  vector  BLOB NOT NULL,\n"
     "  payload TEXT,\n"
     "  seq     INTEGER NOT NULL,\n"
     "  crc     INTEGER NOT NULL,\n"
     "  CHECK ((key_int IS NULL) <> (key_str IS NULL))\n"
     ")"},
    {"index", "points_key_int", "CREATE UNIQUE INDEX points_key_int ON points(key_int) WHERE key_int IS NOT NULL"},
    {"index", "points_key_str", "CREATE UNIQUE INDEX points_key_str ON points(key_str) WHERE key_str IS NOT NULL"},
    {"table", "changes",
     "CREATE TABLE changes(\n"
     "  seq      INTEGER PRIMARY KEY,\n"
     "  op       INTEGER NOT NULL CHECK (op IN (1, 2, 3)),\n"
     "  point_id INTEGER NOT NULL,\n"
     "  crc      INTEGER NOT NULL\n"
     ")"},
};

Status ErrnoStatus(const std::string& path, const char* what) {
  return Status::IOError(path + ": " + what + ": " + std::strerror(errno));
}

Status SyncPath(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(path, "open for fsync");
  const int rc = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  errno = saved;
  return rc == 0 ? Status::Ok() : ErrnoStatus(path, "fsync");
}

void RemoveIfPresent(const std::string& path) {
  std::error_code ignored;  // absent is the common case
  std::filesystem::remove(path, ignored);
}

}  // namespace

Status CreateStoreFile(const std::string& path, size_t dim) {
  const std::string temp = path + ".creating";
  // Leftovers of a creation that crashed: nothing in them was ever acknowledged.
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) RemoveIfPresent(temp + suffix);
  {
    VECDEX_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn, Connection::Open(temp, /*create=*/true, temp));
    VECDEX_RETURN_IF_ERROR(conn->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"));
    VECDEX_RETURN_IF_ERROR(conn->Exec("PRAGMA application_id=" + std::to_string(kApplicationId) +
                                      "; PRAGMA user_version=" + std::to_string(kSchemaVersion) + ";"));
    Transaction txn(conn.get());
    VECDEX_RETURN_IF_ERROR(txn.Begin(/*immediate=*/true));
    for (const SchemaEntry& entry : kSchema) {
      if (entry.sql != nullptr) VECDEX_RETURN_IF_ERROR(conn->Exec(entry.sql));
    }
    VECDEX_RETURN_IF_ERROR(WriteMeta(conn.get(), kMetaDim, std::to_string(dim)));
    VECDEX_RETURN_IF_ERROR(WriteMeta(conn.get(), kMetaNextSequence, "1"));
    VECDEX_RETURN_IF_ERROR(WriteMeta(conn.get(), kMetaNextId, "1"));
    VECDEX_RETURN_IF_ERROR(WriteMeta(conn.get(), kMetaPointCount, "0"));
    VECDEX_RETURN_IF_ERROR(WriteMeta(conn.get(), kMetaTruncatedThrough, "0"));
    VECDEX_RETURN_IF_ERROR(txn.Commit());
    // Move everything into the main file so the rename below publishes one complete file.
    VECDEX_RETURN_IF_ERROR(conn->Exec("PRAGMA wal_checkpoint(TRUNCATE);"));
  }  // closing the last connection removes the empty WAL
  VECDEX_RETURN_IF_ERROR(SyncPath(temp, /*directory=*/false));
  if (::rename(temp.c_str(), path.c_str()) != 0) return ErrnoStatus(path, "rename from .creating");
  std::string dir = std::filesystem::path(path).parent_path().string();
  return SyncPath(dir.empty() ? "." : dir, /*directory=*/true);
}

Status CheckSchema(Connection* conn) {
  VECDEX_ASSIGN_OR_RETURN(int64_t app_id, conn->QueryInt("PRAGMA application_id"));
  VECDEX_ASSIGN_OR_RETURN(int64_t version, conn->QueryInt("PRAGMA user_version"));
  if (app_id != kApplicationId) {
    return Status::Corruption(conn->file_label() + ": not a vecdex store (application_id " + std::to_string(app_id) +
                              ", expected " + std::to_string(kApplicationId) + ")");
  }
  if (version != kSchemaVersion) {
    return Status::FailedPrecondition(conn->file_label() + ": store schema version " + std::to_string(version) +
                                      " is not supported (this build reads version " +
                                      std::to_string(kSchemaVersion) + ")");
  }
  // Exactly our entries with exactly our definitions.
  VECDEX_ASSIGN_OR_RETURN(Statement stmt, conn->Prepare("SELECT type, name, sql FROM sqlite_schema"));
  size_t matched = 0;
  while (true) {
    VECDEX_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    const std::string type(stmt.ColumnText(0));
    const std::string name(stmt.ColumnText(1));
    bool known = false;
    for (const SchemaEntry& entry : kSchema) {
      if (type == entry.type && name == entry.name) {
        known = entry.sql == nullptr ? stmt.ColumnIsNull(2) : stmt.ColumnText(2) == entry.sql;
      }
    }
    if (!known) {
      return Status::Corruption(conn->file_label() + ": schema entry " + type + " '" + name +
                                "' is not part of a vecdex store or differs from it (damaged schema?)");
    }
    ++matched;
  }
  if (matched != std::size(kSchema)) {
    return Status::Corruption(conn->file_label() + ": schema has " + std::to_string(matched) + " of its " +
                              std::to_string(std::size(kSchema)) + " tables and indexes");
  }
  return Status::Ok();
}

Status WriteMeta(Connection* conn, std::string_view key, std::string_view value) {
  VECDEX_ASSIGN_OR_RETURN(Statement stmt, conn->Prepare("INSERT OR REPLACE INTO meta(key, value, crc) VALUES(?1, ?2, ?3)"));
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(value.data()), value.size());
  stmt.BindText(1, key);
  stmt.BindBlob(2, bytes);
  stmt.BindInt(3, MetaRowChecksum(key, bytes));
  return stmt.Run();
}

Result<std::optional<std::string>> ReadMeta(Connection* conn, std::string_view key) {
  VECDEX_ASSIGN_OR_RETURN(Statement stmt, conn->Prepare("SELECT value, crc FROM meta WHERE key = ?1"));
  stmt.BindText(1, key);
  VECDEX_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::optional<std::string>();
  // Types first: sqlite3_column_type is undefined once a value has been converted.
  const bool types_ok = stmt.ColumnType(0) == SQLITE_BLOB && stmt.ColumnType(1) == SQLITE_INTEGER;
  const std::span<const uint8_t> bytes = types_ok ? stmt.ColumnBlob(0) : std::span<const uint8_t>();
  if (!types_ok || stmt.ColumnInt(1) != MetaRowChecksum(key, bytes)) {
    return Status::Corruption(conn->file_label() + ": meta entry '" + std::string(key) + "' fails its checksum");
  }
  return std::optional<std::string>(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

Result<uint64_t> ReadMetaCounter(Connection* conn, std::string_view key) {
  VECDEX_ASSIGN_OR_RETURN(std::optional<std::string> text, ReadMeta(conn, key));
  uint64_t value = 0;
  if (text.has_value()) {
    const char* end = text->data() + text->size();
    auto [ptr, ec] = std::from_chars(text->data(), end, value);
    if (ec == std::errc() && ptr == end && !text->empty()) return value;
  }
  return Status::Corruption(conn->file_label() + ": meta entry '" + std::string(key) +
                            (text.has_value() ? "' is not a number" : "' is missing"));
}

}  // namespace vecdex::store
