// Store: opening, verification, counters, metadata, sync policies and the reader pool.
// Point writes live in store_write.cc, reads in store_read.cc.
#include "store/store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "store/sqlite.h"
#include "store/store_format.h"
#include "store/store_rows.h"
#include "store/store_schema.h"

namespace vecdex::store {

namespace {

// SQLite's default checkpoint point (~4 MB of WAL at 4 KiB pages); the background thread
// checkpoints from here.
constexpr int kCheckpointFrames = 1000;
// A checkpoint running beside the writer rarely catches up with it completely, and SQLite only
// restarts the WAL from its beginning after a complete one. So beyond ~32 MB of WAL the writer
// checkpoints itself (cheap: the thread has copied most frames already), which bounds the WAL's
// size and the time to recover it on open.
constexpr int kMaxWalFrames = 8000;
// How often the thread looks at the WAL under kEveryBatch (it is also woken by big WALs).
constexpr uint32_t kMaintenancePollMs = 100;

// Settings every connection gets. cell_size_check makes SQLite validate cell extents when it
// reads a page, turning more kinds of damage into SQLITE_CORRUPT instead of wild reads.
Status ConfigureConnection(Connection* conn, SyncPolicy sync, bool reader) {
  std::string sql = "PRAGMA cell_size_check=ON;";
  sql += sync == SyncPolicy::kEveryBatch ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;";
  if (reader) sql += "PRAGMA query_only=ON;";
  // Checkpoints are ours to schedule (MaintenanceLoop), not SQLite's inside a writer's COMMIT.
  sql += "PRAGMA wal_autocheckpoint=0;";
  return conn->Exec(sql);
}

Result<uint64_t> FileSize(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return uint64_t{0};
    return Status::IOError(path + ": stat: " + std::strerror(errno));
  }
  return static_cast<uint64_t>(st.st_size);
}

}  // namespace

Store::Store(std::string path, StoreOptions options)
    : path_(std::move(path)), label_(path_), options_(options) {}

Result<std::unique_ptr<Store>> Store::Open(const std::string& path, const StoreOptions& options) {
  if (path.empty()) return Status::InvalidArgument("store path is empty");
  if (options.sync == SyncPolicy::kInterval && options.sync_interval_ms == 0) {
    return Status::InvalidArgument(path + ": sync_interval_ms must be at least 1");
  }
  std::unique_ptr<Store> store(new Store(path, options));
  VECDEX_RETURN_IF_ERROR(store->Init());
  store->maintenance_thread_ = std::thread([s = store.get()] { s->MaintenanceLoop(); });
  return store;
}

Status Store::Init() {
  struct stat st;
  const bool exists = ::stat(path_.c_str(), &st) == 0;
  if (!exists && errno != ENOENT) return Status::IOError(label_ + ": stat: " + std::strerror(errno));
  if (!exists && !options_.create) return Status::NotFound(label_ + ": no store (open with create to make one)");
  if (!exists && options_.dim == 0) return Status::InvalidArgument(label_ + ": a new store needs a dimension > 0");
  VECDEX_RETURN_IF_ERROR(LockFile());
  if (::stat(path_.c_str(), &st) != 0) {  // again under the lock: another opener may have created it
    if (errno != ENOENT) return Status::IOError(label_ + ": stat: " + std::strerror(errno));
    VECDEX_RETURN_IF_ERROR(CreateStoreFile(path_, options_.dim));
  }
  if (options_.verify_wal) VECDEX_RETURN_IF_ERROR(CheckWalFile(path_ + "-wal", path_ + "-wal"));

  std::lock_guard lock(write_mu_);
  VECDEX_ASSIGN_OR_RETURN(writer_, Connection::Open(path_, /*create=*/false, label_));
  Status schema = CheckSchema(writer_.get());
  if (schema.code() == StatusCode::kInternal) {
    // Our schema queries are fixed and valid, so SQLite failing them (e.g. "unsupported file
    // format" from a damaged header) means the file is damaged, not the code.
    return Status::Corruption(schema.message() + " (cannot read the schema)");
  }
  VECDEX_RETURN_IF_ERROR(schema);
  VECDEX_RETURN_IF_ERROR(writer_->Exec("PRAGMA journal_mode=WAL;"));
  VECDEX_RETURN_IF_ERROR(ConfigureConnection(writer_.get(), options_.sync, /*reader=*/false));
  VECDEX_RETURN_IF_ERROR(VerifyOnOpen());
  VECDEX_RETURN_IF_ERROR(LoadCounters());
  {
    std::lock_guard checkpoint_lock(checkpoint_mu_);
    VECDEX_ASSIGN_OR_RETURN(checkpointer_, Connection::Open(path_, /*create=*/false, label_));
    // FULL whatever the policy: a checkpoint must fsync the database before SQLite may recycle
    // the WAL, which is what makes Sync()'s WAL-only fsync sufficient.
    VECDEX_RETURN_IF_ERROR(ConfigureConnection(checkpointer_.get(), SyncPolicy::kEveryBatch, /*reader=*/false));
  }
  sqlite3_wal_hook(writer_->handle(), &Store::OnWalCommit, this);
  // Whatever a previous process committed may still sit in the page cache only.
  VECDEX_RETURN_IF_ERROR(Sync());
  return Status::Ok();
}

