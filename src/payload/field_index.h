// FieldIndex: the payload index of one field: for every distinct value of one type at one path,
// the roaring bitmap of the points holding it.
//
// What it answers exactly (Evaluate returns the matching points) and what it leaves to the
// per-point evaluation (nullopt), by index type:
//   keyword  match value / any over strings
//   integer  match value / any over integers; range, unless a float value was ever seen at
//            the path (3.5 is in range [3, 4] but not in an integer index)
//   float    range (integers are indexed as doubles)
//   bool     match value true / false
// Everything else (except, text, values_count, is_empty, is_null, values of another type) is
// nullopt. A value of another type at the path is simply not indexed: it can never satisfy a
// condition this index answers.
//
// Ids are the store's point ids. Roaring's 32-bit bitmaps hold ids below 2^32 (four billion new
// keys); PayloadIndexes stops using its indexes beyond that (see payload_indexes.h).
//
// Thread safety: none; PayloadIndexes guards it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>
#include <roaring/roaring.hh>

#include "vecdex/database.h"
#include "vecdex/filter.h"

namespace vecdex::payload {

using Bitmap = ::Roaring;  // CRoaring 0.2 puts its C++ class in the global namespace

class FieldIndex {
 public:
  FieldIndex(FieldPath path, PayloadFieldType type) : path_(std::move(path)), type_(type) {}

  const FieldPath& path() const { return path_; }
  PayloadFieldType type() const { return type_; }

  // Indexes the values `payload` (an object, or null for none) has at the path, replacing what
  // `id` had before.
  void Set(uint32_t id, const nlohmann::json& payload);
  // Forgets `id` (a deleted point).
  void Erase(uint32_t id);

  // The points satisfying `condition`, when this index can tell exactly (see the table above).
  std::optional<Bitmap> Evaluate(const FieldCondition& condition) const;

  // Points holding at least one value of the index's type.
  uint64_t points() const { return with_values_.cardinality(); }
  size_t memory_bytes() const;

 private:
  static constexpr uint32_t kNone = 0;                  // in ordinal_by_id_: no value
  static constexpr uint32_t kMany = UINT32_MAX;         // more than one: see many_
  // The ordinal of a value, created on first sight (ordinals index bitmaps_).
  uint32_t Intern(const nlohmann::json& value);
  // The ordinal of an existing value, or kNone.
  uint32_t Find(const MatchValue& value) const;
  std::optional<Bitmap> Range(const RangeBounds& bounds) const;
  void Forget(uint32_t id, uint32_t ordinal);

  FieldPath path_;
  PayloadFieldType type_;
  // Distinct values -> ordinal (1-based; bitmaps_[ordinal - 1]). One map per type.
  std::unordered_map<std::string, uint32_t> keywords_;
  std::map<int64_t, uint32_t> integers_;
  std::map<double, uint32_t> floats_;
  uint32_t bool_ordinal_[2] = {kNone, kNone};  // false, true
  std::vector<Bitmap> bitmaps_;
  // Per id, what Erase must undo: the single ordinal, kNone, or kMany (the list in many_).
  std::vector<uint32_t> ordinal_by_id_;
  std::unordered_map<uint32_t, std::vector<uint32_t>> many_;
  Bitmap with_values_;
  bool saw_float_ = false;  // integer index: a non-integral number appeared at the path
};

}  // namespace vecdex::payload
