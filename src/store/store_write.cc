// Store writes: upsert, delete and payload updates. Each is one transaction on the writer
// connection under write_mu_; validation happens before the lock so a bad batch costs nothing.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <utility>

#include "store/sqlite.h"
#include "store/store.h"
#include "store/store_format.h"
#include "store/store_payload.h"
#include "store/store_rows.h"

namespace vecdex::store {

namespace {

const std::string kFindIdByInt = "SELECT id FROM points WHERE key_int = ?1";
const std::string kFindIdByStr = "SELECT id FROM points WHERE key_str = ?1";
const std::string kInsertPoint =
    "INSERT INTO points(id, key_int, key_str, vector, payload, seq, crc) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)";
const std::string kReplacePoint = "UPDATE points SET vector = ?2, payload = ?3, seq = ?4, crc = ?5 WHERE id = ?1";
const std::string kUpdatePayload = "UPDATE points SET payload = ?2, seq = ?3, crc = ?4 WHERE id = ?1";
const std::string kDeletePoint = "DELETE FROM points WHERE id = ?1";
const std::string kInsertChange = "INSERT INTO changes(seq, op, point_id, crc) VALUES(?1, ?2, ?3, ?4)";

std::string PointName(size_t index, const PointKey& key) {
  return "point " + std::to_string(index) + " (key " + PointKeyToString(key) + ")";
}

Status CheckKeys(std::span<const PointKey> keys, const std::string& label) {
  for (size_t i = 0; i < keys.size(); ++i) {
    Status st = ValidatePointKey(keys[i]);
    if (!st.ok()) return st.WithContext(label + ": key " + std::to_string(i));
  }
  return Status::Ok();
}

// The id of the point with `key`, or nullopt.
Result<std::optional<Label>> FindId(Connection* conn, const PointKey& key) {
  VECDEX_ASSIGN_OR_RETURN(Statement stmt, conn->Prepare(key.is_int() ? kFindIdByInt : kFindIdByStr));
  BindKey(stmt, 1, key);
  VECDEX_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::optional<Label>();
  const int64_t id = stmt.ColumnInt(0);
  if (id <= 0) return Status::Corruption(conn->file_label() + ": key " + PointKeyToString(key) + " maps to id " +
                                         std::to_string(id));
  return std::optional<Label>(static_cast<Label>(id));
}

Status AppendChange(Connection* conn, uint64_t seq, ChangeOp op, Label id) {
  VECDEX_ASSIGN_OR_RETURN(Statement stmt, conn->Prepare(kInsertChange));
  const auto s = static_cast<int64_t>(seq);
  const auto o = static_cast<int64_t>(op);
  const auto i = static_cast<int64_t>(id);
  stmt.BindInt(1, s);
  stmt.BindInt(2, o);
  stmt.BindInt(3, i);
  stmt.BindInt(4, ChangeRowChecksum(s, o, i));
  return stmt.Run();
}

void BindPayload(Statement& stmt, int index, const std::string& payload) {
  if (payload.empty()) {
    stmt.BindNull(index);
  } else {
    stmt.BindText(index, payload);
  }
}

// Validates a whole upsert batch (keys, dimensions, finite components, payloads, no key twice)
// and returns the normalised payloads, one per point.
Result<std::vector<std::string>> ValidateBatch(std::span<const Point> points, size_t dim, const std::string& label) {
  std::vector<std::string> payloads(points.size());
  for (size_t i = 0; i < points.size(); ++i) {
    const Point& p = points[i];
    Status st = ValidatePointKey(p.key);
    if (!st.ok()) return st.WithContext(label + ": point " + std::to_string(i));
    if (p.vector.size() != dim) {
      return Status::InvalidArgument(label + ": " + PointName(i, p.key) + " has dimension " +
                                     std::to_string(p.vector.size()) + ", expected " + std::to_string(dim));
    }
    for (size_t d = 0; d < dim; ++d) {
      if (!std::isfinite(p.vector[d])) {
        return Status::InvalidArgument(label + ": " + PointName(i, p.key) + " component " + std::to_string(d) +
                                       " is " + (std::isnan(p.vector[d]) ? "NaN" : "infinite"));
      }
    }
    VECDEX_ASSIGN_OR_RETURN(payloads[i], NormalizePayload(p.payload_json, label + ": " + PointName(i, p.key)));
  }
  std::vector<size_t> order(points.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return points[a].key < points[b].key; });
  for (size_t i = 1; i < order.size(); ++i) {
    if (points[order[i]].key == points[order[i - 1]].key) {
      return Status::InvalidArgument(label + ": key " + PointKeyToString(points[order[i]].key) +
                                     " appears twice in one batch");
    }
  }
  return payloads;
}

// Inserts the row of point `p` with `id`, or (replace) overwrites the vector and payload of the
// existing row `id`, with sequence `seq` and a fresh checksum.
Status WritePointRow(Connection* c, const Point& p, const std::string& payload, Label id, uint64_t seq,
                     bool replace) {
  const std::span<const uint8_t> blob = VectorBlob(p.vector);
  const auto row_id = static_cast<int64_t>(id);
  const auto row_seq = static_cast<int64_t>(seq);
  const int64_t crc = PointRowChecksum(row_id, p.key, blob, !payload.empty(), payload, row_seq);
  if (replace) {
    VECDEX_ASSIGN_OR_RETURN(Statement stmt, c->Prepare(kReplacePoint));
    stmt.BindInt(1, row_id);
    stmt.BindBlob(2, blob);
    BindPayload(stmt, 3, payload);
    stmt.BindInt(4, row_seq);
    stmt.BindInt(5, crc);
    return stmt.Run();
  }
  VECDEX_ASSIGN_OR_RETURN(Statement stmt, c->Prepare(kInsertPoint));
  stmt.BindInt(1, row_id);
  if (p.key.is_int()) {
    stmt.BindInt(2, KeyIntColumn(p.key.int_value()));
    stmt.BindNull(3);
  } else {
    stmt.BindNull(2);
    stmt.BindText(3, p.key.string_value());
  }
  stmt.BindBlob(4, blob);
  BindPayload(stmt, 5, payload);
  stmt.BindInt(6, row_seq);
  stmt.BindInt(7, crc);
  return stmt.Run();
}

}  // namespace

