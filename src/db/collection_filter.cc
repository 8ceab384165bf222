// Filters: payload indexes kept in step with the store, and the planner that decides how a
// filtered search runs.
//
// The plan (PlanSearch), from the candidates the payload indexes give (payload_indexes.h):
//   - nothing can match: an empty answer without touching the index;
//   - exactly known matches, few of them (at most ExactScanLimit): score them all
//     (Index::SearchAmong). Exact, and cheaper than a graph walk that has to step over the
//     many non-matching nodes to find k matching ones;
//   - exactly known matches, many: walk the graph accepting only them (a bitmap lookup per
//     visited node); the walk falls back to an exact scan when it finds fewer than k;
//   - matches known only as a superset (a condition no index answers): the payloads of a sample
//     estimate how many match; few candidates are evaluated all and scored exactly, otherwise
//     the walk evaluates each visited candidate's payload (read from the store, cached per
//     query).
//
// ExactScanLimit: the walk computes about kWalkDistancesPerEf * ef / s distances at selectivity
// s (hnsw_algo.h), each a random access; the scan computes one per match, prefetched in slot
// order. Equal cost at n^2 = kWalkDistancesPerEf * ef * N (n matches out of N); the scan's
// distances are cheaper, which kScanAdvantage accounts for (measured on glove-100, see
// bench/RESULTS.md). Below kExactFloor matches the scan always wins.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "db/collection_impl.h"
#include "filter/json_path.h"

namespace vecdex::db {
namespace {

constexpr std::string_view kPayloadSchemaMetaKey = "collection.payload_indexes";
constexpr double kWalkDistancesPerEf = 4.0;
constexpr double kScanAdvantage = 4.0;
constexpr double kExactFloor = 2048;
// Superset candidates up to this many are evaluated all (payload reads) and scored exactly.
constexpr uint64_t kEvaluateAllLimit = 20000;
constexpr size_t kEstimateSamples = 64;  // payloads read to estimate an unindexed filter's share
constexpr size_t kReadBatch = 1024;
constexpr size_t kDefaultEf = 100;

uint64_t ExactScanLimit(uint64_t total, size_t ef) {
  const double n = std::sqrt(kScanAdvantage * kWalkDistancesPerEf * static_cast<double>(ef) * static_cast<double>(total));
  return static_cast<uint64_t>(std::max(kExactFloor, n));
}

nlohmann::json ParsePayload(const std::string& text) {
  if (text.empty()) return nullptr;
  return nlohmann::json::parse(text, nullptr, false);  // the store validated it
}

std::vector<Label> ToLabels(const payload::Bitmap& ids) {
  std::vector<uint32_t> small(ids.cardinality());
  ids.toUint32Array(small.data());
  return std::vector<Label>(small.begin(), small.end());
}

// Admits the points of an exactly known set.
class BitmapFilter final : public LabelFilter {
 public:
  explicit BitmapFilter(payload::Bitmap ids) : ids_(std::move(ids)) { ids_.runOptimize(); }
  bool Matches(Label label) const override {
    return label <= payload::PayloadIndexes::kMaxId && ids_.contains(static_cast<uint32_t>(label));
  }

 private:
  payload::Bitmap ids_;
};

// Admits candidates whose stored payload matches: one store read per candidate, remembered for
// the rest of the search (the walk meets a node many times).
class PayloadFilter final : public LabelFilter {
 public:
  PayloadFilter(std::shared_ptr<const Filter> filter, std::optional<payload::Bitmap> superset, store::Store* store)
      : filter_(std::move(filter)), superset_(std::move(superset)), store_(store) {}
  bool Matches(Label label) const override {
    if (superset_ && (label > payload::PayloadIndexes::kMaxId || !superset_->contains(static_cast<uint32_t>(label)))) {
      return false;
    }
    {
      std::lock_guard lock(mu_);
      if (auto it = seen_.find(label); it != seen_.end()) return it->second;
    }
    const Label ids[1] = {label};
    Result<std::vector<store::StoredPoint>> points = store_->GetById(ids, false, true);
    const bool match = points.ok() && !points->empty() &&
                       filter::Matches(*filter_, points->front().key, ParsePayload(points->front().payload_json));
    std::lock_guard lock(mu_);
    seen_.emplace(label, match);
    return match;
  }

