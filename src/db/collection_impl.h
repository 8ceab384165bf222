// CollectionImpl: one collection = one store (the source of truth) + one index derived from it.
//
// Invariant: the index holds exactly the store's state as of indexed_sequence_ (every change up
// to it, none after). Writes keep it by committing to the store and applying the same change to
// the index under write_mu_, so the index sees changes in sequence order. Recovery keeps it by
// loading a snapshot taken at sequence S and replaying the change-log tail after S; replay is
// idempotent (each touched id is set to the store's current state), so it never matters whether
// a change was already applied.
//
// Locks, in the order they may be taken:
//   lifecycle_mu_  shared by every operation, exclusive by Close: the store and index outlive
//                  every call that started before Close.
//   snapshot_mu_   serialises snapshots.
//   write_mu_      serialises writers, snapshots' capture and the view-to-writable promotion.
//   index_rw_      only for index kinds without concurrent writes (flat): searches shared,
//                  applies exclusive. HNSW searches take no lock at all.
//   index_ptr_mu_  held just to copy or swap the index pointer.
// Searches therefore never wait for a snapshot (which holds write_mu_ only) or a replay.
//
// Files (docs/format/database.md): store.db (+ -wal, -shm, .lock), CURRENT, index-<seq>.<kind>.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>

#include "db/collection_meta.h"
#include "db/memory_budget.h"
#include "store/store.h"
#include "vecdex/database.h"
#include "vecdex/index.h"

namespace vecdex::db {

class CollectionImpl final : public Collection {
 public:
  // Opens the collection stored in `dir` (created by Create). Brings the index up to date with
  // the store: snapshot + tail, or a rebuild. Errors: those of the store (naming store.db);
  // index problems never fail the open, they cause a rebuild.
  static Result<std::shared_ptr<CollectionImpl>> Open(const std::string& name, const std::string& dir,
                                                       const DatabaseOptions& options,
                                                       std::shared_ptr<MemoryBudget> budget);
  // Creates the store of a new collection in `dir` (which must exist and be empty) and writes
  // its configuration. Does not open the collection.
  static Status Create(const std::string& dir, const CollectionConfig& normalized_config);

  ~CollectionImpl() override;

  // Stops the background thread and closes the store; with `final_snapshot`, first snapshots
  // the index if it changed. Later calls fail with FailedPrecondition. Idempotent.
  void Close(bool final_snapshot);

  const std::string& name() const override { return name_; }
  const CollectionConfig& config() const override { return config_; }

  Result<WriteSummary> Upsert(std::span<const Point> points) override;
  Result<WriteSummary> Delete(std::span<const PointKey> keys) override;
  Result<WriteSummary> SetPayload(std::span<const PointKey> keys, std::string_view json_object) override;
  Result<WriteSummary> OverwritePayload(std::span<const PointKey> keys, std::string_view json_object) override;
  Result<std::vector<PointRecord>> Get(std::span<const PointKey> keys, bool with_vector, bool with_payload) override;
  Result<uint64_t> Count() override;
  Result<ScrollResult> Scroll(const ScrollRequest& request) override;
  Result<std::vector<ScoredPoint>> Search(std::span<const float> query, const SearchRequest& request) override;
  Result<std::vector<std::vector<ScoredPoint>>> SearchBatch(MatrixView queries, const SearchRequest& request) override;
  Result<CollectionInfo> Info() override;
  Status Snapshot() override;
  Result<VerifyReport> Verify() override;
  Result<WriteSummary> DeletePayloadFields(std::span<const PointKey> keys,
                                           std::span<const std::string> fields) override;
  Result<WriteSummary> DeleteWhere(const Filter& filter) override;
  Result<uint64_t> CountWhere(const Filter& filter) override;
  Status CreatePayloadIndex(std::string_view field, PayloadFieldType type) override;
  Status DropPayloadIndex(std::string_view field) override;
  // Rebuild (collection_rebuild.cc).
  Status StartRebuild(const RebuildOptions& options) override;
  RebuildStatus WaitForRebuild() override;
  Status Backup(const std::string& path) override;

 private:
  enum class State : uint8_t {
    kReady,     // writable index, up to date
    kLoading,   // serving a mapped snapshot; the background thread is loading a writable copy
    kClosed,    // closed or dropped
  };

  CollectionImpl(std::string name, std::string dir, DatabaseOptions options, std::shared_ptr<MemoryBudget> budget);