Result<WriteResult> Store::Upsert(std::span<const Point> points, std::span<const MetaEntry> meta) {
  if (points.empty()) return Status::InvalidArgument(label_ + ": upsert of an empty batch");
  VECDEX_RETURN_IF_ERROR(CheckMetaEntries(meta, label_));
  VECDEX_ASSIGN_OR_RETURN(const std::vector<std::string> payloads, ValidateBatch(points, dim_, label_));

  std::lock_guard lock(write_mu_);
  VECDEX_RETURN_IF_ERROR(write_error_);
  Connection* c = writer_.get();
  Transaction txn(c);
  VECDEX_RETURN_IF_ERROR(txn.Begin(/*immediate=*/true));
  WriteCounters counters = CurrentCounters();
  WriteResult result;
  result.first_sequence = counters.next_sequence;
  result.ids.reserve(points.size());
  for (size_t i = 0; i < points.size(); ++i) {
    const uint64_t seq = counters.next_sequence++;
    VECDEX_ASSIGN_OR_RETURN(std::optional<Label> existing, FindId(c, points[i].key));
    const Label id = existing.has_value() ? *existing : counters.next_id++;
    VECDEX_RETURN_IF_ERROR(WritePointRow(c, points[i], payloads[i], id, seq, /*replace=*/existing.has_value()));
    if (!existing.has_value()) ++counters.point_count;
    VECDEX_RETURN_IF_ERROR(AppendChange(c, seq, ChangeOp::kUpsert, id));
    result.ids.push_back(id);
  }
  result.last_sequence = counters.next_sequence - 1;
  VECDEX_RETURN_IF_ERROR(FinishWrite(&txn, counters, meta));
  return result;
}

Result<WriteResult> Store::Delete(std::span<const PointKey> keys, std::span<const MetaEntry> meta) {
  VECDEX_RETURN_IF_ERROR(CheckKeys(keys, label_));
  VECDEX_RETURN_IF_ERROR(CheckMetaEntries(meta, label_));
  std::lock_guard lock(write_mu_);
  VECDEX_RETURN_IF_ERROR(write_error_);
  Connection* c = writer_.get();
  Transaction txn(c);
  VECDEX_RETURN_IF_ERROR(txn.Begin(/*immediate=*/true));
  WriteCounters counters = CurrentCounters();
  WriteResult result;
  for (const PointKey& key : keys) {
    VECDEX_ASSIGN_OR_RETURN(std::optional<Label> id, FindId(c, key));
    if (!id.has_value()) continue;
    VECDEX_ASSIGN_OR_RETURN(Statement stmt, c->Prepare(kDeletePoint));
    stmt.BindInt(1, static_cast<int64_t>(*id));
    VECDEX_RETURN_IF_ERROR(stmt.Run());
    const uint64_t seq = counters.next_sequence++;
    VECDEX_RETURN_IF_ERROR(AppendChange(c, seq, ChangeOp::kDelete, *id));
    --counters.point_count;
    if (result.ids.empty()) result.first_sequence = seq;
    result.last_sequence = seq;
    result.ids.push_back(*id);
  }
  if (result.ids.empty() && meta.empty()) return result;  // nothing to commit; the guard rolls back
  VECDEX_RETURN_IF_ERROR(FinishWrite(&txn, counters, meta));
  return result;
}

