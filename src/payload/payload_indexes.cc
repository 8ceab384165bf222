#include "payload/payload_indexes.h"

#include <algorithm>
#include <mutex>

#include "filter/json_path.h"

namespace vecdex {

std::string_view PayloadFieldTypeName(PayloadFieldType type) {
  switch (type) {
    case PayloadFieldType::kKeyword:
      return "keyword";
    case PayloadFieldType::kInteger:
      return "integer";
    case PayloadFieldType::kFloat:
      return "float";
    case PayloadFieldType::kBool:
      return "bool";
  }
  return "keyword";
}

std::optional<PayloadFieldType> ParsePayloadFieldType(std::string_view name) {
  for (PayloadFieldType t : {PayloadFieldType::kKeyword, PayloadFieldType::kInteger, PayloadFieldType::kFloat,
                             PayloadFieldType::kBool}) {
    if (name == PayloadFieldTypeName(t)) return t;
  }
  return std::nullopt;
}

}  // namespace vecdex

namespace vecdex::payload {
namespace {

uint32_t Id32(Label id) { return static_cast<uint32_t>(id); }

}  // namespace

void PayloadIndexes::ResetPoints(std::span<const Label> ids) {
  std::unique_lock lock(mu_);
  all_ = Bitmap();
  std::vector<uint32_t> small;
  small.reserve(ids.size());
  for (Label id : ids) {
    if (id > kMaxId) {
      overflow_ = true;
      continue;
    }
    small.push_back(Id32(id));
  }
  std::sort(small.begin(), small.end());
  all_.addMany(small.size(), small.data());
  all_.runOptimize();
}

void PayloadIndexes::AddField(FieldPath path, PayloadFieldType type) {
  std::unique_lock lock(mu_);
  const std::string text = path.text;
  auto it = std::lower_bound(fields_.begin(), fields_.end(), text,
                             [](const Field& f, const std::string& t) { return f.index->path().text < t; });
  Field field{std::make_unique<FieldIndex>(std::move(path), type), false};
  if (it != fields_.end() && it->index->path().text == text) {
    *it = std::move(field);
  } else {
    fields_.insert(it, std::move(field));
  }
}

bool PayloadIndexes::DropField(std::string_view path_text) {
  std::unique_lock lock(mu_);
  auto it = std::find_if(fields_.begin(), fields_.end(), [&](const Field& f) { return f.index->path().text == path_text; });
  if (it == fields_.end()) return false;
  fields_.erase(it);
  return true;
}

std::vector<PayloadIndexInfo> PayloadIndexes::Fields() const {
  std::shared_lock lock(mu_);
  std::vector<PayloadIndexInfo> out;
  for (const Field& f : fields_) {
    out.push_back(PayloadIndexInfo{f.index->path().text, f.index->type(), f.index->points(), f.ready});
  }
  return out;
}

const PayloadIndexes::Field* PayloadIndexes::FindField(std::string_view path_text) const {
  for (const Field& f : fields_) {
    if (f.index->path().text == path_text) return &f;
  }
  return nullptr;
}

void PayloadIndexes::FieldSet(std::string_view path_text, Label id, const nlohmann::json& payload) {
  if (id > kMaxId) return;
  std::unique_lock lock(mu_);
  if (const Field* f = FindField(path_text); f != nullptr && !f->ready) f->index->Set(Id32(id), payload);
}

void PayloadIndexes::MarkReady(std::string_view path_text) {
  std::unique_lock lock(mu_);
  for (Field& f : fields_) {
    if (f.index->path().text == path_text) f.ready = true;
  }
}

void PayloadIndexes::Set(Label id, const nlohmann::json& payload) {
  std::unique_lock lock(mu_);
  if (id > kMaxId) {
    overflow_ = true;
    return;
  }
  all_.add(Id32(id));
  for (Field& f : fields_) f.index->Set(Id32(id), payload);
}

void PayloadIndexes::Erase(Label id) {
  if (id > kMaxId) return;
  std::unique_lock lock(mu_);
  all_.remove(Id32(id));
  for (Field& f : fields_) f.index->Erase(Id32(id));
}

uint64_t PayloadIndexes::point_count() const {
  std::shared_lock lock(mu_);
  return all_.cardinality();
}

Bitmap PayloadIndexes::AllPoints() const {
  std::shared_lock lock(mu_);
  return all_;
}

bool PayloadIndexes::HasFields() const {
  std::shared_lock lock(mu_);
  return !fields_.empty();
}

size_t PayloadIndexes::memory_bytes() const {
  std::shared_lock lock(mu_);
  size_t bytes = all_.getSizeInBytes();
  for (const Field& f : fields_) bytes += f.index->memory_bytes();
  return bytes;
}

Result<Candidates> PayloadIndexes::Resolve(const Filter& filter, const KeyResolver& resolve_keys) const {
  std::shared_lock lock(mu_);
  Candidates out;
  if (overflow_) return out;  // every point, inexact
  VECDEX_ASSIGN_OR_RETURN(Node node, ResolveFilter(filter, resolve_keys));
  out.exact = node.exact;
  if (node.ids) {
    out.narrowed = true;
    out.ids = std::move(*node.ids);
    out.ids &= all_;  // has_id may name points deleted since
  }
  return out;
}

Result<PayloadIndexes::Node> PayloadIndexes::ResolveCondition(const Condition& condition,
                                                              const KeyResolver& resolve_keys) const {
  if (const auto* field = std::get_if<FieldCondition>(&condition)) {
    const Field* f = FindField(field->path.text);
    if (f != nullptr && f->ready) {
      if (std::optional<Bitmap> ids = f->index->Evaluate(*field)) return Node{std::move(ids), true};
    }
    return Node{std::nullopt, false};
  }
  if (const auto* has_id = std::get_if<HasIdCondition>(&condition)) {
    VECDEX_ASSIGN_OR_RETURN(std::vector<Label> ids, resolve_keys(has_id->keys));
    Bitmap bitmap;
    for (Label id : ids) {
      if (id <= kMaxId) bitmap.add(Id32(id));
    }
    return Node{std::move(bitmap), true};
  }
  if (const auto* sub = std::get_if<FilterCondition>(&condition)) return ResolveFilter(*sub->filter, resolve_keys);
  return Node{std::nullopt, false};  // is_empty, is_null, nested: per point
}

Result<PayloadIndexes::Node> PayloadIndexes::ResolveFilter(const Filter& filter, const KeyResolver& resolve_keys) const {
  Node result{std::nullopt, true};
  for (const Condition& c : filter.must) {
    VECDEX_ASSIGN_OR_RETURN(Node n, ResolveCondition(c, resolve_keys));
    result.exact = result.exact && n.exact;
    if (n.ids) {
      if (result.ids) {
        *result.ids &= *n.ids;
      } else {
        result.ids = std::move(n.ids);
      }
    }
  }
  if (!filter.should.empty()) {
    std::optional<Bitmap> any = Bitmap();
    bool exact = true;
    for (const Condition& c : filter.should) {
      VECDEX_ASSIGN_OR_RETURN(Node n, ResolveCondition(c, resolve_keys));
      exact = exact && n.exact;
      if (!n.ids) {
        any.reset();  // an operand that may match anything: no narrowing
      } else if (any) {
        *any |= *n.ids;
      }
    }
    result.exact = result.exact && exact;
    if (any) {
      if (result.ids) {
        *result.ids &= *any;
      } else {
        result.ids = std::move(any);
      }
    }
  }
  for (const Condition& c : filter.must_not) {
    VECDEX_ASSIGN_OR_RETURN(Node n, ResolveCondition(c, resolve_keys));
    if (!n.exact) {
      result.exact = false;
      continue;
    }
    if (!result.ids) result.ids = all_;
    if (n.ids) {
      *result.ids -= *n.ids;
    } else {
      *result.ids = Bitmap();  // must_not of "everything"
    }
  }
  if (filter.min_should) result.exact = false;
  return result;
}

}  // namespace vecdex::payload
