// Store: the durable source of truth of one collection, an SQLite database in WAL mode holding
// points (key, vector, JSON payload), an ordered change log and collection metadata.
// docs/format/store.md specifies the schema.
//
// Ids. The store assigns every new key an internal id (the label the vector index uses):
// monotonic, starting at 1, never reused, not even after the key is deleted. Replacing an
// existing key keeps its id; deleting a key and upserting it again gives a new id, so a label an
// index still holds for the deleted point can never name the new one.
//
// Sequence numbers. Every change to a point (upsert, delete, payload update) gets one sequence
// number, in the order the changes are applied. They start at 1, strictly increase across the
// store's life (a reopen continues after the last), and are never reused, even after the change
// log is truncated. A batch takes a contiguous range.
//
// Durability (StoreOptions::sync):
//   kEveryBatch  synchronous=FULL: the WAL is fsynced before a write returns OK. A process crash
//                or a power loss loses nothing that was acknowledged.
//   kInterval    synchronous=NORMAL: a write returns once its transaction is in the WAL (in the
//                OS page cache); a background thread fsyncs the WAL every sync_interval_ms, and
//                Sync() does it on demand. A process crash (kill -9) loses nothing acknowledged,
//                because the page cache belongs to the kernel and survives the process. A power
//                loss or kernel crash may lose the transactions acknowledged since the last sync
//                (DurableSequence() says up to where it is safe); the database stays consistent
//                either way: whole transactions vanish, never parts of one.
//   Throughput: kEveryBatch pays one fsync per batch, so large batches amortise it; kInterval
//   pays one per interval whatever the batch size.
//
// Integrity. SQLite has no page checksums, so every row carries a CRC32C that readers verify:
// a damaged row is reported as Corruption naming the file and the point, never served. Open runs
// PRAGMA integrity_check (or quick_check, or nothing: StoreOptions::check_on_open) and scans the
// WAL for committed transactions SQLite's recovery would silently drop after a damaged frame
// (all but damage confined to the WAL's last transaction, which is indistinguishable from a
// crash while committing it; see CheckWalFile).
//
// Thread safety: all methods are thread-safe. Writes are serialised by an internal mutex and go
// through one writer connection. Reads use a pool of read-only connections, one per concurrent
// reader, and see the last committed state (WAL snapshot isolation): readers never wait for the
// writer and the writer never waits for readers. A background thread owned by the store
// checkpoints the WAL into the database on its own connection (so commits do not pay for
// checkpoints) and, under kInterval, fsyncs the WAL. A long ForEachPoint keeps its snapshot, which
// keeps checkpoints from recycling the WAL until it finishes. One Store per file: Open takes an
// exclusive lock on "<path>.lock" and fails with Unavailable while another Store (in any
// process) holds it. Reading the file with the sqlite3 shell meanwhile is fine.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "vecdex/point.h"
#include "vecdex/status.h"
#include "vecdex/types.h"

struct sqlite3;

