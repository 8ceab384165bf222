// Index snapshots: written in the background when enough changes or enough time accumulated, on
// clean close and on demand; published atomically through CURRENT, after which the change log
// is truncated up to the snapshot's sequence.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>

#include "db/collection_impl.h"
#include "db/fs_util.h"

namespace vecdex::db {
namespace {

int64_t NowNs() { return std::chrono::steady_clock::now().time_since_epoch().count(); }

}  // namespace

void CollectionImpl::BackgroundLoop() {
  if (state_.load() == State::kLoading) PromoteView();
  if (!options_.background_snapshots) return;
  const auto tick = std::chrono::milliseconds(
      options_.snapshot_interval_ms == 0 ? 1000 : std::min<uint32_t>(options_.snapshot_interval_ms, 1000));
  std::unique_lock lock(bg_mu_);
  while (!bg_stop_) {
    lock.unlock();
    MaybeStartAutoRebuild();
    lock.lock();
    if (bg_stop_) break;
    if (SnapshotDue(std::chrono::steady_clock::now())) {
      lock.unlock();
      const Status s = Snapshot();
      lock.lock();
      if (!s.ok()) {
        Log("background snapshot failed (retrying later): " + s.message());
        bg_cv_.wait_for(lock, std::chrono::seconds(5), [this] { return bg_stop_; });
      }
      continue;
    }
    bg_cv_.wait_for(lock, tick);
  }
}

bool CollectionImpl::SnapshotDue(std::chrono::steady_clock::time_point now) const {
  const int64_t oldest = oldest_unsnapshotted_ns_.load();
  if (oldest == 0 || state_.load() != State::kReady) return false;
  if (oldest == 1) return true;  // no usable snapshot at all
  const uint64_t pending = indexed_sequence_.load() - std::min(indexed_sequence_.load(), snapshot_sequence_.load());
  if (options_.snapshot_after_changes != 0 && pending >= options_.snapshot_after_changes) return true;
  return options_.snapshot_interval_ms != 0 &&
         now.time_since_epoch().count() - oldest >= static_cast<int64_t>(options_.snapshot_interval_ms) * 1000000;
}

Status CollectionImpl::Snapshot() {
  std::shared_lock life(lifecycle_mu_);
  VECDEX_RETURN_IF_ERROR(CheckOpen());
  if (options_.read_only) return Status::FailedPrecondition("collection " + name_ + " was opened read-only");
  std::lock_guard serial(snapshot_mu_);
  return WriteSnapshot();
}

Status CollectionImpl::WriteSnapshot() {
  std::unique_lock lock(write_mu_);
  const auto start = std::chrono::steady_clock::now();
  // A collection serving its mapped snapshot has nothing newer to write (writes wait for it).
  if (state_.load() != State::kReady) return Status::Ok();
  if (needs_catch_up_) VECDEX_RETURN_IF_ERROR(CatchUp());
  const uint64_t sequence = indexed_sequence_.load();
  // The active generation's spec: a rebuild swaps it under write_mu_ (and snapshot_mu_).
  const std::string spec = ActiveSpec();
  const uint64_t generation = generation_.load();
  if (has_snapshot_ && sequence == snapshot_sequence_.load()) {
    oldest_unsnapshotted_ns_.store(0);
    return Status::Ok();
  }
  // The snapshot must never hold a change the store could still lose (kInterval): a later
  // power loss would then let the store hand the same id to another point.
  VECDEX_RETURN_IF_ERROR(store_->Sync());
  const std::string file = SnapshotFileName(sequence, IndexKindOf(spec), generation);
  // Writers are held off by write_mu_; searches go on (Save runs beside them).
  VECDEX_RETURN_IF_ERROR(CurrentIndex()->Save(FilePath(file)));
  const int64_t pending_since = oldest_unsnapshotted_ns_.exchange(0);
  lock.unlock();

  struct stat st {};
  if (::stat(FilePath(file).c_str(), &st) != 0) return Status::IOError(FilePath(file) + ": missing after save");
  SnapshotManifest manifest{file,  sequence, spec, config_.dim, config_.metric,
                            uuid_, static_cast<uint64_t>(st.st_size), generation};
  Status published = WriteFileAtomically(FilePath("CURRENT"), EncodeManifest(manifest));
  if (!published.ok()) {
    int64_t none = 0;
    oldest_unsnapshotted_ns_.compare_exchange_strong(none, pending_since == 0 ? NowNs() : pending_since);
    return published;
  }
  {
    std::lock_guard relock(write_mu_);
    has_snapshot_ = true;
    snapshot_file_ = file;
    snapshot_sequence_.store(sequence);
  }
  RemoveStaleFiles(file);
  // A running rebuild still replays the changes after its pin onto its new index.
  VECDEX_RETURN_IF_ERROR(store_->TruncateChangesUpTo(std::min(sequence, rebuild_pin_.load())));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (seconds >= 1.0) {
    Log("snapshot at sequence " + std::to_string(sequence) + " (" + std::to_string(st.st_size) + " bytes) took " +
        std::to_string(seconds) + " s");
  }
  return Status::Ok();
}

}  // namespace vecdex::db