Status Store::LockFile() {
  // A lock file rather than the database itself: closing any descriptor of the database would
  // drop the POSIX locks SQLite holds on it (fcntl semantics), and flock on a separate file does
  // not interact with them. The file is left in place; unlinking it would race with openers.
  const std::string lock_path = path_ + ".lock";
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) return Status::IOError(lock_path + ": open: " + std::strerror(errno));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Status::Unavailable(label_ + ": already open (by another process or another Store in this one)");
    }
    return Status::IOError(lock_path + ": flock: " + std::strerror(errno));
  }
  return Status::Ok();
}

Status Store::VerifyOnOpen() {
  if (options_.check_on_open == OpenCheck::kNone) return Status::Ok();
  const bool full = options_.check_on_open == OpenCheck::kFull;
  VECDEX_ASSIGN_OR_RETURN(Statement stmt, writer_->Prepare(full ? "PRAGMA integrity_check(1)" : "PRAGMA quick_check(1)"));
  VECDEX_ASSIGN_OR_RETURN(bool row, stmt.Step());
  const std::string verdict = row ? std::string(stmt.ColumnText(0)) : "no result";
  if (verdict != "ok") return Status::Corruption(label_ + ": integrity check failed: " + verdict);
  return Status::Ok();
}

Status Store::LoadCounters() {
  Connection* c = writer_.get();
  VECDEX_ASSIGN_OR_RETURN(uint64_t dim, ReadMetaCounter(c, kMetaDim));
  VECDEX_ASSIGN_OR_RETURN(next_sequence_, ReadMetaCounter(c, kMetaNextSequence));
  VECDEX_ASSIGN_OR_RETURN(next_id_, ReadMetaCounter(c, kMetaNextId));
  VECDEX_ASSIGN_OR_RETURN(point_count_, ReadMetaCounter(c, kMetaPointCount));
  VECDEX_ASSIGN_OR_RETURN(truncated_through_, ReadMetaCounter(c, kMetaTruncatedThrough));
  if (dim == 0) return Status::Corruption(label_ + ": stored dimension is 0");
  if (options_.dim != 0 && options_.dim != dim) {
    return Status::FailedPrecondition(label_ + ": store has dimension " + std::to_string(dim) + ", opened with " +
                                      std::to_string(options_.dim));
  }
  dim_ = dim;

  // The counters must lie beyond everything the tables hold, or sequences and ids would be
  // reused. MAX over an INTEGER PRIMARY KEY is one b-tree descent.
  VECDEX_ASSIGN_OR_RETURN(int64_t max_change, c->QueryInt("SELECT IFNULL(MAX(seq), 0) FROM changes"));
  VECDEX_ASSIGN_OR_RETURN(int64_t min_change, c->QueryInt("SELECT IFNULL(MIN(seq), 0) FROM changes"));
  VECDEX_ASSIGN_OR_RETURN(int64_t max_id, c->QueryInt("SELECT IFNULL(MAX(id), 0) FROM points"));
  const auto fail = [&](const std::string& what) { return Status::Corruption(label_ + ": " + what); };
  if (max_change < 0 || static_cast<uint64_t>(max_change) >= next_sequence_) {
    return fail("change log reaches sequence " + std::to_string(max_change) + " but the next sequence is " +
                std::to_string(next_sequence_));
  }
  if (min_change != 0 && static_cast<uint64_t>(min_change) <= truncated_through_) {
    return fail("change log holds sequence " + std::to_string(min_change) + ", truncated through " +
                std::to_string(truncated_through_));
  }
  if (max_id < 0 || static_cast<uint64_t>(max_id) >= next_id_) {
    return fail("point id " + std::to_string(max_id) + " is not below the next id " + std::to_string(next_id_));
  }
  if (options_.check_on_open == OpenCheck::kFull) {  // full scans, like integrity_check itself
    VECDEX_ASSIGN_OR_RETURN(int64_t count, c->QueryInt("SELECT COUNT(*) FROM points"));
    VECDEX_ASSIGN_OR_RETURN(int64_t max_point_seq, c->QueryInt("SELECT IFNULL(MAX(seq), 0) FROM points"));
    if (static_cast<uint64_t>(count) != point_count_) {
      return fail("points table holds " + std::to_string(count) + " rows, metadata says " +
                  std::to_string(point_count_));
    }
    if (max_point_seq < 0 || static_cast<uint64_t>(max_point_seq) >= next_sequence_) {
      return fail("a point carries sequence " + std::to_string(max_point_seq) + " beyond the next sequence " +
                  std::to_string(next_sequence_));
    }
  }
  last_sequence_.store(next_sequence_ - 1, std::memory_order_release);
  point_count_published_.store(point_count_, std::memory_order_release);
  truncated_through_published_.store(truncated_through_, std::memory_order_release);
  return Status::Ok();
}

