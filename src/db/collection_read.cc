// Reads: points from the store, nearest neighbours from the index (ids resolved to keys and
// payloads through the store), and what a collection reports about itself.
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "db/collection_impl.h"
#include "db/fs_util.h"
#include "filter/json_path.h"

#include <nlohmann/json.hpp>

namespace vecdex::db {
namespace {

PointRecord ToRecord(store::StoredPoint&& p) {
  return PointRecord{std::move(p.key), std::move(p.vector), std::move(p.payload_json)};
}

}  // namespace

Result<std::vector<PointRecord>> CollectionImpl::Get(std::span<const PointKey> keys, bool with_vector,
                                                     bool with_payload) {
  std::shared_lock life(lifecycle_mu_);
  VECDEX_RETURN_IF_ERROR(CheckOpen());
  VECDEX_ASSIGN_OR_RETURN(std::vector<store::StoredPoint> points, store_->Get(keys, with_vector, with_payload));
  std::vector<PointRecord> out;
  out.reserve(points.size());
  for (store::StoredPoint& p : points) out.push_back(ToRecord(std::move(p)));
  return out;
}

Result<uint64_t> CollectionImpl::Count() {
  std::shared_lock life(lifecycle_mu_);
  VECDEX_RETURN_IF_ERROR(CheckOpen());
  return store_->Count();
}

Result<ScrollResult> CollectionImpl::Scroll(const ScrollRequest& request) {
  std::shared_lock life(lifecycle_mu_);
  VECDEX_RETURN_IF_ERROR(CheckOpen());
  ScrollResult out;
  if (request.filter == nullptr) {
    VECDEX_ASSIGN_OR_RETURN(store::ScrollPage page, store_->Scroll(request.start_after, request.limit,
                                                                   request.with_vector, request.with_payload));
    out.points.reserve(page.points.size());
    for (store::StoredPoint& p : page.points) out.points.push_back(ToRecord(std::move(p)));
    out.next = std::move(page.next);
    return out;
  }
  if (request.limit == 0) return Status::InvalidArgument("scroll: limit must be at least 1");
  // Pages in key order, keeping the matching points: by the payload indexes' answer when it is
  // exact, else by each point's payload.
  VECDEX_ASSIGN_OR_RETURN(payload::Candidates c, ResolveFilter(*request.filter));
  const bool need_payload = request.with_payload || !c.exact;
  std::optional<PointKey> after = request.start_after;
  size_t page_size = std::max<size_t>(request.limit, 256);
  for (;;) {
    VECDEX_ASSIGN_OR_RETURN(store::ScrollPage page,
                            store_->Scroll(after, page_size, request.with_vector, need_payload));
    for (store::StoredPoint& p : page.points) {
      bool match;
      if (c.exact) {
        match = !c.narrowed || (p.id <= payload::PayloadIndexes::kMaxId && c.ids.contains(static_cast<uint32_t>(p.id)));
      } else {
        match = (!c.narrowed || c.ids.contains(static_cast<uint32_t>(p.id))) &&
                filter::Matches(*request.filter, p.key,
                                p.payload_json.empty() ? nlohmann::json()
                                                       : nlohmann::json::parse(p.payload_json, nullptr, false));
      }
      after = p.key;
      if (!match) continue;
      if (!request.with_payload) p.payload_json.clear();
      out.points.push_back(ToRecord(std::move(p)));
      if (out.points.size() == request.limit) {
        out.next = after;
        return out;
      }
    }
    if (!page.next) return out;
    page_size = std::min<size_t>(page_size * 2, 16384);
  }
}

Result<std::vector<ScoredPoint>> CollectionImpl::Search(std::span<const float> query, const SearchRequest& request) {
  if (query.empty()) return Status::InvalidArgument("search: the query vector is empty");
  VECDEX_ASSIGN_OR_RETURN(std::vector<std::vector<ScoredPoint>> rows,
                          SearchBatch(MatrixView{query.data(), 1, query.size()}, request));
  return std::move(rows.front());
}

Result<std::vector<std::vector<ScoredPoint>>> CollectionImpl::SearchBatch(MatrixView queries,
                                                                          const SearchRequest& request) {
  std::shared_lock life(lifecycle_mu_);
  VECDEX_RETURN_IF_ERROR(CheckOpen());
  if (request.k == 0 || request.k > kMaxK || request.offset > kMaxK - request.k) {
    return Status::InvalidArgument("search: k must be in [1, " + std::to_string(kMaxK) + "] and offset + k at most " +
                                   std::to_string(kMaxK) + ", got k " + std::to_string(request.k) + ", offset " +
                                   std::to_string(request.offset));
  }
  if (queries.dim != config_.dim) {
    return Status::InvalidArgument("search: the query has dimension " + std::to_string(queries.dim) +
                                   ", collection " + name_ + " has " + std::to_string(config_.dim));
  }
  if (request.score_threshold && !std::isfinite(*request.score_threshold)) {
    return Status::InvalidArgument("search: score_threshold must be a finite number");
  }
  std::vector<std::vector<ScoredPoint>> out;
  if (queries.rows == 0) return out;
  const std::shared_ptr<Index> index = CurrentIndex();

  VECDEX_ASSIGN_OR_RETURN(SearchPlan plan, PlanSearch(request, request.ef));
  if (plan.kind == SearchPlan::Kind::kNone) {
    out.assign(queries.rows, {});
    return out;
  }
  const size_t wanted = request.offset + request.k;
  SearchParams params;
  params.ef = request.ef;
  params.filter = plan.filter.get();
  const std::span<const Label> among =
      plan.kind == SearchPlan::Kind::kAmong ? std::span<const Label>(plan.candidates) : std::span<const Label>();
  // A point deleted between the index's answer and the store read is dropped from the answer.
  // The search then runs again asking the index for as many more candidates as were dropped, so
  // a query still gets k results whenever k points exist. This only happens when a delete
  // raced this very search (for flat indexes, until the delete reaches the index).
  constexpr int kAttempts = 6;
  size_t extra = 0;
  for (int attempt = 1;; ++attempt) {
    params.k = wanted + extra;
    VECDEX_ASSIGN_OR_RETURN(size_t shortfall,
                            SearchOnce(*index, queries, params, plan.kind == SearchPlan::Kind::kAmong ? &among : nullptr,
                                       wanted, request, &out));
    if (shortfall == 0 || attempt == kAttempts) break;
    extra = 2 * (extra + shortfall);
  }
  // Pagination and the score threshold (L2 scores are distances: smaller is better).
  for (std::vector<ScoredPoint>& row : out) {
    row.erase(row.begin(), row.begin() + static_cast<ptrdiff_t>(std::min(request.offset, row.size())));
    if (request.score_threshold) {
      const float t = *request.score_threshold;
      const bool lower_is_better = config_.metric == Metric::kL2;
      std::erase_if(row, [&](const ScoredPoint& p) { return lower_is_better ? p.score > t : p.score < t; });
    }
  }
  return out;
}

Result<size_t> CollectionImpl::SearchOnce(const Index& index, MatrixView queries, const SearchParams& params,
                                          const std::span<const Label>* among, size_t wanted,
                                          const SearchRequest& request, std::vector<std::vector<ScoredPoint>>* out) {
  SearchResults found;
  {
    std::shared_lock<std::shared_mutex> readers;
    if (!index.concurrent_writes()) readers = std::shared_lock(index_rw_);
    if (among != nullptr) {
      VECDEX_RETURN_IF_ERROR(index.SearchAmong(queries, *among, params, &found));
    } else {
      VECDEX_RETURN_IF_ERROR(index.Search(queries, params, &found));
    }
  }

  // Ids to keys (and vectors, payloads) in one store read.
  std::vector<Label> ids;
  for (size_t q = 0; q < found.num_queries; ++q) {
    for (size_t i = 0; i < found.count_of(q); ++i) ids.push_back(found.labels_of(q)[i]);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  VECDEX_ASSIGN_OR_RETURN(std::vector<store::StoredPoint> points,
                          store_->GetById(ids, request.with_vector, request.with_payload));
  std::unordered_map<Label, const store::StoredPoint*> by_id;
  for (const store::StoredPoint& p : points) by_id.emplace(p.id, &p);

  out->assign(queries.rows, {});
  size_t shortfall = 0;
  for (size_t q = 0; q < found.num_queries; ++q) {
    std::vector<ScoredPoint>& row = (*out)[q];
    for (size_t i = 0; i < found.count_of(q) && row.size() < wanted; ++i) {
      // A point deleted since the index answered is never returned.
      auto it = by_id.find(found.labels_of(q)[i]);
      if (it == by_id.end()) continue;
      const float distance = found.distances_of(q)[i];
      row.push_back(ScoredPoint{it->second->key, distance, DistanceToScore(config_.metric, distance),
                                it->second->vector, it->second->payload_json});
    }
    // Short only when the index had more to give (its row was full).
    if (row.size() < wanted && found.count_of(q) == params.k) shortfall = std::max(shortfall, wanted - row.size());
  }
  return shortfall;
}

Result<CollectionInfo> CollectionImpl::Info() {
  std::shared_lock life(lifecycle_mu_);
  VECDEX_RETURN_IF_ERROR(CheckOpen());
  CollectionInfo info;
  info.name = name_;
  info.config = config_;
  info.status = state_.load() == State::kLoading ? "loading" : "ready";
  info.recovery = recovery_;
  VECDEX_ASSIGN_OR_RETURN(info.points, store_->Count());
  const std::shared_ptr<Index> index = CurrentIndex();
  {
    std::shared_lock<std::shared_mutex> readers;
    if (!index->concurrent_writes()) readers = std::shared_lock(index_rw_);
    info.indexed = index->size();
    info.index_memory_bytes = index->memory_bytes();
  }
  info.last_sequence = store_->LastSequence();
  info.indexed_sequence = indexed_sequence_.load();
  info.snapshot_sequence = snapshot_sequence_.load();
  VECDEX_ASSIGN_OR_RETURN(store::StoreFileSizes sizes, store_->FileSizes());
  info.store_bytes = sizes.database_bytes;
  info.wal_bytes = sizes.wal_bytes;
  std::string file;
  {
    std::lock_guard lock(write_mu_);
    file = has_snapshot_ ? snapshot_file_ : "";
  }
  struct stat st {};
  if (!file.empty() && ::stat(FilePath(file).c_str(), &st) == 0) info.snapshot_bytes = static_cast<uint64_t>(st.st_size);
  info.payload_indexes = payload_.Fields();
  info.memory_budget_bytes = budget_->limit();
  info.memory_used_bytes = budget_->used();
  FillRebuildStatus(&info);
  return info;
}

Result<VerifyReport> CollectionImpl::Verify() {
  std::shared_lock life(lifecycle_mu_);
  VECDEX_RETURN_IF_ERROR(CheckOpen());
  VerifyReport report;
  const auto problem = [&](std::string line) {
    report.ok = false;
    report.problems.push_back(std::move(line));
  };
  // 1. The store: SQLite's integrity check and every row's checksum.
  if (Status s = store_->CheckIntegrity(store::OpenCheck::kFull); !s.ok()) problem(s.message());

  // 2. The snapshot CURRENT names, every checksum of it. Snapshots wait meanwhile: one would
  // publish a new CURRENT and delete the file this one names while it is being read.
  {
    std::lock_guard serial(snapshot_mu_);
    std::string file;
    {
      std::lock_guard lock(write_mu_);
      file = has_snapshot_ ? snapshot_file_ : "";
    }
    Result<std::string> manifest_text = ReadWholeFile(FilePath("CURRENT"));
    if (!manifest_text.ok()) {
      if (manifest_text.status().code() != StatusCode::kNotFound || !file.empty()) {
        problem(manifest_text.status().message());
      }
    } else if (Result<SnapshotManifest> m = DecodeManifest(*manifest_text, FilePath("CURRENT")); !m.ok()) {
      problem(m.status().message());
    } else {
      Result<std::unique_ptr<Index>> snapshot = OpenIndexFile(FilePath(m->index_file), IndexOpenMode::kMap);
      if (!snapshot.ok()) {
        problem(snapshot.status().message());
      } else {
        struct stat st {};
        if (::stat(FilePath(m->index_file).c_str(), &st) == 0) report.snapshot_bytes_checked = st.st_size;
        if ((*snapshot)->spec() != ActiveSpec()) {
          problem(FilePath(m->index_file) + ": snapshot index is '" + (*snapshot)->spec() + "', expected '" +
                  ActiveSpec() + "'");
        }
      }
    }
  }

  // 3. The index against the store: the same ids, nothing more, nothing less. Writers wait so
  // both are read at the same sequence.
  std::unique_lock lock(write_mu_);
  writable_cv_.wait(lock, [this] { return state_.load() != State::kLoading; });
  std::vector<Label> indexed = CurrentIndex()->Labels();
  std::sort(indexed.begin(), indexed.end());
  std::vector<Label> stored;
  const Status scan = store_->ForEachPoint([&](Label id, const PointKey&, std::span<const float>) {
    stored.push_back(id);
    return Status::Ok();
  });
  lock.unlock();
  if (!scan.ok()) problem(scan.message());
  report.points_checked = stored.size();
  std::vector<Label> missing;
  std::vector<Label> extra;
  std::set_difference(stored.begin(), stored.end(), indexed.begin(), indexed.end(), std::back_inserter(missing));
  std::set_difference(indexed.begin(), indexed.end(), stored.begin(), stored.end(), std::back_inserter(extra));
  if (!missing.empty()) {
    problem("collection " + name_ + ": " + std::to_string(missing.size()) + " stored points are not in the index (id " +
            std::to_string(missing.front()) + ", ...)");
  }
  if (!extra.empty()) {
    problem("collection " + name_ + ": the index holds " + std::to_string(extra.size()) +
            " ids the store does not (id " + std::to_string(extra.front()) + ", ...)");
  }
  return report;
}

}  // namespace vecdex::db
