// Store reads: point lookups, scrolling, full scans and the change log. Each call borrows a
// read-only connection and runs in one read transaction, so it sees one committed snapshot.
#include <sqlite3.h>

#include <cstring>
#include <limits>
#include <utility>

#include "store/sqlite.h"
#include "store/store.h"
#include "store/store_format.h"
#include "store/store_rows.h"
#include "store/store_schema.h"

namespace vecdex::store {

namespace {

const std::string kPointById = "SELECT " VECDEX_POINT_COLUMNS " FROM points WHERE id = ?1";
const std::string kAllPoints = "SELECT " VECDEX_POINT_COLUMNS " FROM points ORDER BY id";
// Scroll visits three ranges in turn: integer keys < 2^63 (stored non-negative), integer keys
// >= 2^63 (stored negative, see KeyIntColumn), then string keys.
const std::string kScrollLowInts =
    "SELECT " VECDEX_POINT_COLUMNS " FROM points WHERE key_int >= ?1 ORDER BY key_int LIMIT ?2";
const std::string kScrollHighInts =
    "SELECT " VECDEX_POINT_COLUMNS " FROM points WHERE key_int >= ?1 AND key_int < 0 ORDER BY key_int LIMIT ?2";
// Every key is non-empty, so "> ''" selects all string keys.
const std::string kScrollStrings =
    "SELECT " VECDEX_POINT_COLUMNS " FROM points WHERE key_str > ?1 ORDER BY key_str LIMIT ?2";
const std::string kChangesAfter = "SELECT seq, op, point_id, crc FROM changes WHERE seq > ?1 ORDER BY seq";

// Keeps SQLite's LIMIT (a signed 64-bit value) far from overflow.
constexpr size_t kMaxScrollLimit = size_t{1} << 40;

struct ScrollRange {
  const std::string* sql;
  int64_t int_lower = 0;
  std::string str_lower;
};

std::vector<ScrollRange> ScrollRanges(const std::optional<PointKey>& start_after) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  std::vector<ScrollRange> ranges;
  if (!start_after.has_value()) {
    ranges = {{&kScrollLowInts, 0, {}}, {&kScrollHighInts, kMin, {}}};
  } else if (start_after->is_int()) {
    const int64_t stored = KeyIntColumn(start_after->int_value());
    if (stored >= 0) {
      if (stored < std::numeric_limits<int64_t>::max()) ranges.push_back({&kScrollLowInts, stored + 1, {}});
      ranges.push_back({&kScrollHighInts, kMin, {}});
    } else if (stored < -1) {
      ranges.push_back({&kScrollHighInts, stored + 1, {}});
    }
  } else {
    ranges.push_back({&kScrollStrings, 0, start_after->string_value()});
    return ranges;
  }
  ranges.push_back({&kScrollStrings, 0, std::string()});
  return ranges;
}

}  // namespace

// A read connection borrowed from the pool for the duration of one call.
class Store::ReaderLease {
 public:
  explicit ReaderLease(Store* store) : store_(store) {}
  ~ReaderLease() {
    if (conn_ != nullptr) store_->ReturnReader(std::move(conn_));
  }
  ReaderLease(const ReaderLease&) = delete;
  ReaderLease& operator=(const ReaderLease&) = delete;

  Status Acquire() {
    VECDEX_ASSIGN_OR_RETURN(conn_, store_->TakeReader());
    return Status::Ok();
  }
  Connection* get() const { return conn_.get(); }

 private:
  Store* store_;
  std::unique_ptr<Connection> conn_;
};