Store::~Store() {
  if (maintenance_thread_.joinable()) {
    {
      std::lock_guard lock(maintenance_mu_);
      stop_ = true;
    }
    maintenance_cv_.notify_all();
    maintenance_thread_.join();
  }
  // Closing connections needs no fsync here: the last close checkpoints under the connection's
  // synchronous setting, which is what the policy promised.
  {
    std::lock_guard checkpoint_lock(checkpoint_mu_);
    checkpointer_.reset();
  }
  std::lock_guard pool_lock(pool_mu_);
  idle_readers_.clear();
  {
    std::lock_guard write_lock(write_mu_);
    writer_.reset();
  }
  if (lock_fd_ >= 0) ::close(lock_fd_);  // last: releases the lock once every connection is closed
}

// ---------------------------------------------------------------------------- writes: common

Store::WriteCounters Store::CurrentCounters() const { return {next_sequence_, next_id_, point_count_}; }

Status Store::FinishWrite(Transaction* txn, const WriteCounters& counters, std::span<const MetaEntry> meta) {
  Connection* c = writer_.get();
  for (const MetaEntry& entry : meta) VECDEX_RETURN_IF_ERROR(WriteMeta(c, entry.key, entry.value));
  if (counters.next_sequence != next_sequence_) {
    VECDEX_RETURN_IF_ERROR(WriteMeta(c, kMetaNextSequence, std::to_string(counters.next_sequence)));
  }
  if (counters.next_id != next_id_) VECDEX_RETURN_IF_ERROR(WriteMeta(c, kMetaNextId, std::to_string(counters.next_id)));
  if (counters.point_count != point_count_) {
    VECDEX_RETURN_IF_ERROR(WriteMeta(c, kMetaPointCount, std::to_string(counters.point_count)));
  }
  Status st = txn->Commit();
  if (!st.ok()) {
    // The transaction may or may not be on disk now; continuing could reuse its sequence
    // numbers. Only a reopen (which reads the counters back) can tell.
    write_error_ = st.WithContext("store refuses writes after a failed commit (reopen it)");
    return st;
  }
  next_sequence_ = counters.next_sequence;
  next_id_ = counters.next_id;
  point_count_ = counters.point_count;
  last_sequence_.store(next_sequence_ - 1, std::memory_order_release);
  point_count_published_.store(point_count_, std::memory_order_release);
  if (options_.sync == SyncPolicy::kEveryBatch) durable_sequence_.store(next_sequence_ - 1, std::memory_order_release);
  if (wal_frames_.load(std::memory_order_relaxed) >= kMaxWalFrames) {
    // Back-pressure when background checkpoints do not keep up. The write itself has committed,
    // so a failure here is not the caller's: the next checkpoint (or close) retries.
    int log_frames = 0;
    int done = 0;
    if (sqlite3_wal_checkpoint_v2(c->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &done) == SQLITE_OK &&
        done == log_frames) {
      wal_frames_.store(0, std::memory_order_relaxed);
    }
  }
  return Status::Ok();
}