 private:
  std::shared_ptr<const Filter> filter_;
  std::optional<payload::Bitmap> superset_;
  store::Store* store_;
  mutable std::mutex mu_;
  mutable std::unordered_map<Label, bool> seen_;
};

}  // namespace

Result<payload::Candidates> CollectionImpl::ResolveFilter(const Filter& filter) {
  return payload_.Resolve(filter, [this](std::span<const PointKey> keys) -> Result<std::vector<Label>> {
    std::vector<Label> ids;
    for (size_t i = 0; i < keys.size();) {
      std::vector<PointKey> valid;
      for (; i < keys.size() && valid.size() < kReadBatch; ++i) {
        if (ValidatePointKey(keys[i]).ok()) valid.push_back(keys[i]);  // an invalid key names no point
      }
      VECDEX_ASSIGN_OR_RETURN(std::vector<store::StoredPoint> found, store_->Get(valid, false, false));
      for (const store::StoredPoint& p : found) ids.push_back(p.id);
    }
    return ids;
  });
}

Result<payload::Bitmap> CollectionImpl::MatchingIds(const Filter& filter, const payload::Candidates& candidates) {
  payload::Bitmap superset = candidates.narrowed ? candidates.ids : payload_.AllPoints();
  if (candidates.exact) return superset;
  payload::Bitmap matches;
  std::vector<Label> batch;
  batch.reserve(kReadBatch);
  const auto flush = [&]() -> Status {
    VECDEX_ASSIGN_OR_RETURN(std::vector<store::StoredPoint> points, store_->GetById(batch, false, true));
    for (const store::StoredPoint& p : points) {
      if (filter::Matches(filter, p.key, ParsePayload(p.payload_json))) matches.add(static_cast<uint32_t>(p.id));
    }
    batch.clear();
    return Status::Ok();
  };
  for (uint32_t id : superset) {
    batch.push_back(id);
    if (batch.size() == kReadBatch) VECDEX_RETURN_IF_ERROR(flush());
  }
  if (!batch.empty()) VECDEX_RETURN_IF_ERROR(flush());
  return matches;
}

Result<double> CollectionImpl::EstimateShare(const Filter& filter, const payload::Bitmap& candidates) {
  const uint64_t n = candidates.cardinality();
  if (n == 0) return 0.0;
  std::vector<Label> sample;
  const uint64_t step = std::max<uint64_t>(1, n / kEstimateSamples);
  for (uint64_t rank = step / 2; rank < n && sample.size() < kEstimateSamples; rank += step) {
    uint32_t id = 0;
    if (candidates.select(static_cast<uint32_t>(rank), &id)) sample.push_back(id);
  }
  VECDEX_ASSIGN_OR_RETURN(std::vector<store::StoredPoint> points, store_->GetById(sample, false, true));
  size_t matched = 0;
  for (const store::StoredPoint& p : points) matched += filter::Matches(filter, p.key, ParsePayload(p.payload_json));
  // Half a match when none was seen: the share is small, not zero (the walk would never end).
  return std::max(0.5, static_cast<double>(matched)) / static_cast<double>(std::max<size_t>(1, points.size()));
}

Result<CollectionImpl::SearchPlan> CollectionImpl::PlanSearch(const SearchRequest& request, size_t ef) {
  SearchPlan plan;
  if (request.filter == nullptr && !request.only_keys && !request.exact) return plan;
  payload::Candidates c;
  c.exact = true;
  if (request.filter != nullptr) {
    VECDEX_ASSIGN_OR_RETURN(c, ResolveFilter(*request.filter));
  }
  if (request.only_keys) {
    VECDEX_ASSIGN_OR_RETURN(std::vector<store::StoredPoint> allowed, store_->Get(*request.only_keys, false, false));
    payload::Bitmap ids;
    for (const store::StoredPoint& p : allowed) {
      if (p.id <= payload::PayloadIndexes::kMaxId) ids.add(static_cast<uint32_t>(p.id));
    }
    if (c.narrowed) {
      c.ids &= ids;
    } else {
      c.ids = std::move(ids);
      c.narrowed = true;
    }
  }
  const uint64_t total = payload_.point_count();
  const uint64_t exact_limit = ExactScanLimit(total, ef == 0 ? kDefaultEf : ef);
  if (c.exact) {
    if (!c.narrowed) {  // every point matches
      if (!request.exact) return plan;
      plan.kind = SearchPlan::Kind::kAmong;
      plan.candidates = ToLabels(payload_.AllPoints());
      return plan;
    }
    const uint64_t n = c.ids.cardinality();
    if (n == 0) {
      plan.kind = SearchPlan::Kind::kNone;
    } else if (request.exact || n <= exact_limit) {
      plan.kind = SearchPlan::Kind::kAmong;
      plan.candidates = ToLabels(c.ids);
    } else {
      plan.kind = SearchPlan::Kind::kTraverse;
      plan.filter = std::make_unique<BitmapFilter>(std::move(c.ids));
    }
    return plan;
  }
  // Some condition needs the payloads. Evaluate every candidate when that costs fewer payload
  // reads than the walk would make (it reads one per visited candidate, about
  // kWalkDistancesPerEf * ef / s of them at selectivity s, estimated from a sample), or when the
  // search is exact; otherwise walk the graph evaluating the candidates it visits.
  const uint64_t superset = c.narrowed ? c.ids.cardinality() : total;
  bool evaluate_all = request.exact || superset <= kEvaluateAllLimit;
  if (!evaluate_all) {
    VECDEX_ASSIGN_OR_RETURN(double share, EstimateShare(*request.filter, c.narrowed ? c.ids : payload_.AllPoints()));
    const double walk_reads = kWalkDistancesPerEf * static_cast<double>(ef == 0 ? kDefaultEf : ef) / share;
    evaluate_all = static_cast<double>(superset) <= walk_reads;
  }
  if (evaluate_all) {
    VECDEX_ASSIGN_OR_RETURN(payload::Bitmap matches, MatchingIds(*request.filter, c));
    if (matches.isEmpty()) {
      plan.kind = SearchPlan::Kind::kNone;
    } else {
      plan.kind = SearchPlan::Kind::kAmong;
      plan.candidates = ToLabels(matches);
    }
    return plan;
  }
  plan.kind = SearchPlan::Kind::kTraverse;
  std::optional<payload::Bitmap> bound;
  if (c.narrowed) bound = std::move(c.ids);
  plan.filter = std::make_unique<PayloadFilter>(request.filter, std::move(bound), store_.get());
  return plan;
}

Result<uint64_t> CollectionImpl::CountWhere(const Filter& filter) {
  std::shared_lock life(lifecycle_mu_);
  VECDEX_RETURN_IF_ERROR(CheckOpen());
  VECDEX_ASSIGN_OR_RETURN(payload::Candidates c, ResolveFilter(filter));
  if (c.exact && !c.narrowed) return store_->Count();
  VECDEX_ASSIGN_OR_RETURN(payload::Bitmap matches, MatchingIds(filter, c));
  return matches.cardinality();
}

Result<WriteSummary> CollectionImpl::DeleteWhere(const Filter& filter) {
  std::shared_lock life(lifecycle_mu_);
  VECDEX_RETURN_IF_ERROR(CheckOpen());
  std::unique_lock lock(write_mu_);
  VECDEX_RETURN_IF_ERROR(WaitWritable(lock));
  // Under the write lock: the matches cannot change before they are deleted.
  VECDEX_ASSIGN_OR_RETURN(payload::Candidates c, ResolveFilter(filter));
  VECDEX_ASSIGN_OR_RETURN(payload::Bitmap matches, MatchingIds(filter, c));
  if (matches.isEmpty()) return WriteSummary{};
  VECDEX_ASSIGN_OR_RETURN(std::vector<store::StoredPoint> points, store_->GetById(ToLabels(matches), false, false));
  std::vector<PointKey> keys;
  keys.reserve(points.size());
  for (store::StoredPoint& p : points) keys.push_back(std::move(p.key));
  return DeleteLocked(keys, lock);
}

// ---------------------------------------------------------------------------- payload indexes

Status CollectionImpl::RefreshPayloads(std::span<const Label> ids) {
  if (ids.empty() || !payload_.HasFields()) return Status::Ok();
  for (size_t begin = 0; begin < ids.size(); begin += kReadBatch) {
    const std::span<const Label> batch = ids.subspan(begin, std::min(kReadBatch, ids.size() - begin));
    VECDEX_ASSIGN_OR_RETURN(std::vector<store::StoredPoint> points, store_->GetById(batch, false, true));
    for (const store::StoredPoint& p : points) payload_.Set(p.id, ParsePayload(p.payload_json));
  }
  return Status::Ok();
}

Status CollectionImpl::SavePayloadSchema(const std::vector<PayloadIndexInfo>& fields) {
  nlohmann::json schema = nlohmann::json::array();
  for (const PayloadIndexInfo& f : fields) {
    schema.push_back({{"field", f.field}, {"type", std::string(PayloadFieldTypeName(f.type))}});
  }
  const store::MetaEntry entry{std::string(kPayloadSchemaMetaKey), schema.dump()};
  return store_->PutMeta(std::span<const store::MetaEntry>(&entry, 1));
}

Status CollectionImpl::BuildPayloadIndexes(std::span<const std::string> fields) {
  // One pass over the store for every field: parsing the payloads is most of the cost.
  std::optional<PointKey> after;
  for (;;) {
    VECDEX_ASSIGN_OR_RETURN(store::ScrollPage page, store_->Scroll(after, 10000, false, true));
    for (const store::StoredPoint& p : page.points) {
      if (p.payload_json.empty()) continue;
      const nlohmann::json payload = ParsePayload(p.payload_json);
      for (const std::string& field : fields) payload_.FieldSet(field, p.id, payload);
    }
    if (!page.next) break;
    after = std::move(page.next);
  }
  for (const std::string& field : fields) payload_.MarkReady(field);
  return Status::Ok();
}

Status CollectionImpl::LoadPayloadIndexes() {
  payload_.ResetPoints(CurrentIndex()->Labels());
  Result<std::string> text = store_->GetMeta(kPayloadSchemaMetaKey);
  if (!text.ok()) return text.status().code() == StatusCode::kNotFound ? Status::Ok() : text.status();
  const nlohmann::json schema = nlohmann::json::parse(*text, nullptr, false);
  if (!schema.is_array()) {
    return Status::Corruption(FilePath("store.db") + ": meta " + std::string(kPayloadSchemaMetaKey) +
                              " is not a JSON array");
  }
  std::vector<std::string> fields;
  for (const nlohmann::json& entry : schema) {
    const std::string field = entry.value("field", "");
    const std::optional<PayloadFieldType> type = ParsePayloadFieldType(entry.value("type", ""));
    Result<FieldPath> path = filter::ParseFieldPath(field);
    if (!path.ok() || !type) {
      return Status::Corruption(FilePath("store.db") + ": meta " + std::string(kPayloadSchemaMetaKey) +
                                " has a malformed entry " + entry.dump());
    }
    payload_.AddField(std::move(*path), *type);
    fields.push_back(field);
  }
  if (fields.empty()) return Status::Ok();
  const auto start = std::chrono::steady_clock::now();
  VECDEX_RETURN_IF_ERROR(BuildPayloadIndexes(fields));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (seconds > 1.0) Log("payload indexes built from the store in " + std::to_string(seconds) + " s");
  return Status::Ok();
}

Status CollectionImpl::CreatePayloadIndex(std::string_view field, PayloadFieldType type) {
  std::shared_lock life(lifecycle_mu_);
  VECDEX_RETURN_IF_ERROR(CheckOpen());
  VECDEX_ASSIGN_OR_RETURN(FieldPath path, filter::ParseFieldPath(field));
  std::unique_lock lock(write_mu_);
  VECDEX_RETURN_IF_ERROR(WaitWritable(lock));
  for (const PayloadIndexInfo& f : payload_.Fields()) {
    if (f.field == path.text && f.type == type) return Status::Ok();
  }
  // The schema is saved first: memory changes only once the store knows the index (a failed
  // save changes nothing; a failed build after it is retried by the next open).
  const std::string text = path.text;
  std::vector<PayloadIndexInfo> schema = payload_.Fields();
  std::erase_if(schema, [&](const PayloadIndexInfo& f) { return f.field == text; });
  schema.push_back(PayloadIndexInfo{text, type, 0, true});
  VECDEX_RETURN_IF_ERROR(SavePayloadSchema(schema));
  payload_.AddField(std::move(path), type);
  // Writers wait while the index is filled from the store; searches go on, evaluating the
  // field per point until it is ready.
  VECDEX_RETURN_IF_ERROR(BuildPayloadIndexes(std::span<const std::string>(&text, 1)));
  Log("payload index on '" + text + "' (" + std::string(PayloadFieldTypeName(type)) + ") ready");
  return Status::Ok();
}

Status CollectionImpl::DropPayloadIndex(std::string_view field) {
  std::shared_lock life(lifecycle_mu_);
  VECDEX_RETURN_IF_ERROR(CheckOpen());
  std::unique_lock lock(write_mu_);
  VECDEX_RETURN_IF_ERROR(WaitWritable(lock));
  std::vector<PayloadIndexInfo> schema = payload_.Fields();
  if (std::erase_if(schema, [&](const PayloadIndexInfo& f) { return f.field == field; }) == 0) {
    return Status::NotFound("collection " + name_ + " has no payload index on '" + std::string(field) + "'");
  }
  VECDEX_RETURN_IF_ERROR(SavePayloadSchema(schema));
  payload_.DropField(field);
  return Status::Ok();
}

}  // namespace vecdex::db
