// PayloadIndexes: a collection's payload indexes (one FieldIndex per indexed field) plus the set
// of every live point id, and the first half of filter planning: which points can match.
//
// Resolve turns a filter into candidates: a bitmap that holds every matching point (a superset)
// and whether it holds only matching points (exact). Conditions an index answers become bitmaps;
// the others (unindexed fields, is_empty, text, ...) leave the bitmap unnarrowed and the result
// inexact, so the caller evaluates the filter on each candidate's payload. Combination rules:
//   must      intersection of the operands' supersets; exact when all are
//   should    union when every operand narrowed; exact when all are; else every point, inexact
//   must_not  subtracts exact operands; an inexact one only makes the result inexact
//   min_should, nested: every point, inexact
//
// Consistency: the owner applies every change in the store's order (Set after an upsert or a
// payload update, Erase after a delete), under its write lock, so the indexes always describe
// the store at the last applied change.
//
// Thread safety: all methods are thread-safe; Resolve and the readers run concurrently with each
// other, writers exclude them briefly (one point at a time).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "payload/field_index.h"
#include "vecdex/database.h"
#include "vecdex/filter.h"
#include "vecdex/types.h"

namespace vecdex::payload {

struct Candidates {
  // Every matching point is in `ids` (when narrowed; otherwise every live point may match).
  bool narrowed = false;
  bool exact = false;  // `ids` (or all points, when !narrowed) are exactly the matches
  Bitmap ids;
};

class PayloadIndexes {
 public:
  // Largest id the bitmaps hold; a larger one disables the payload indexes (every filter is then
  // evaluated per point), see field_index.h.
  static constexpr Label kMaxId = UINT32_MAX;

  // Maps point keys to ids (has_id conditions); keys not stored are left out.
  using KeyResolver = std::function<Result<std::vector<Label>>(std::span<const PointKey> keys)>;

  // ---- the set of live points (kept whether or not any field is indexed)
  void ResetPoints(std::span<const Label> ids);

  // ---- schema. AddField replaces an index of the same path; the new one starts empty and
  // not ready: fill it with FieldSet (while writers are excluded), then MarkReady.
  void AddField(FieldPath path, PayloadFieldType type);
  bool DropField(std::string_view path_text);
  std::vector<PayloadIndexInfo> Fields() const;
  // Fills one field (not yet ready) from a point's payload.
  void FieldSet(std::string_view path_text, Label id, const nlohmann::json& payload);
  void MarkReady(std::string_view path_text);

  // ---- changes, in the store's order
  // A point was upserted or its payload changed: `payload` is its new payload (null: none).
  void Set(Label id, const nlohmann::json& payload);
  void Erase(Label id);

  // ---- reads
  Result<Candidates> Resolve(const Filter& filter, const KeyResolver& resolve_keys) const;
  uint64_t point_count() const;
  // A copy of every live id (for inexact plans without narrowing).
  Bitmap AllPoints() const;
  bool HasFields() const;
  size_t memory_bytes() const;

 private:
  struct Node {
    std::optional<Bitmap> ids;  // nullopt: every point
    bool exact = false;
  };
  struct Field {
    std::unique_ptr<FieldIndex> index;
    bool ready = false;
  };
  Result<Node> ResolveFilter(const Filter& filter, const KeyResolver& resolve_keys) const;
  Result<Node> ResolveCondition(const Condition& condition, const KeyResolver& resolve_keys) const;
  const Field* FindField(std::string_view path_text) const;

  mutable std::shared_mutex mu_;
  Bitmap all_;                 // guarded by mu_
  std::vector<Field> fields_;  // guarded by mu_; sorted by path text
  bool overflow_ = false;      // an id above kMaxId was seen: indexes unusable
};

}  // namespace vecdex::payload