Status Store::PutMeta(std::span<const MetaEntry> entries) {
  VECDEX_RETURN_IF_ERROR(CheckMetaEntries(entries, label_));
  std::lock_guard lock(write_mu_);
  VECDEX_RETURN_IF_ERROR(write_error_);
  Transaction txn(writer_.get());
  VECDEX_RETURN_IF_ERROR(txn.Begin(/*immediate=*/true));
  return FinishWrite(&txn, CurrentCounters(), entries);
}

Status Store::TruncateChangesUpTo(uint64_t sequence) {
  std::lock_guard lock(write_mu_);
  VECDEX_RETURN_IF_ERROR(write_error_);
  if (sequence >= next_sequence_) {
    return Status::InvalidArgument(label_ + ": cannot truncate the change log through sequence " +
                                   std::to_string(sequence) + ", the last is " + std::to_string(next_sequence_ - 1));
  }
  if (sequence <= truncated_through_) return Status::Ok();
  Transaction txn(writer_.get());
  VECDEX_RETURN_IF_ERROR(txn.Begin(/*immediate=*/true));
  VECDEX_ASSIGN_OR_RETURN(Statement del, writer_->Prepare("DELETE FROM changes WHERE seq <= ?1"));
  del.BindInt(1, static_cast<int64_t>(sequence));
  VECDEX_RETURN_IF_ERROR(del.Run());
  VECDEX_RETURN_IF_ERROR(WriteMeta(writer_.get(), kMetaTruncatedThrough, std::to_string(sequence)));
  VECDEX_RETURN_IF_ERROR(FinishWrite(&txn, CurrentCounters(), {}));
  truncated_through_ = sequence;
  truncated_through_published_.store(sequence, std::memory_order_release);
  return Status::Ok();
}

// ---------------------------------------------------------------------------- readers

Result<std::unique_ptr<Connection>> Store::TakeReader() {
  {
    std::lock_guard lock(pool_mu_);
    if (!idle_readers_.empty()) {
      std::unique_ptr<Connection> conn = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return conn;
    }
  }
  // Opening runs without pool_mu_: it touches the file and should not stall other readers.
  VECDEX_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn, Connection::Open(path_, /*create=*/false, label_));
  VECDEX_RETURN_IF_ERROR(ConfigureConnection(conn.get(), options_.sync, /*reader=*/true));
  return conn;
}

void Store::ReturnReader(std::unique_ptr<Connection> conn) {
  std::lock_guard lock(pool_mu_);
  idle_readers_.push_back(std::move(conn));
}

Result<std::string> Store::GetMeta(std::string_view key) {
  VECDEX_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn, TakeReader());
  Result<std::optional<std::string>> value = ReadMeta(conn.get(), key);
  ReturnReader(std::move(conn));
  if (!value.ok()) return value.status();
  if (!value->has_value()) return Status::NotFound(label_ + ": no meta entry '" + std::string(key) + "'");
  return std::move(**value);
}

Result<uint64_t> Store::Count() { return point_count_published_.load(std::memory_order_acquire); }

// ---------------------------------------------------------------------------- durability

Status Store::Sync() {
  // Everything committed before this load is in the WAL's page cache, or already in a database
  // file that a checkpoint fsynced before the WAL was recycled; fsyncing the WAL covers it.
  const uint64_t sequence = last_sequence_.load(std::memory_order_acquire);
  const std::string wal = path_ + "-wal";
  const int fd = ::open(wal.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT) return Status::IOError(wal + ": open for fsync: " + std::strerror(errno));
  if (fd >= 0) {
    const int rc = ::fdatasync(fd);
    const int saved = errno;
    ::close(fd);
    if (rc != 0) return Status::IOError(wal + ": fdatasync: " + std::strerror(saved));
  }
  uint64_t durable = durable_sequence_.load(std::memory_order_acquire);
  while (durable < sequence && !durable_sequence_.compare_exchange_weak(durable, sequence)) {
  }
  {
    std::lock_guard lock(durable_mu_);  // orders the update before a waiter's predicate check
  }
  durable_cv_.notify_all();
  return Status::Ok();
}