Result<WriteResult> Store::SetPayload(std::span<const PointKey> keys, std::string_view json_object) {
  if (json_object.empty()) return Status::InvalidArgument(label_ + ": set payload needs a JSON object");
  return UpdatePayloads(keys, PayloadUpdate::kMerge, json_object, {});
}

Result<WriteResult> Store::OverwritePayload(std::span<const PointKey> keys, std::string_view json_object) {
  return UpdatePayloads(keys, PayloadUpdate::kOverwrite, json_object, {});
}

Result<WriteResult> Store::DeletePayloadFields(std::span<const PointKey> keys, std::span<const std::string> fields) {
  if (fields.empty()) return Status::InvalidArgument(label_ + ": delete payload: no fields named");
  return UpdatePayloads(keys, PayloadUpdate::kDeleteFields, "", fields);
}

Result<WriteResult> Store::UpdatePayloads(std::span<const PointKey> keys, PayloadUpdate how,
                                          std::string_view json_object, std::span<const std::string> fields) {
  VECDEX_RETURN_IF_ERROR(CheckKeys(keys, label_));
  VECDEX_ASSIGN_OR_RETURN(const std::string patch, NormalizePayload(json_object, label_ + ": payload update"));

  std::lock_guard lock(write_mu_);
  VECDEX_RETURN_IF_ERROR(write_error_);
  Connection* c = writer_.get();
  Transaction txn(c);
  VECDEX_RETURN_IF_ERROR(txn.Begin(/*immediate=*/true));
  WriteCounters counters = CurrentCounters();
  WriteResult result;
  for (const PointKey& key : keys) {
    std::optional<StoredPoint> current;
    {
      VECDEX_ASSIGN_OR_RETURN(Statement stmt, c->Prepare(PointByKeySql(key)));
      BindKey(stmt, 1, key);
      VECDEX_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) continue;
      // The row is rewritten with a new checksum, so it must be verified first: re-checksumming
      // a damaged row would turn detectable corruption into "valid" wrong data.
      VECDEX_ASSIGN_OR_RETURN(current, DecodePointRow(stmt, dim_, label_, /*with_vector=*/true, /*with_payload=*/true));
    }
    std::string payload = patch;
    if (how == PayloadUpdate::kMerge) {
      VECDEX_ASSIGN_OR_RETURN(payload, MergePayload(current->payload_json, patch, label_ + ": " + PointKeyToString(key)));
    } else if (how == PayloadUpdate::kDeleteFields) {
      VECDEX_ASSIGN_OR_RETURN(payload, vecdex::store::DeletePayloadFields(current->payload_json, fields,
                                                                          label_ + ": " + PointKeyToString(key)));
    }
    const uint64_t seq = counters.next_sequence++;
    const auto id = static_cast<int64_t>(current->id);
    VECDEX_ASSIGN_OR_RETURN(Statement stmt, c->Prepare(kUpdatePayload));
    stmt.BindInt(1, id);
    BindPayload(stmt, 2, payload);
    stmt.BindInt(3, static_cast<int64_t>(seq));
    stmt.BindInt(4, PointRowChecksum(id, key, VectorBlob(current->vector), !payload.empty(), payload,
                                     static_cast<int64_t>(seq)));
    VECDEX_RETURN_IF_ERROR(stmt.Run());
    VECDEX_RETURN_IF_ERROR(AppendChange(c, seq, ChangeOp::kPayload, current->id));
    if (result.ids.empty()) result.first_sequence = seq;
    result.last_sequence = seq;
    result.ids.push_back(current->id);
  }
  if (result.ids.empty()) return result;
  VECDEX_RETURN_IF_ERROR(FinishWrite(&txn, counters, {}));
  return result;
}

}  // namespace vecdex::store
