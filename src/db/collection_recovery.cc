// Opening a collection: the store, then an index brought up to the store's last change from the
// best source available (a mapped snapshot, a read snapshot plus its change-log tail, or a full
// rebuild), and closing it again.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <unordered_set>
#include <utility>

#include "db/collection_impl.h"
#include "db/db_log.h"
#include "common/durable_file.h"
#include "db/fs_util.h"

namespace vecdex::db {
namespace {

constexpr size_t kRebuildBatch = 4096;
constexpr size_t kReplayBatch = 1024;
constexpr auto kProgressEvery = std::chrono::seconds(5);

const char kStoreFile[] = "store.db";
const char kManifestFile[] = "CURRENT";

store::StoreOptions StoreOptionsFor(const CollectionConfig* config, bool check) {
  store::StoreOptions o;
  o.create = false;
  if (config != nullptr) {
    o.dim = config->dim;
    o.sync = config->sync == SyncPolicy::kInterval ? store::SyncPolicy::kInterval : store::SyncPolicy::kEveryBatch;
    o.sync_interval_ms = std::max<uint32_t>(1, config->sync_interval_ms);
  }
  o.check_on_open = check ? store::OpenCheck::kQuick : store::OpenCheck::kNone;
  return o;
}

Result<uint64_t> FileBytes(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Status::NotFound(path + ": missing");
  return static_cast<uint64_t>(st.st_size);
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

CollectionImpl::CollectionImpl(std::string name, std::string dir, DatabaseOptions options,
                               std::shared_ptr<MemoryBudget> budget)
    : name_(std::move(name)), dir_(std::move(dir)), options_(std::move(options)), budget_(std::move(budget)) {}

CollectionImpl::~CollectionImpl() { Close(/*final_snapshot=*/true); }

void CollectionImpl::Log(const std::string& message) const {
  LogMessage(options_, "collection " + name_ + ": " + message);
}

Status CollectionImpl::CheckOpen() const {
  if (state_.load() == State::kClosed) {
    return Status::FailedPrecondition("collection " + name_ + " is closed or was dropped");
  }
  return Status::Ok();
}

std::shared_ptr<Index> CollectionImpl::CurrentIndex() const {
  std::lock_guard lock(index_ptr_mu_);
  return index_;
}

void CollectionImpl::SetIndex(std::shared_ptr<Index> index) {
  std::shared_ptr<Index> old;
  {
    std::lock_guard lock(index_ptr_mu_);
    old = std::exchange(index_, std::move(index));
  }
  // `old` is released here, outside the lock; searches still holding it keep it alive.
}

Status CollectionImpl::Create(const std::string& dir, const CollectionConfig& config) {
  store::StoreOptions o = StoreOptionsFor(&config, false);
  o.create = true;
  VECDEX_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store, store::Store::Open(dir + "/" + kStoreFile, o));
  StoredConfig stored{config, NewCollectionUuid()};
  const store::MetaEntry entry{std::string(kConfigMetaKey), EncodeConfig(stored)};
  return store->PutMeta(std::span(&entry, 1));
}

Result<std::shared_ptr<CollectionImpl>> CollectionImpl::Open(const std::string& name, const std::string& dir,
                                                             const DatabaseOptions& options,
                                                             std::shared_ptr<MemoryBudget> budget) {
  std::shared_ptr<CollectionImpl> c(new CollectionImpl(name, dir, options, std::move(budget)));
  const std::string store_path = dir + "/" + kStoreFile;
  // The sync policy lives in the store itself: read it, then reopen with it when it differs
  // from the default (opening without a check costs a few file opens).
  VECDEX_ASSIGN_OR_RETURN(c->store_, store::Store::Open(store_path, StoreOptionsFor(nullptr, false)));
  VECDEX_ASSIGN_OR_RETURN(std::string config_json, c->store_->GetMeta(kConfigMetaKey));
  VECDEX_ASSIGN_OR_RETURN(StoredConfig stored, DecodeConfig(config_json, store_path));
  if (stored.config.dim != c->store_->dim()) {
    return Status::Corruption(store_path + ": configuration says dimension " + std::to_string(stored.config.dim) +
                              ", the store holds " + std::to_string(c->store_->dim()));
  }
  c->config_ = stored.config;
  c->uuid_ = stored.uuid;
  c->generation_.store(stored.generation);
  c->kind_ = IndexKindOf(c->config_.index_spec);
  if (c->config_.sync != SyncPolicy::kEveryBatch || options.check_store_on_open) {
    c->store_.reset();
    VECDEX_ASSIGN_OR_RETURN(c->store_,
                            store::Store::Open(store_path, StoreOptionsFor(&c->config_, options.check_store_on_open)));
  }
  VECDEX_RETURN_IF_ERROR(c->RecoverIndex());
  VECDEX_RETURN_IF_ERROR(c->LoadPayloadIndexes());
  c->budget_->Report(c.get(), c->CurrentIndex()->memory_bytes());
  if (!options.read_only && (options.background_snapshots || c->state_.load() == State::kLoading)) {
    c->bg_thread_ = std::thread([raw = c.get()] { raw->BackgroundLoop(); });
  }
  return c;
}

Status CollectionImpl::RecoverIndex() {
  const std::string manifest_path = FilePath(kManifestFile);
  std::string reason;
  Result<std::string> text = ReadWholeFile(manifest_path);
  if (!text.ok()) {
    reason = text.status().code() == StatusCode::kNotFound ? "no snapshot yet" : text.status().message();
  } else {
    Result<SnapshotManifest> manifest = DecodeManifest(*text, manifest_path);
    if (!manifest.ok()) {
      reason = manifest.status().message();
    } else {
      bool mapped = false;
      Result<std::shared_ptr<Index>> index = LoadSnapshot(*manifest, &mapped);
      if (index.ok()) {
        SetIndex(std::move(*index));
        std::lock_guard lock(write_mu_);
        indexed_sequence_.store(store_->LastSequence());
        snapshot_sequence_.store(manifest->sequence);
        has_snapshot_ = true;
        snapshot_file_ = manifest->index_file;
        if (manifest->sequence != store_->LastSequence()) {
          oldest_unsnapshotted_ns_.store(std::chrono::steady_clock::now().time_since_epoch().count());
        }
        // Read-only: the mapped view is all it will ever need.
        state_.store(mapped && !options_.read_only ? State::kLoading : State::kReady);
        RemoveStaleFiles(snapshot_file_);
        return Status::Ok();
      }
      reason = index.status().message();
    }
  }
  const bool never_snapshotted = !text.ok() && text.status().code() == StatusCode::kNotFound;
  if (!never_snapshotted) {
    if (options_.read_only) {
      return Status::Corruption("collection " + name_ + ": the index snapshot is unusable (" + reason +
                                "); open it writable to rebuild it from the store");
    }
    recovery_ = reason;
    // CURRENT must not name a snapshot that is about to be deleted.
    if (::unlink(manifest_path.c_str()) != 0 && errno != ENOENT) {
      return Status::IOError(manifest_path + ": cannot remove: " + std::strerror(errno));
    }
    VECDEX_RETURN_IF_ERROR(SyncDirectoryOf("collection", manifest_path));
  }
  // A new collection has nothing to rebuild from: say nothing.
  if (store_->LastSequence() != 0 || !never_snapshotted) {
    recovery_ = reason;
    Log("rebuilding the index from the store: " + reason);
  }
  VECDEX_ASSIGN_OR_RETURN(std::shared_ptr<Index> rebuilt, RebuildFromStore());
  SetIndex(std::move(rebuilt));
  std::lock_guard lock(write_mu_);
  indexed_sequence_.store(store_->LastSequence());
  snapshot_sequence_.store(0);
  has_snapshot_ = false;
  snapshot_file_.clear();
  // No usable snapshot: the background thread writes one at once.
  oldest_unsnapshotted_ns_.store(1);
  state_.store(State::kReady);
  RemoveStaleFiles("");
  return Status::Ok();
}

Result<std::shared_ptr<Index>> CollectionImpl::LoadSnapshot(const SnapshotManifest& m, bool* mapped) {
  const std::string path = FilePath(m.index_file);
  const uint64_t last = store_->LastSequence();
  if (m.collection_uuid != uuid_) return Status::FailedPrecondition(path + ": snapshot of another collection");
  // A rebuild that crashed between its config flip and CURRENT leaves the previous generation's
  // snapshot named: it is not the active generation's index (docs/format/database.md, Rebuilds).
  if (m.generation != generation_.load()) {
    return Status::FailedPrecondition(path + ": snapshot of index generation " + std::to_string(m.generation) +
                                      ", the collection is at generation " + std::to_string(generation_.load()));
  }
  if (m.index_spec != config_.index_spec || m.dim != config_.dim || m.metric != config_.metric) {
    return Status::FailedPrecondition(path + ": snapshot built as '" + m.index_spec + "', the collection is '" +
                                      config_.index_spec + "'");
  }
  if (m.sequence > last) {
    return Status::FailedPrecondition(path + ": snapshot is at sequence " + std::to_string(m.sequence) +
                                      ", beyond the store's last change " + std::to_string(last));
  }
  VECDEX_ASSIGN_OR_RETURN(uint64_t bytes, FileBytes(path));
  if (bytes != m.file_bytes) {
    return Status::Corruption(path + ": snapshot holds " + std::to_string(bytes) + " bytes, CURRENT says " +
                              std::to_string(m.file_bytes));
  }
  const bool tail = m.sequence < last;
  // A mapped view is read-only: only usable when nothing needs replaying.
  const IndexOpenMode mode = (!tail && options_.map_snapshots) ? IndexOpenMode::kMap : IndexOpenMode::kRead;
  VECDEX_ASSIGN_OR_RETURN(std::unique_ptr<Index> index, OpenIndexFile(path, mode));
  if (index->spec() != config_.index_spec || index->dim() != config_.dim || index->metric() != config_.metric) {
    return Status::FailedPrecondition(path + ": snapshot holds an index '" + index->spec() + "', expected '" +
                                      config_.index_spec + "'");
  }
  if (tail) {
    const auto start = std::chrono::steady_clock::now();
    VECDEX_RETURN_IF_ERROR(ReplayChanges(index.get(), m.sequence));
    Log("replayed changes " + std::to_string(m.sequence + 1) + ".." + std::to_string(last) + " onto the snapshot in " +
        std::to_string(SecondsSince(start)) + " s");
  }
  *mapped = index->read_only();
  return std::shared_ptr<Index>(std::move(index));
}

Status CollectionImpl::ReplayChanges(Index* index, uint64_t after_sequence) {
  // The final state of each touched id is the store's current one, whatever the order of the
  // changes: collect the ids, then set each to what the store holds now.
  std::vector<Label> touched;
  std::unordered_set<Label> seen;
  VECDEX_RETURN_IF_ERROR(store_->ForEachChange(after_sequence, [&](const store::Change& change) {
    if (change.op != store::ChangeOp::kPayload && seen.insert(change.id).second) touched.push_back(change.id);
    return Status::Ok();
  }));
  std::vector<float> vectors;
  std::vector<Label> present;
  std::vector<Label> absent;
  for (size_t begin = 0; begin < touched.size(); begin += kReplayBatch) {
    const std::span<const Label> ids(touched.data() + begin, std::min(kReplayBatch, touched.size() - begin));
    VECDEX_ASSIGN_OR_RETURN(std::vector<store::StoredPoint> points, store_->GetById(ids, true, false));
    std::unordered_set<Label> found;
    vectors.clear();
    present.clear();
    absent.clear();
    for (const store::StoredPoint& p : points) {
      found.insert(p.id);
      present.push_back(p.id);
      vectors.insert(vectors.end(), p.vector.begin(), p.vector.end());
    }
    for (Label id : ids) {
      if (!found.contains(id)) absent.push_back(id);
    }
    if (!absent.empty()) VECDEX_RETURN_IF_ERROR(index->Remove(absent).status());
    if (!present.empty()) {
      VECDEX_RETURN_IF_ERROR(index->Add(present, MatrixView{vectors.data(), present.size(), config_.dim}));
    }
  }
  return Status::Ok();
}

Result<std::shared_ptr<Index>> CollectionImpl::RebuildFromStore() {
  const auto start = std::chrono::steady_clock::now();
  VECDEX_ASSIGN_OR_RETURN(uint64_t total, store_->Count());
  VECDEX_ASSIGN_OR_RETURN(std::unique_ptr<Index> index, CreateIndex(ActiveSpec(), config_.dim, config_.metric));
  std::vector<float> vectors;
  std::vector<Label> ids;
  vectors.reserve(kRebuildBatch * config_.dim);
  uint64_t done = 0;
  auto last_report = start;
  const auto flush = [&]() -> Status {
    if (ids.empty()) return Status::Ok();
    VECDEX_RETURN_IF_ERROR(index->Add(ids, MatrixView{vectors.data(), ids.size(), config_.dim}));
    done += ids.size();
    ids.clear();
    vectors.clear();
    const auto now = std::chrono::steady_clock::now();
    if (now - last_report >= kProgressEvery) {
      last_report = now;
      Log("rebuilding: " + std::to_string(done) + " of " + std::to_string(total) + " points (" +
          std::to_string(static_cast<uint64_t>(static_cast<double>(done) / SecondsSince(start))) + " points/s)");
    }
    return Status::Ok();
  };
  VECDEX_RETURN_IF_ERROR(store_->ForEachPoint([&](Label id, const PointKey&, std::span<const float> vector) {
    ids.push_back(id);
    vectors.insert(vectors.end(), vector.begin(), vector.end());
    return ids.size() == kRebuildBatch ? flush() : Status::Ok();
  }));
  VECDEX_RETURN_IF_ERROR(flush());
  if (total != 0) {
    Log("rebuilt the index from the store: " + std::to_string(done) + " points in " +
        std::to_string(SecondsSince(start)) + " s");
  }
  return std::shared_ptr<Index>(std::move(index));
}

void CollectionImpl::PromoteView() {
  std::string file;
  {
    std::lock_guard lock(write_mu_);
    file = snapshot_file_;
  }
  std::shared_ptr<Index> writable;
  Result<std::unique_ptr<Index>> loaded = OpenIndexFile(FilePath(file), IndexOpenMode::kRead);
  if (loaded.ok()) {
    writable = std::move(*loaded);
  } else {
    Log("rebuilding the index from the store: cannot load the snapshot it was serving: " +
        loaded.status().message());
    Result<std::shared_ptr<Index>> rebuilt = RebuildFromStore();
    if (!rebuilt.ok()) {
      Log("rebuild failed, the collection stays read-only: " + rebuilt.status().message());
      return;
    }
    writable = std::move(*rebuilt);
  }
  size_t memory_bytes = 0;
  {
    // Writes waited for this (state kLoading), so the copy is as current as the view. Its size
    // is read before they resume (an index without concurrent writes is not read during one).
    std::lock_guard lock(write_mu_);
    SetIndex(writable);
    memory_bytes = writable->memory_bytes();
    State expected = State::kLoading;
    state_.compare_exchange_strong(expected, State::kReady);
  }
  writable_cv_.notify_all();
  budget_->Report(this, memory_bytes);
}

void CollectionImpl::RemoveStaleFiles(const std::string& keep) {
  if (options_.read_only) return;  // writes nothing
  Result<std::vector<std::string>> names = ListDirectory(dir_);
  if (!names.ok()) return;
  for (const std::string& file : *names) {
    const bool temp = file.ends_with(".tmp");
    if ((IsSnapshotFileName(file) && file != keep) || temp) {
      if (::unlink(FilePath(file).c_str()) != 0) Log("cannot remove stale file " + FilePath(file));
    }
  }
}

void CollectionImpl::Close(bool final_snapshot) {
  StopRebuild();
  {
    std::lock_guard lock(bg_mu_);
    bg_stop_ = true;
  }
  bg_cv_.notify_all();
  if (bg_thread_.joinable()) bg_thread_.join();
  if (final_snapshot && !options_.read_only && state_.load() == State::kReady) {
    const Status s = Snapshot();
    if (!s.ok()) Log("final snapshot failed (the next open replays or rebuilds): " + s.message());
  }
  {
    std::lock_guard lock(write_mu_);
    state_.store(State::kClosed);
  }
  writable_cv_.notify_all();
  std::unique_lock lifecycle(lifecycle_mu_);
  SetIndex(nullptr);
  store_.reset();
  budget_->Report(this, 0);
}

}  // namespace vecdex::db