  // ---- recovery (collection_recovery.cc)
  // Loads the snapshot named by CURRENT if it is usable and brings it up to date, else
  // rebuilds. Sets index_, indexed_sequence_, snapshot_sequence_, has_snapshot_, state_.
  Status RecoverIndex();
  // The index of a usable snapshot (mapped when allowed and nothing needs replaying), already
  // up to date; or the reason it is not usable.
  Result<std::shared_ptr<Index>> LoadSnapshot(const SnapshotManifest& manifest, bool* mapped);
  // Sets every id changed after `after_sequence` to the store's current state.
  Status ReplayChanges(Index* index, uint64_t after_sequence);
  // A new index holding every point of the store (progress to the log).
  Result<std::shared_ptr<Index>> RebuildFromStore();
  // Background: replaces a mapped view by a writable copy of the same file.
  void PromoteView();
  // Deletes snapshot files CURRENT does not name, and leftover temp files.
  void RemoveStaleFiles(const std::string& keep);

  // ---- writes (collection_write.cc)
  // Waits (holding `lock` on write_mu_) until writes may proceed. FailedPrecondition once closed.
  Status WaitWritable(std::unique_lock<std::mutex>& lock);
  // After a store commit: bookkeeping shared by every write.
  void FinishWrite(uint64_t last_sequence);
  // Under kInterval: waits for the group commit holding `sequence`.
  Status WaitDurable(uint64_t sequence);
  // Applies an index change (Add / Remove) with the locking the index kind needs.
  template <typename Fn>
  Status ApplyToIndex(Fn&& fn);
  // Called with write_mu_ after an index apply failed: replays from indexed_sequence_.
  Status CatchUp();
  Result<WriteSummary> UpdatePayloads(std::span<const PointKey> keys, std::string_view json_object, bool merge);

  // ---- reads (collection_read.cc)
  // One search resolved through the store, rows cut to request.k. Returns by how many results
  // the shortest row fell short of request.k while the index had more (deleted meanwhile).
  Result<size_t> SearchOnce(const Index& index, MatrixView queries, const SearchParams& params,
                          const SearchRequest& request, std::vector<std::vector<ScoredPoint>>* out);

  // ---- snapshots (collection_snapshot.cc)
  void BackgroundLoop();
  bool SnapshotDue(std::chrono::steady_clock::time_point now) const;
  Status WriteSnapshot();

  std::shared_ptr<Index> CurrentIndex() const;
  void SetIndex(std::shared_ptr<Index> index);
  Status CheckOpen() const;
  void Log(const std::string& message) const;
  std::string FilePath(const std::string& file) const { return dir_ + "/" + file; }

  const std::string name_;
  const std::string dir_;
  const DatabaseOptions options_;
  const std::shared_ptr<MemoryBudget> budget_;
  CollectionConfig config_;  // set by Open, constant afterwards
  std::string uuid_;         // ditto
  std::string kind_;         // ditto: "hnsw", "flat"
  std::string recovery_;     // ditto: why the index was rebuilt on open ("" if it was not)
  std::unique_ptr<store::Store> store_;  // set by Open, reset by Close (under lifecycle_mu_)

  mutable std::shared_mutex lifecycle_mu_;
  std::atomic<State> state_{State::kClosed};  // until RecoverIndex succeeds

  std::mutex snapshot_mu_;
  std::mutex write_mu_;
  std::condition_variable writable_cv_;  // state_ left kLoading
  // Guarded by write_mu_.
  bool needs_catch_up_ = false;  // an index apply failed after its store commit
  bool has_snapshot_ = false;    // CURRENT names a snapshot of this index's history
  std::string snapshot_file_;    // its file name
  // Written under write_mu_, read anywhere.
  std::atomic<uint64_t> indexed_sequence_{0};
  std::atomic<uint64_t> snapshot_sequence_{0};
  // When the oldest change not in a snapshot was made (steady clock, ns; 0: none).
  std::atomic<int64_t> oldest_unsnapshotted_ns_{0};

  mutable std::shared_mutex index_rw_;
  mutable std::mutex index_ptr_mu_;
  std::shared_ptr<Index> index_;  // guarded by index_ptr_mu_

  // The background thread: promotion, then snapshots when due.
  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool bg_stop_ = false;  // guarded by bg_mu_
  std::thread bg_thread_;
};

}  // namespace vecdex::db