Result<StoredPoint> DecodePointRow(const Statement& stmt, size_t dim, const std::string& file_label, bool with_vector,
                                   bool with_payload) {
  if (stmt.ColumnType(0) != SQLITE_INTEGER) return Status::Corruption(file_label + ": a point row has no integer id");
  StoredPoint p;
  const int64_t id = stmt.ColumnInt(0);
  p.id = static_cast<Label>(id);
  const auto damaged = [&](const std::string& what) {
    return Status::Corruption(file_label + ": point id " + std::to_string(id) + ": " + what);
  };
  // Types first: sqlite3_column_type is undefined once a value has been converted.
  const int key_int_type = stmt.ColumnType(1);
  const int key_str_type = stmt.ColumnType(2);
  if (key_int_type == SQLITE_INTEGER && key_str_type == SQLITE_NULL) {
    p.key = PointKey::Int(KeyFromIntColumn(stmt.ColumnInt(1)));
  } else if (key_int_type == SQLITE_NULL && key_str_type == SQLITE_TEXT) {
    p.key = PointKey::String(std::string(stmt.ColumnText(2)));
  } else {
    return damaged("key columns are damaged");
  }
  if (stmt.ColumnType(3) != SQLITE_BLOB) return damaged("vector is not a blob");
  const int payload_type = stmt.ColumnType(4);
  if (payload_type != SQLITE_NULL && payload_type != SQLITE_TEXT) return damaged("payload is not text");
  if (stmt.ColumnType(5) != SQLITE_INTEGER || stmt.ColumnType(6) != SQLITE_INTEGER) {
    return damaged("sequence or checksum is not an integer");
  }
  const std::span<const uint8_t> blob = stmt.ColumnBlob(3);
  if (blob.size() != dim * sizeof(float)) {
    return damaged("vector has " + std::to_string(blob.size()) + " bytes, expected " +
                   std::to_string(dim * sizeof(float)) + " (dimension " + std::to_string(dim) + ")");
  }
  const bool has_payload = payload_type == SQLITE_TEXT;
  const std::string_view payload = has_payload ? stmt.ColumnText(4) : std::string_view();
  const int64_t seq = stmt.ColumnInt(5);
  if (stmt.ColumnInt(6) != PointRowChecksum(id, p.key, blob, has_payload, payload, seq)) {
    return damaged("row checksum mismatch (key " + PointKeyToString(p.key) + ")");
  }
  p.sequence = static_cast<uint64_t>(seq);
  if (with_vector) {
    p.vector.resize(dim);
    std::memcpy(p.vector.data(), blob.data(), blob.size());
  }
  if (with_payload) p.payload_json.assign(payload);
  return p;
}

Result<std::vector<StoredPoint>> Store::Get(std::span<const PointKey> keys, bool with_vector, bool with_payload) {
  for (size_t i = 0; i < keys.size(); ++i) {
    Status st = ValidatePointKey(keys[i]);
    if (!st.ok()) return st.WithContext(label_ + ": key " + std::to_string(i));
  }
  ReaderLease reader(this);
  VECDEX_RETURN_IF_ERROR(reader.Acquire());
  Transaction txn(reader.get());
  VECDEX_RETURN_IF_ERROR(txn.Begin(/*immediate=*/false));
  std::vector<StoredPoint> found;
  found.reserve(keys.size());
  for (const PointKey& key : keys) {
    VECDEX_ASSIGN_OR_RETURN(Statement stmt, reader.get()->Prepare(PointByKeySql(key)));
    BindKey(stmt, 1, key);
    VECDEX_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) continue;
    VECDEX_ASSIGN_OR_RETURN(StoredPoint p, DecodePointRow(stmt, dim_, label_, with_vector, with_payload));
    if (p.key != key) return Status::Corruption(label_ + ": key index maps " + PointKeyToString(key) + " to a point with key " + PointKeyToString(p.key));
    found.push_back(std::move(p));
  }
  return found;
}

