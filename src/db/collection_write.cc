// Writes: commit to the store (the acknowledgement), then apply the same change to the index,
// both under write_mu_ so the index sees changes in sequence order.
#include <chrono>
#include <utility>

#include "db/collection_impl.h"

#include <nlohmann/json.hpp>

namespace vecdex::db {

Status CollectionImpl::WaitWritable(std::unique_lock<std::mutex>& lock) {
  if (options_.read_only) return Status::FailedPrecondition("collection " + name_ + " was opened read-only");
  writable_cv_.wait(lock, [this] { return state_.load() != State::kLoading; });
  VECDEX_RETURN_IF_ERROR(CheckOpen());
  if (needs_catch_up_) VECDEX_RETURN_IF_ERROR(CatchUp());
  return Status::Ok();
}

Status CollectionImpl::CatchUp() {
  std::shared_ptr<Index> index = CurrentIndex();
  const uint64_t last = store_->LastSequence();
  Status s = ApplyToIndex([&] { return ReplayChanges(index.get(), indexed_sequence_.load()); });
  if (!s.ok()) return Status(s.code(), "collection " + name_ + ": the index cannot catch up with the store: " + s.message());
  needs_catch_up_ = false;
  indexed_sequence_.store(last);
  budget_->Report(this, index->memory_bytes());
  return Status::Ok();
}

template <typename Fn>
Status CollectionImpl::ApplyToIndex(Fn&& fn) {
  const std::shared_ptr<Index> index = CurrentIndex();
  if (index->concurrent_writes()) return fn();
  std::unique_lock exclusive(index_rw_);
  return fn();
}

void CollectionImpl::FinishWrite(uint64_t last_sequence) {
  if (last_sequence == 0) return;  // nothing changed
  if (!needs_catch_up_) indexed_sequence_.store(last_sequence);
  int64_t none = 0;
  oldest_unsnapshotted_ns_.compare_exchange_strong(none, std::chrono::steady_clock::now().time_since_epoch().count());
  if (options_.snapshot_after_changes != 0 &&
      last_sequence - snapshot_sequence_.load() >= options_.snapshot_after_changes) {
    bg_cv_.notify_one();
  }
}

Status CollectionImpl::WaitDurable(uint64_t sequence) {
  if (config_.sync != SyncPolicy::kInterval || sequence == 0) return Status::Ok();
  return store_->WaitDurable(sequence);
}

Result<WriteSummary> CollectionImpl::Upsert(std::span<const Point> points) {
  std::shared_lock life(lifecycle_mu_);
  VECDEX_RETURN_IF_ERROR(CheckOpen());
  if (points.empty()) return Status::InvalidArgument("upsert: the batch is empty");
  std::unique_lock lock(write_mu_);
  VECDEX_RETURN_IF_ERROR(WaitWritable(lock));
  const std::shared_ptr<Index> index = CurrentIndex();

  // The memory budget is checked before anything is written: only new keys add memory.
  size_t reserved = 0;
  if (budget_->limit() != 0) {
    std::vector<PointKey> keys;
    keys.reserve(points.size());
    for (const Point& p : points) keys.push_back(p.key);
    VECDEX_ASSIGN_OR_RETURN(std::vector<store::StoredPoint> existing, store_->Get(keys, false, false));
    const size_t added = points.size() - std::min(points.size(), existing.size());
    reserved = index->EstimateAddBytes(added);
    if (added > 0 && !budget_->TryReserve(reserved)) {
      return Status::ResourceExhausted("collection " + name_ + ": upserting " + std::to_string(added) +
                                       " new points needs about " + std::to_string(reserved) +
                                       " bytes of index memory; the database's budget is " +
                                       std::to_string(budget_->limit()) + " bytes, " +
                                       std::to_string(budget_->used()) + " in use");
    }
  }
  Result<store::WriteResult> written = store_->Upsert(points);
  if (!written.ok()) {
    budget_->Release(reserved);
    return written.status();
  }
  // The store validated every vector (dimension, finite), so the index accepts them.
  std::vector<float> vectors;
  vectors.reserve(points.size() * config_.dim);
  for (const Point& p : points) vectors.insert(vectors.end(), p.vector.begin(), p.vector.end());
  const Status applied =
      ApplyToIndex([&] { return index->Add(written->ids, MatrixView{vectors.data(), points.size(), config_.dim}); });
  budget_->Release(reserved);
  budget_->Report(this, index->memory_bytes());
  // Payload indexes follow the same order (they cannot fail: memory only). Payloads are parsed
  // only when some field is indexed; the store already validated them.
  const bool parse_payloads = payload_.HasFields();
  for (size_t i = 0; i < points.size(); ++i) {
    nlohmann::json payload;
    if (parse_payloads && !points[i].payload_json.empty()) payload = nlohmann::json::parse(points[i].payload_json, nullptr, false);
    payload_.Set(written->ids[i], payload);
  }
  if (!applied.ok()) {
    needs_catch_up_ = true;
    Log("index update failed after the store committed (will catch up): " + applied.message());
  }
  FinishWrite(written->last_sequence);
  lock.unlock();
  VECDEX_RETURN_IF_ERROR(WaitDurable(written->last_sequence));
  if (!applied.ok()) {
    return Status(applied.code(), "collection " + name_ + ": the points are stored but not yet searchable (" +
                                      applied.message() + "); the next write or reopen indexes them");
  }
  return WriteSummary{written->last_sequence, written->ids.size()};
}

Result<WriteSummary> CollectionImpl::Delete(std::span<const PointKey> keys) {
  std::shared_lock life(lifecycle_mu_);
  VECDEX_RETURN_IF_ERROR(CheckOpen());
  std::unique_lock lock(write_mu_);
  VECDEX_RETURN_IF_ERROR(WaitWritable(lock));
  return DeleteLocked(keys, lock);
}

Result<WriteSummary> CollectionImpl::DeleteLocked(std::span<const PointKey> keys, std::unique_lock<std::mutex>& lock) {
  const std::shared_ptr<Index> index = CurrentIndex();
  VECDEX_ASSIGN_OR_RETURN(store::WriteResult written, store_->Delete(keys));
  for (Label id : written.ids) payload_.Erase(id);
  Status applied = Status::Ok();
  if (!written.ids.empty()) {
    applied = ApplyToIndex([&] { return index->Remove(written.ids).status(); });
    budget_->Report(this, index->memory_bytes());
    if (!applied.ok()) {
      needs_catch_up_ = true;
      Log("index update failed after the store committed (will catch up): " + applied.message());
    }
  }
  FinishWrite(written.last_sequence);
  lock.unlock();
  VECDEX_RETURN_IF_ERROR(WaitDurable(written.last_sequence));
  if (!applied.ok()) {
    return Status(applied.code(), "collection " + name_ + ": the points are deleted but may still be found (" +
                                      applied.message() + ") until the next write or reopen");
  }
  return WriteSummary{written.last_sequence, written.ids.size()};
}

Result<WriteSummary> CollectionImpl::UpdatePayloads(std::span<const PointKey> keys, std::string_view json_object,
                                                    bool merge) {
  return UpdatePayloadsWith(
      [&] { return merge ? store_->SetPayload(keys, json_object) : store_->OverwritePayload(keys, json_object); });
}

Result<WriteSummary> CollectionImpl::DeletePayloadFields(std::span<const PointKey> keys,
                                                         std::span<const std::string> fields) {
  return UpdatePayloadsWith([&] { return store_->DeletePayloadFields(keys, fields); });
}

template <typename StoreUpdate>
Result<WriteSummary> CollectionImpl::UpdatePayloadsWith(StoreUpdate&& update) {
  std::shared_lock life(lifecycle_mu_);
  VECDEX_RETURN_IF_ERROR(CheckOpen());
  std::unique_lock lock(write_mu_);
  VECDEX_RETURN_IF_ERROR(WaitWritable(lock));
  VECDEX_ASSIGN_OR_RETURN(store::WriteResult written, update());
  // Vector indexes ignore payloads; payload indexes read the new payloads back (a merge's result
  // exists only in the store). The change counts towards the next snapshot either way.
  if (Status s = RefreshPayloads(written.ids); !s.ok()) Log("payload index update failed: " + s.message());
  FinishWrite(written.last_sequence);
  lock.unlock();
  VECDEX_RETURN_IF_ERROR(WaitDurable(written.last_sequence));
  return WriteSummary{written.last_sequence, written.ids.size()};
}

Result<WriteSummary> CollectionImpl::SetPayload(std::span<const PointKey> keys, std::string_view json_object) {
  return UpdatePayloads(keys, json_object, /*merge=*/true);
}

Result<WriteSummary> CollectionImpl::OverwritePayload(std::span<const PointKey> keys, std::string_view json_object) {
  return UpdatePayloads(keys, json_object, /*merge=*/false);
}

}  // namespace vecdex::db
