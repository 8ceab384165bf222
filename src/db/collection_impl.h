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
//   snapshot_mu_   serialises snapshots (and Verify's read of the file CURRENT names).
//   write_mu_      serialises writers, snapshots' capture and the view-to-writable promotion.
//   index_rw_      only for index kinds without concurrent writes (flat): searches shared,
//                  applies exclusive. HNSW searches take no lock at all.
//   index_ptr_mu_  held just to copy or swap the index pointer.
//   rebuild_mu_    (collection_rebuild.cc) may be held while taking write_mu_ (StartRebuild), never
//                  the other way round; a rebuild's swap takes snapshot_mu_ then write_mu_.
// Searches therefore never wait for a snapshot (which holds write_mu_ only) or a replay.
//
// Files (docs/format/database.md): store.db (+ -wal, -shm, .lock), CURRENT, index-<seq>.<kind>.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>

#include "db/collection_meta.h"
#include "db/memory_budget.h"
#include "payload/payload_indexes.h"
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
  const CollectionConfig& config() const override { return ActiveConfig(); }

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
  // A payload-only write: `update` commits it to the store (returning its WriteResult).
  template <typename StoreUpdate>
  Result<WriteSummary> UpdatePayloadsWith(StoreUpdate&& update);

  // ---- reads (collection_read.cc)
  // One search resolved through the store, rows cut to `wanted`. Returns by how many results
  // the shortest row fell short of `wanted` while the index had more (deleted meanwhile).
  // `among`: score only these labels (SearchAmong).
  Result<size_t> SearchOnce(const Index& index, MatrixView queries, const SearchParams& params,
                            const std::span<const Label>* among, size_t wanted, const SearchRequest& request,
                            std::vector<std::vector<ScoredPoint>>* out);

  // ---- payload indexes and filters (collection_filter.cc)
  // How a search honours its filter and key list: every point, a list of candidates scored
  // exactly, or a label filter applied during the index traversal.
  struct SearchPlan {
    enum class Kind : uint8_t { kAll, kNone, kAmong, kTraverse } kind = Kind::kAll;
    std::vector<Label> candidates;         // kAmong
    std::unique_ptr<LabelFilter> filter;   // kTraverse
  };
  Result<SearchPlan> PlanSearch(const SearchRequest& request, size_t ef);
  // The points that may match (payload indexes; has_id through the store).
  Result<payload::Candidates> ResolveFilter(const Filter& filter);
  // Exactly the matching points: the candidates' payloads read from the store and evaluated
  // when the indexes could not tell.
  Result<payload::Bitmap> MatchingIds(const Filter& filter, const payload::Candidates& candidates);
  // The share of `candidates` matching `filter`, from a sample of their payloads.
  Result<double> EstimateShare(const Filter& filter, const payload::Bitmap& candidates);
  // Loads the payload index schema from the store's metadata and builds each index (open).
  Status LoadPayloadIndexes();
  // Fills the not-yet-ready indexes of `fields` from every stored payload, in one pass.
  // Requires write_mu_ (or no writer yet, on open).
  Status BuildPayloadIndexes(std::span<const std::string> fields);
  Status SavePayloadSchema(const std::vector<PayloadIndexInfo>& fields);
  // Applies stored payloads (read back from the store) of `ids` to the payload indexes.
  Status RefreshPayloads(std::span<const Label> ids);
  Result<WriteSummary> DeleteLocked(std::span<const PointKey> keys, std::unique_lock<std::mutex>& lock);

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
  CollectionConfig config_;  // set by Open, constant afterwards (index_spec: see ActiveConfig)
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

  // Payload indexes and the set of live ids: changed under write_mu_ after each store commit,
  // read by searches (thread-safe on its own).
  payload::PayloadIndexes payload_;

  mutable std::shared_mutex index_rw_;
  mutable std::mutex index_ptr_mu_;
  std::shared_ptr<Index> index_;  // guarded by index_ptr_mu_

  // The background thread: promotion, then snapshots when due.
  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool bg_stop_ = false;  // guarded by bg_mu_
  std::thread bg_thread_;

  // ---- rebuild (collection_rebuild.cc)
  // A rebuild builds generation G+1 of the index from the store beside the serving one, catches
  // it up through the change log, validates its recall, and swaps it in (config in the store,
  // then CURRENT, then the in-memory pointer). Design and crash analysis: docs/format/database.md.
  struct RebuildJob;
  // The configuration of the active generation: config_ with the active index spec. Published
  // configurations are immutable and live as long as the collection, so config() may hand out
  // a reference that a swap never invalidates.
  const CollectionConfig& ActiveConfig() const { return *active_config_.load(std::memory_order_acquire); }
  std::string ActiveSpec() const { return ActiveConfig().index_spec; }
  // Close: refuses new rebuilds, cancels a running one and joins its thread.
  void StopRebuild();
  // Info(): rebuild status, tombstones, and the active configuration.
  void FillRebuildStatus(CollectionInfo* info) const;
  // BackgroundLoop: starts a compaction when tombstones exceed options_.rebuild_deleted_ratio.
  void MaybeStartAutoRebuild();
  // The rebuild thread's body and its steps.
  void RunRebuild(std::shared_ptr<RebuildJob> job);
  Status RebuildBuild(RebuildJob& job);
  Status RebuildCatchUp(RebuildJob& job, uint64_t small_tail);
  Status RebuildValidate(RebuildJob& job);
  Status RebuildSwap(RebuildJob& job);
  void SetRebuildPhase(const char* phase);
  // Test hook: VECDEX_TEST_REBUILD_PAUSE_PHASE names a phase ("build", ..., "swap:config") at
  // whose start the rebuild writes VECDEX_TEST_REBUILD_PAUSE_MARKER and sleeps (until cancelled).
  void RebuildPausePoint(const RebuildJob& job, const char* phase);
  bool RebuildCancelled() const { return rebuild_cancel_.load(std::memory_order_relaxed); }

  mutable std::mutex rebuild_mu_;
  std::condition_variable rebuild_cv_;  // a rebuild finished
  // Guarded by rebuild_mu_.
  RebuildStatus rebuild_status_;  // points_*, eta and generation are filled from the atomics
  bool rebuild_closing_ = false;  // Close: no new rebuild
  std::thread rebuild_thread_;
  std::chrono::steady_clock::time_point rebuild_finished_{};  // last one's end (auto trigger)
  std::chrono::steady_clock::time_point build_started_{};     // ETA
  std::atomic<bool> rebuild_cancel_{false};
  std::atomic<uint64_t> rebuild_points_done_{0};
  std::atomic<uint64_t> rebuild_points_total_{0};
  // Snapshots truncate the change log no further than this while a rebuild runs (its catch-up
  // replays the changes after it); UINT64_MAX when none runs. Set under write_mu_.
  std::atomic<uint64_t> rebuild_pin_{UINT64_MAX};
  // The active generation (the store's config says it); changed under write_mu_.
  std::atomic<uint64_t> generation_{1};
  std::mutex config_mu_;
  std::deque<CollectionConfig> config_history_;  // guarded by config_mu_; never shrinks
  std::atomic<const CollectionConfig*> active_config_{&config_};
};

}  // namespace vecdex::db