Status Store::WaitDurable(uint64_t sequence) {
  if (sequence > LastSequence()) {
    return Status::InvalidArgument(label_ + ": cannot wait for sequence " + std::to_string(sequence) +
                                   ", the last is " + std::to_string(LastSequence()));
  }
  // Under kEveryBatch a sequence is published only after its commit's fsync returned.
  if (options_.sync == SyncPolicy::kEveryBatch) return Status::Ok();
  {
    std::unique_lock lock(durable_mu_);
    durable_cv_.wait(lock, [&] { return DurableSequence() >= sequence || sync_failed_.load(); });
  }
  if (DurableSequence() >= sequence) return Status::Ok();
  std::lock_guard lock(write_mu_);
  return write_error_;
}

int Store::OnWalCommit(void* store, sqlite3*, const char*, int frames) {
  auto* self = static_cast<Store*>(store);
  self->wal_frames_.store(frames, std::memory_order_relaxed);
  if (frames >= kCheckpointFrames) self->maintenance_cv_.notify_one();
  return SQLITE_OK;
}

void Store::MaintenanceLoop() {
  const bool group_commit = options_.sync == SyncPolicy::kInterval;
  const auto interval = std::chrono::milliseconds(group_commit ? options_.sync_interval_ms : kMaintenancePollMs);
  std::unique_lock lock(maintenance_mu_);
  while (true) {
    maintenance_cv_.wait_for(lock, interval, [&] {
      return stop_ || wal_frames_.load(std::memory_order_relaxed) >= kCheckpointFrames;
    });
    const bool stopping = stop_;
    lock.unlock();
    // Under group commit, one last sync on the way out too: closing does not fsync the WAL.
    if (group_commit && DurableSequence() < LastSequence()) {
      Status st = Sync();
      if (!st.ok()) {
        // After a failed fsync the kernel may have dropped the dirty pages: what was
        // acknowledged is no longer known to be durable. Refuse writes so the loss is visible.
        {
          std::lock_guard write_lock(write_mu_);
          if (write_error_.ok()) write_error_ = st.WithContext("background WAL sync failed");
        }
        {
          std::lock_guard durable_lock(durable_mu_);
          sync_failed_ = true;
        }
        durable_cv_.notify_all();
      }
    }
    if (!stopping && wal_frames_.load(std::memory_order_relaxed) >= kCheckpointFrames) {
      // A failed checkpoint loses nothing (the WAL keeps the data); the next round retries and
      // writers checkpoint themselves past kMaxWalFrames.
      Status ignored = RunCheckpoint();
      (void)ignored;
    }
    lock.lock();
    if (stopping) break;
  }
}

Status Store::RunCheckpoint() {
  std::lock_guard lock(checkpoint_mu_);
  int log_frames = 0;
  int checkpointed = 0;
  const int rc =
      sqlite3_wal_checkpoint_v2(checkpointer_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &checkpointed);
  if (rc == SQLITE_BUSY) return Status::Ok();  // another checkpoint is running: same effect
  if (rc != SQLITE_OK) return checkpointer_->Error(rc, "checkpoint");
  // Everything copied: the next commit restarts the WAL from its beginning.
  if (checkpointed == log_frames) wal_frames_.store(0, std::memory_order_relaxed);
  return Status::Ok();
}

Status Store::Checkpoint() { return RunCheckpoint(); }

Result<StoreFileSizes> Store::FileSizes() const {
  StoreFileSizes sizes;
  VECDEX_ASSIGN_OR_RETURN(sizes.database_bytes, FileSize(path_));
  VECDEX_ASSIGN_OR_RETURN(sizes.wal_bytes, FileSize(path_ + "-wal"));
  return sizes;
}

}  // namespace vecdex::store