namespace vecdex::store {

class Connection;
class Transaction;

enum class SyncPolicy : uint8_t {
  kEveryBatch = 0,  // durable when the call returns
  kInterval = 1,    // group commit: durable within sync_interval_ms, or after Sync()
};

// How much of the database Open verifies before serving it (measured: docs/format/store.md).
enum class OpenCheck : uint8_t {
  kNone = 0,
  kQuick = 1,  // PRAGMA quick_check: page structure, not index-vs-table consistency
  kFull = 2,   // PRAGMA integrity_check plus row counts against the stored count
};

struct StoreOptions {
  // Create the database when the file does not exist (else NotFound).
  bool create = false;
  // Vector dimension. Required (> 0) to create; on reopen, 0 accepts the stored one and any
  // other value must match it (FailedPrecondition otherwise).
  size_t dim = 0;
  SyncPolicy sync = SyncPolicy::kEveryBatch;
  uint32_t sync_interval_ms = 50;  // kInterval only; >= 1
  OpenCheck check_on_open = OpenCheck::kFull;
  // Refuse to open when the WAL holds completed transactions SQLite would drop (see
  // CheckWalFile). A power loss can, rarely, leave a torn WAL tail that trips this check;
  // false accepts SQLite's own recovery (which keeps every transaction before the tear).
  bool verify_wal = true;
};

// The persisted kind of a change-log entry. Values are stored: never renumber.
enum class ChangeOp : uint8_t {
  kUpsert = 1,   // new point, or its vector (and payload) replaced
  kDelete = 2,   // point removed
  kPayload = 3,  // only the payload changed (for payload indexes; vector indexes skip it)
};

struct Change {
  uint64_t sequence = 0;
  ChangeOp op = ChangeOp::kUpsert;
  Label id = 0;
};

// What a write did. Sequences first_sequence..last_sequence (inclusive) were assigned, one per
// entry of `ids`, in order; both are 0 when the call changed nothing.
struct WriteResult {
  uint64_t first_sequence = 0;
  uint64_t last_sequence = 0;
  // Upsert: ids[i] is the internal id of points[i]. Delete and payload updates: the ids of the
  // points that existed and were changed, in the order of the keys given.
  std::vector<Label> ids;
};

// A point as read back: the user's point plus what the store keeps about it.
struct StoredPoint {
  Label id = 0;
  PointKey key;
  std::vector<float> vector;  // empty unless requested
  std::string payload_json;   // empty when there is none or it was not requested
  uint64_t sequence = 0;      // of the last change to this point
};

struct ScrollPage {
  std::vector<StoredPoint> points;
  // Pass as start_after to get the next page; nullopt when this page reached the end.
  std::optional<PointKey> next;
};

// A metadata entry the layer above stores (dimension, metric, index spec, generation, ...).
struct MetaEntry {
  std::string key;
  std::string value;
};

struct StoreFileSizes {
  uint64_t database_bytes = 0;
  uint64_t wal_bytes = 0;
};

class Store {
 public:
  // Opens (or with options.create, creates) the store at `path`; "<path>-wal" and "<path>-shm"
  // sit beside it. A new store is built under "<path>.creating" and renamed into place, so a
  // crash during creation never leaves a half-made store at `path`.
  // Errors: NotFound (missing, !create), InvalidArgument (bad options), FailedPrecondition
  // (dimension mismatch, unknown schema version), Corruption (damaged file, naming it),
  // IOError, Unavailable (another Store, in this or another process, has it open).
  [[nodiscard]] static Result<std::unique_ptr<Store>> Open(const std::string& path, const StoreOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  size_t dim() const { return dim_; }
  const std::string& path() const { return path_; }

  // ------------------------------------------------------------------ writes (one transaction each)
  // Inserts new keys and replaces the vector and payload of existing ones (keeping their id).
  // `meta` entries are written in the same transaction. Validates everything first and changes
  // nothing on error. Payloads are stored in compact form (re-serialised), not byte for byte.
  // Errors: InvalidArgument (empty batch, wrong dimension, NaN/Inf, invalid key, a key twice,
  // payload not a JSON object, reserved meta key), plus the storage errors of Open. After a
  // storage error during commit the store refuses further writes (reopen to recover).
  [[nodiscard]] Result<WriteResult> Upsert(std::span<const Point> points, std::span<const MetaEntry> meta = {});
  // Removes the points with these keys; keys not present are ignored. Errors: InvalidArgument
  // (invalid key), storage errors.
  [[nodiscard]] Result<WriteResult> Delete(std::span<const PointKey> keys, std::span<const MetaEntry> meta = {});
  // Merges the top-level fields of `json_object` into each point's payload (a point without one
  // gets `json_object`). Missing keys are ignored. Errors: InvalidArgument (not a JSON object,
  // invalid key), storage errors.
  [[nodiscard]] Result<WriteResult> SetPayload(std::span<const PointKey> keys, std::string_view json_object);
  // Replaces each point's payload with `json_object` ("" clears it).
  [[nodiscard]] Result<WriteResult> OverwritePayload(std::span<const PointKey> keys, std::string_view json_object);
  [[nodiscard]] Result<WriteResult> ClearPayload(std::span<const PointKey> keys) { return OverwritePayload(keys, ""); }
  // Removes these top-level fields from each point's payload (points without any are unchanged
  // but still counted as changed). Errors: InvalidArgument (invalid key, no fields).
  [[nodiscard]] Result<WriteResult> DeletePayloadFields(std::span<const PointKey> keys,
                                                        std::span<const std::string> fields);

  // Writes metadata outside a point batch. Keys starting with "vecdex." are the store's own
  // (InvalidArgument). Does not take a sequence number.
  [[nodiscard]] Status PutMeta(std::span<const MetaEntry> entries);
  // NotFound when absent; Corruption when the entry fails its checksum.
  [[nodiscard]] Result<std::string> GetMeta(std::string_view key);

  // ------------------------------------------------------------------ reads
  // The points that exist among `keys`, in the order asked (missing keys are skipped).
  [[nodiscard]] Result<std::vector<StoredPoint>> Get(std::span<const PointKey> keys, bool with_vector,
                                                     bool with_payload);
  // The same by internal id (what an index returns); ids not present are skipped.
  [[nodiscard]] Result<std::vector<StoredPoint>> GetById(std::span<const Label> ids, bool with_vector,
                                                         bool with_payload);
  // Number of points (kept in the store's metadata: O(1)).
  [[nodiscard]] Result<uint64_t> Count();
  // Up to `limit` points with keys after `start_after` (from the first key when nullopt), in
  // key order: integer keys ascending, then string keys in byte order. Errors: InvalidArgument
  // (limit 0, invalid start key), storage errors.
  [[nodiscard]] Result<ScrollPage> Scroll(const std::optional<PointKey>& start_after, size_t limit, bool with_vector,
                                          bool with_payload);
  // Streams every point in id order from one snapshot, for index rebuilds. A non-OK Status from
  // `fn` stops the scan and is returned. The vector span is only valid during the call.
  using PointFn = std::function<Status(Label id, const PointKey& key, std::span<const float> vector)>;
  [[nodiscard]] Status ForEachPoint(const PointFn& fn);

  // ------------------------------------------------------------------ change log
  // Streams the changes with sequence > after_sequence, in order. FailedPrecondition when
  // changes after `after_sequence` were truncated already (the caller must rebuild from points).
  using ChangeFn = std::function<Status(const Change& change)>;
  [[nodiscard]] Status ForEachChange(uint64_t after_sequence, const ChangeFn& fn);
  // The sequence of the last committed change (0 for a new store).
  uint64_t LastSequence() const { return last_sequence_.load(std::memory_order_acquire); }
  // Under kEveryBatch equal to LastSequence(); under kInterval the last sequence known to be on
  // disk (a lower bound).
  uint64_t DurableSequence() const { return durable_sequence_.load(std::memory_order_acquire); }
  // Changes up to this sequence were truncated; ForEachChange accepts it as after_sequence.
  uint64_t TruncatedThrough() const { return truncated_through_published_.load(std::memory_order_acquire); }
  // Drops changes with sequence <= `sequence` (call once a durable index snapshot contains
  // them). InvalidArgument when `sequence` > LastSequence().
  [[nodiscard]] Status TruncateChangesUpTo(uint64_t sequence);

  // ------------------------------------------------------------------ maintenance
  // Makes every acknowledged write durable now (fsyncs the WAL). A no-op cost under kEveryBatch.
  [[nodiscard]] Status Sync();
  // Blocks until DurableSequence() >= `sequence`: group commit for callers that must not
  // acknowledge before durability. Under kInterval, waiters share the background thread's next
  // fsync (at most sync_interval_ms away) instead of paying one each; under kEveryBatch it
  // returns at once. Errors: InvalidArgument (`sequence` > LastSequence()), IOError when the
  // background fsync failed (the store then refuses writes too).
  [[nodiscard]] Status WaitDurable(uint64_t sequence);
  // Copies WAL content into the database file now (passive: never waits for readers or the
  // writer). The background thread does this on its own once the WAL holds ~4 MB.
  [[nodiscard]] Status Checkpoint();
  [[nodiscard]] Result<StoreFileSizes> FileSizes() const;
  // Runs SQLite's quick_check (kQuick) or integrity_check (kFull) on a reader's snapshot and,
  // for kFull, reads every row, verifying its checksum (payloads included). Corruption names the
  // file and what is damaged. Runs beside writers and other readers.
  [[nodiscard]] Status CheckIntegrity(OpenCheck level);
  // Writes a consistent copy of the database (one read snapshot, VACUUM INTO on a connection of
  // its own) to `path`, a file that must not exist: "<path>.tmp" is written, fsynced and renamed
  // to `path` (never replacing a file), then the directory is fsynced. Runs beside writers and
  // readers (store_backup.cc). Errors: AlreadyExists, InvalidArgument (empty path), IOError.
  [[nodiscard]] Status Backup(const std::string& path);

 private:
  // Counters a write transaction advances; copied from the fields at its start and published
  // back only once it commits, so a failed write leaves the fields untouched.
  struct WriteCounters {
    uint64_t next_sequence;
    Label next_id;
    uint64_t point_count;
  };
  class ReaderLease;

  Store(std::string path, StoreOptions options);
  Status Init();
  // Takes an exclusive flock on "<path>.lock" for the store's lifetime: a second writer (another
  // process, or another Store here) would hand out the same sequences and ids.
  Status LockFile();
  Status LoadCounters();
  Status VerifyOnOpen();
  WriteCounters CurrentCounters() const;  // requires write_mu_
  // Writes the counters and `meta`, commits `txn` and publishes the counters. A failed commit
  // makes write_error_ sticky. Requires write_mu_.
  Status FinishWrite(Transaction* txn, const WriteCounters& counters, std::span<const MetaEntry> meta);
  // Applies one payload change (SetPayload / OverwritePayload) to every key.
  enum class PayloadUpdate : uint8_t { kMerge, kOverwrite, kDeleteFields };
  // `patch` is the JSON object to merge or write; `fields` the fields to delete.
  Result<WriteResult> UpdatePayloads(std::span<const PointKey> keys, PayloadUpdate how, std::string_view json_object,
                                     std::span<const std::string> fields);
  // Read connections: taken from the pool (or opened), given back when the read is done.
  Result<std::unique_ptr<Connection>> TakeReader();
  void ReturnReader(std::unique_ptr<Connection> conn);
  // The background thread: fsyncs the WAL every sync_interval_ms under kInterval, and
  // checkpoints the WAL into the database once it holds kCheckpointFrames frames, so writers do
  // not pay for checkpoints (and their fsyncs) in their commit path.
  void MaintenanceLoop();
  // Called by SQLite after every commit on the writer connection (sqlite3_wal_hook).
  static int OnWalCommit(void* store, sqlite3* db, const char* name, int frames);
  // A passive checkpoint on checkpointer_: never waits for readers or the writer.
  Status RunCheckpoint();

  const std::string path_;
  const std::string label_;  // how messages name the database file
  const StoreOptions options_;
  size_t dim_ = 0;    // set by Init, constant afterwards
  int lock_fd_ = -1;  // holds the flock on "<path>.lock"; set by Init, closed last

  std::mutex write_mu_;
  // Guarded by write_mu_.
  std::unique_ptr<Connection> writer_;
  uint64_t next_sequence_ = 1;
  Label next_id_ = 1;
  uint64_t point_count_ = 0;
  uint64_t truncated_through_ = 0;  // changes up to here were dropped
  Status write_error_;              // sticky after a failed commit; every write returns it

  // Written under write_mu_ after a commit; read without it.
  std::atomic<uint64_t> last_sequence_{0};
  std::atomic<uint64_t> truncated_through_published_{0};
  std::atomic<uint64_t> durable_sequence_{0};
  std::atomic<uint64_t> point_count_published_{0};

  std::mutex pool_mu_;
  // Guarded by pool_mu_: read connections not in use. Grows to the peak number of concurrent
  // readers; connections are closed with the store.
  std::vector<std::unique_ptr<Connection>> idle_readers_;

  // Checkpoints run on their own connection so that they never hold write_mu_; SQLite lets one
  // checkpoint run beside the writer. checkpoint_mu_ serialises Checkpoint() and the thread.
  std::mutex checkpoint_mu_;
  std::unique_ptr<Connection> checkpointer_;  // guarded by checkpoint_mu_
  // Frames in the WAL after the last commit (from the WAL hook); reset by a checkpoint.
  std::atomic<int> wal_frames_{0};

  // Sync() notifies durable_cv_ (under durable_mu_, so no waiter misses it) when
  // durable_sequence_ advances or a background sync fails (sync_failed_).
  std::mutex durable_mu_;
  std::condition_variable durable_cv_;
  std::atomic<bool> sync_failed_{false};

  // maintenance_mu_ guards stop_; maintenance_cv_ wakes the thread early (stop, big WAL).
  std::mutex maintenance_mu_;
  std::condition_variable maintenance_cv_;
  bool stop_ = false;
  std::thread maintenance_thread_;
};

}  // namespace vecdex::store