Result<std::vector<StoredPoint>> Store::GetById(std::span<const Label> ids, bool with_vector, bool with_payload) {
  ReaderLease reader(this);
  VECDEX_RETURN_IF_ERROR(reader.Acquire());
  Transaction txn(reader.get());
  VECDEX_RETURN_IF_ERROR(txn.Begin(/*immediate=*/false));
  std::vector<StoredPoint> found;
  found.reserve(ids.size());
  for (Label id : ids) {
    if (id == 0 || id > static_cast<Label>(std::numeric_limits<int64_t>::max())) continue;  // never assigned
    VECDEX_ASSIGN_OR_RETURN(Statement stmt, reader.get()->Prepare(kPointById));
    stmt.BindInt(1, static_cast<int64_t>(id));
    VECDEX_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) continue;
    VECDEX_ASSIGN_OR_RETURN(StoredPoint p, DecodePointRow(stmt, dim_, label_, with_vector, with_payload));
    found.push_back(std::move(p));
  }
  return found;
}

Result<ScrollPage> Store::Scroll(const std::optional<PointKey>& start_after, size_t limit, bool with_vector,
                                 bool with_payload) {
  if (limit == 0) return Status::InvalidArgument(label_ + ": scroll limit must be at least 1");
  if (start_after.has_value()) {
    Status st = ValidatePointKey(*start_after);
    if (!st.ok()) return st.WithContext(label_ + ": scroll start");
  }
  limit = std::min(limit, kMaxScrollLimit);
  ReaderLease reader(this);
  VECDEX_RETURN_IF_ERROR(reader.Acquire());
  Transaction txn(reader.get());
  VECDEX_RETURN_IF_ERROR(txn.Begin(/*immediate=*/false));
  ScrollPage page;
  // One row more than asked tells whether another page follows.
  const size_t wanted = limit + 1;
  std::vector<StoredPoint> rows;
  for (const ScrollRange& range : ScrollRanges(start_after)) {
    if (rows.size() >= wanted) break;
    VECDEX_ASSIGN_OR_RETURN(Statement stmt, reader.get()->Prepare(*range.sql));
    if (range.sql == &kScrollStrings) {
      stmt.BindText(1, range.str_lower);
    } else {
      stmt.BindInt(1, range.int_lower);
    }
    stmt.BindInt(2, static_cast<int64_t>(wanted - rows.size()));
    while (true) {
      VECDEX_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      VECDEX_ASSIGN_OR_RETURN(StoredPoint p, DecodePointRow(stmt, dim_, label_, with_vector, with_payload));
      if (!rows.empty() && !(rows.back().key < p.key)) {
        return Status::Corruption(label_ + ": key index out of order at " + PointKeyToString(p.key));
      }
      rows.push_back(std::move(p));
    }
  }
  if (rows.size() > limit) {
    rows.pop_back();
    page.next = rows.back().key;
  }
  page.points = std::move(rows);
  return page;
}

Status Store::ForEachPoint(const PointFn& fn) {
  ReaderLease reader(this);
  VECDEX_RETURN_IF_ERROR(reader.Acquire());
  Transaction txn(reader.get());
  VECDEX_RETURN_IF_ERROR(txn.Begin(/*immediate=*/false));
  VECDEX_ASSIGN_OR_RETURN(Statement stmt, reader.get()->Prepare(kAllPoints));
  while (true) {
    VECDEX_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    VECDEX_ASSIGN_OR_RETURN(StoredPoint p, DecodePointRow(stmt, dim_, label_, /*with_vector=*/true, false));
    VECDEX_RETURN_IF_ERROR(fn(p.id, p.key, p.vector));
  }
  return Status::Ok();
}

