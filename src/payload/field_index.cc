#include "payload/field_index.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "filter/json_path.h"

namespace vecdex::payload {
namespace {

bool InRange(double v, const RangeBounds& b) {
  return (!b.gt || v > *b.gt) && (!b.gte || v >= *b.gte) && (!b.lt || v < *b.lt) && (!b.lte || v <= *b.lte);
}

// The smallest value the bounds admit from below, as a double (-inf when unbounded).
double LowerBound(const RangeBounds& b) {
  double low = -std::numeric_limits<double>::infinity();
  if (b.gt) low = std::max(low, *b.gt);
  if (b.gte) low = std::max(low, *b.gte);
  return low;
}

// Union of the bitmaps of the values in [first, last) that satisfy the bounds.
template <typename Map>
Bitmap UnionInRange(const Map& values, typename Map::const_iterator first, const RangeBounds& bounds,
                    const std::vector<Bitmap>& bitmaps) {
  std::vector<const Bitmap*> parts;
  for (auto it = first; it != values.end(); ++it) {
    const double v = static_cast<double>(it->first);
    if ((bounds.lt && v >= *bounds.lt) || (bounds.lte && v > *bounds.lte)) break;  // sorted: done
    if (InRange(v, bounds)) parts.push_back(&bitmaps[it->second - 1]);
  }
  if (parts.empty()) return Bitmap();
  return Bitmap::fastunion(parts.size(), parts.data());
}

}  // namespace

uint32_t FieldIndex::Intern(const nlohmann::json& value) {
  uint32_t* slot = nullptr;
  switch (type_) {
    case PayloadFieldType::kKeyword:
      if (!value.is_string()) return kNone;
      slot = &keywords_[value.get_ref<const std::string&>()];
      break;
    case PayloadFieldType::kInteger:
      if (value.is_number_float() || (value.is_number_unsigned() && value.get<uint64_t>() > INT64_MAX)) {
        saw_float_ = true;  // a number the integer index cannot hold, but a range could match
        return kNone;
      }
      if (!value.is_number_integer()) return kNone;
      slot = &integers_[value.get<int64_t>()];
      break;
    case PayloadFieldType::kFloat:
      if (!value.is_number()) return kNone;
      slot = &floats_[value.get<double>()];
      break;
    case PayloadFieldType::kBool:
      if (!value.is_boolean()) return kNone;
      slot = &bool_ordinal_[value.get<bool>() ? 1 : 0];
      break;
  }
  if (*slot == kNone) {
    bitmaps_.emplace_back();
    *slot = static_cast<uint32_t>(bitmaps_.size());
  }
  return *slot;
}

uint32_t FieldIndex::Find(const MatchValue& value) const {
  switch (type_) {
    case PayloadFieldType::kKeyword:
      if (const auto* s = std::get_if<std::string>(&value)) {
        auto it = keywords_.find(*s);
        return it == keywords_.end() ? kNone : it->second;
      }
      return kNone;
    case PayloadFieldType::kInteger:
      if (const auto* i = std::get_if<int64_t>(&value)) {
        auto it = integers_.find(*i);
        return it == integers_.end() ? kNone : it->second;
      }
      return kNone;
    case PayloadFieldType::kBool:
      if (const auto* b = std::get_if<bool>(&value)) return bool_ordinal_[*b ? 1 : 0];
      return kNone;
    case PayloadFieldType::kFloat:
      return kNone;
  }
  return kNone;
}

void FieldIndex::Forget(uint32_t id, uint32_t ordinal) {
  Bitmap& bitmap = bitmaps_[ordinal - 1];
  bitmap.remove(id);
  // Empty bitmaps stay (with their ordinal): values usually come back, and ordinals stay stable.
}

void FieldIndex::Erase(uint32_t id) {
  if (id >= ordinal_by_id_.size()) return;
  const uint32_t ordinal = ordinal_by_id_[id];
  if (ordinal == kMany) {
    auto it = many_.find(id);
    for (uint32_t o : it->second) Forget(id, o);
    many_.erase(it);
  } else if (ordinal != kNone) {
    Forget(id, ordinal);
  }
  ordinal_by_id_[id] = kNone;
  with_values_.remove(id);
}

void FieldIndex::Set(uint32_t id, const nlohmann::json& payload) {
  Erase(id);
  if (!payload.is_object()) return;
  std::vector<uint32_t> ordinals;
  filter::ForEachValue(payload, path_, [&](const nlohmann::json& value) {
    const uint32_t ordinal = Intern(value);
    if (ordinal != kNone && std::find(ordinals.begin(), ordinals.end(), ordinal) == ordinals.end()) {
      ordinals.push_back(ordinal);
    }
  });
  if (ordinals.empty()) return;
  if (id >= ordinal_by_id_.size()) ordinal_by_id_.resize(std::max<size_t>(id + 1, ordinal_by_id_.size() * 3 / 2), kNone);
  for (uint32_t o : ordinals) bitmaps_[o - 1].add(id);
  with_values_.add(id);
  if (ordinals.size() == 1) {
    ordinal_by_id_[id] = ordinals.front();
  } else {
    ordinal_by_id_[id] = kMany;
    many_[id] = std::move(ordinals);
  }
}

std::optional<Bitmap> FieldIndex::Range(const RangeBounds& bounds) const {
  const double low = LowerBound(bounds);
  if (type_ == PayloadFieldType::kFloat) {
    auto first = std::isinf(low) ? floats_.begin() : floats_.lower_bound(low);
    return UnionInRange(floats_, first, bounds, bitmaps_);
  }
  if (type_ != PayloadFieldType::kInteger || saw_float_) return std::nullopt;
  auto first = integers_.begin();
  if (!std::isinf(low) && low > static_cast<double>(INT64_MIN)) {
    // 2^63 as a double is just beyond INT64_MAX: every key is below it.
    first = low >= 0x1p63 ? integers_.end() : integers_.lower_bound(static_cast<int64_t>(std::floor(low)));
    // Conditions compare as doubles, which round integers beyond 2^53: keys just below the
    // bound may round onto it. Step back over those.
    while (first != integers_.begin() && InRange(static_cast<double>(std::prev(first)->first), bounds)) --first;
  }
  return UnionInRange(integers_, first, bounds, bitmaps_);
}

std::optional<Bitmap> FieldIndex::Evaluate(const FieldCondition& c) const {
  const auto union_of = [&](const std::vector<MatchValue>& values) -> std::optional<Bitmap> {
    std::vector<const Bitmap*> parts;
    for (const MatchValue& v : values) {
      // A value of another type than the index's may still match a payload value the index
      // skipped (a string in an integer field): only the per-point evaluation can tell.
      const bool own_type = (type_ == PayloadFieldType::kKeyword && std::holds_alternative<std::string>(v)) ||
                            (type_ == PayloadFieldType::kInteger && std::holds_alternative<int64_t>(v)) ||
                            (type_ == PayloadFieldType::kBool && std::holds_alternative<bool>(v));
      if (!own_type) return std::nullopt;
      const uint32_t ordinal = Find(v);
      if (ordinal != kNone) parts.push_back(&bitmaps_[ordinal - 1]);
    }
    if (parts.empty()) return Bitmap();
    return Bitmap::fastunion(parts.size(), parts.data());
  };
  if (c.match_value) return union_of({*c.match_value});
  if (c.match_any) return union_of(*c.match_any);
  if (c.range) return Range(*c.range);
  return std::nullopt;
}

size_t FieldIndex::memory_bytes() const {
  size_t bytes = sizeof(*this) + ordinal_by_id_.capacity() * sizeof(uint32_t) + with_values_.getSizeInBytes();
  for (const Bitmap& b : bitmaps_) bytes += sizeof(Bitmap) + b.getSizeInBytes();
  bytes += keywords_.size() * 48 + integers_.size() * 48 + floats_.size() * 48 + many_.size() * 64;
  for (const auto& [text, ordinal] : keywords_) bytes += text.capacity();
  return bytes;
}

}  // namespace vecdex::payload