Status Store::ForEachChange(uint64_t after_sequence, const ChangeFn& fn) {
  ReaderLease reader(this);
  VECDEX_RETURN_IF_ERROR(reader.Acquire());
  Connection* c = reader.get();
  Transaction txn(c);
  VECDEX_RETURN_IF_ERROR(txn.Begin(/*immediate=*/false));
  // Both counters from the same snapshot as the rows below.
  VECDEX_ASSIGN_OR_RETURN(uint64_t truncated, ReadMetaCounter(c, kMetaTruncatedThrough));
  VECDEX_ASSIGN_OR_RETURN(uint64_t next_sequence, ReadMetaCounter(c, kMetaNextSequence));
  if (after_sequence < truncated) {
    return Status::FailedPrecondition(label_ + ": changes after sequence " + std::to_string(after_sequence) +
                                      " were truncated through " + std::to_string(truncated) +
                                      "; rebuild from the points instead");
  }
  // Invariant: the log holds every sequence in (truncated, next_sequence) exactly once, since
  // each sequence is written with its change and only a prefix is ever deleted. A gap is damage.
  uint64_t expected = after_sequence + 1;
  VECDEX_ASSIGN_OR_RETURN(Statement stmt, c->Prepare(kChangesAfter));
  stmt.BindInt(1, static_cast<int64_t>(std::min<uint64_t>(after_sequence, std::numeric_limits<int64_t>::max())));
  while (true) {
    VECDEX_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    const int64_t seq = stmt.ColumnInt(0);
    const int64_t op = stmt.ColumnInt(1);
    const int64_t id = stmt.ColumnInt(2);
    if (stmt.ColumnType(0) != SQLITE_INTEGER || stmt.ColumnType(1) != SQLITE_INTEGER || stmt.ColumnType(2) != SQLITE_INTEGER ||
        stmt.ColumnType(3) != SQLITE_INTEGER || stmt.ColumnInt(3) != ChangeRowChecksum(seq, op, id) || op < 1 ||
        op > 3) {
      return Status::Corruption(label_ + ": change " + std::to_string(seq) + " is damaged");
    }
    if (static_cast<uint64_t>(seq) != expected) {
      return Status::Corruption(label_ + ": change log jumps from sequence " + std::to_string(expected - 1) +
                                " to " + std::to_string(seq));
    }
    ++expected;
    VECDEX_RETURN_IF_ERROR(fn(Change{static_cast<uint64_t>(seq), static_cast<ChangeOp>(op), static_cast<Label>(id)}));
  }
  if (expected < next_sequence) {
    return Status::Corruption(label_ + ": change log ends at sequence " + std::to_string(expected - 1) +
                              " but the last sequence is " + std::to_string(next_sequence - 1));
  }
  return Status::Ok();
}


Status Store::CheckIntegrity(OpenCheck level) {
  if (level == OpenCheck::kNone) return Status::Ok();
  ReaderLease reader(this);
  VECDEX_RETURN_IF_ERROR(reader.Acquire());
  Transaction txn(reader.get());
  VECDEX_RETURN_IF_ERROR(txn.Begin(/*immediate=*/false));
  const bool full = level == OpenCheck::kFull;
  {
    VECDEX_ASSIGN_OR_RETURN(Statement stmt,
                            reader.get()->Prepare(full ? "PRAGMA integrity_check(1)" : "PRAGMA quick_check(1)"));
    VECDEX_ASSIGN_OR_RETURN(bool row, stmt.Step());
    const std::string verdict = row ? std::string(stmt.ColumnText(0)) : "no result";
    if (verdict != "ok") return Status::Corruption(label_ + ": integrity check failed: " + verdict);
  }
  if (!full) return Status::Ok();
  // Every row through the decoder, which verifies its checksum (vector and payload included).
  VECDEX_ASSIGN_OR_RETURN(Statement stmt, reader.get()->Prepare(kAllPoints));
  uint64_t rows = 0;
  while (true) {
    VECDEX_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    VECDEX_ASSIGN_OR_RETURN(StoredPoint p, DecodePointRow(stmt, dim_, label_, /*with_vector=*/true, true));
    (void)p;
    ++rows;
  }
  VECDEX_ASSIGN_OR_RETURN(uint64_t count, ReadMetaCounter(reader.get(), kMetaPointCount));
  if (rows != count) {
    return Status::Corruption(label_ + ": points table holds " + std::to_string(rows) + " rows, metadata says " +
                              std::to_string(count));
  }
  return Status::Ok();
}

}  // namespace vecdex::store
