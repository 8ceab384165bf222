// Database and Collection: named collections of points (key, vector, JSON payload) on a durable
// embedded store, each with a vector index derived from it.
//
// On disk (docs/format/database.md):
//   <dir>/LOCK                              flock: one Database per directory, across processes
//   <dir>/collections/<name>/store.db       the source of truth (SQLite, WAL; docs/format/store.md),
//                                           with its -wal, -shm and .lock files
//   <dir>/collections/<name>/CURRENT        names the durable index snapshot and its sequence
//   <dir>/collections/<name>/index-<seq>.<kind>   the snapshot itself (docs/format/<kind>.md)
//
// Durability. A write returns OK only once it is durable in the store (the collection's sync
// policy says how: an fsync per batch, or a group commit every sync_interval_ms that the writer
// waits for). The index is derived state: it holds every change up to some sequence of the
// store's change log, is snapshotted in the background (after snapshot_after_changes changes or
// snapshot_interval_ms, and on clean close), and on open is mapped from its snapshot and brought
// up to date by replaying the change-log tail. A snapshot that is missing, damaged, of an unknown
// format version, built with other parameters, or not matching the store is never served: the
// index is rebuilt from the store instead (progress goes to DatabaseOptions::log).
//
// Thread safety: every method of Database and Collection is thread-safe. Searches run
// concurrently with each other and with writes, and never wait for a snapshot or a replay.
// Writes to one collection are serialised; writes to different collections are independent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vecdex/filter.h"
#include "vecdex/point.h"
#include "vecdex/status.h"
#include "vecdex/types.h"

namespace vecdex {

// When a write is acknowledged. Persisted per collection: values are never renumbered.
enum class SyncPolicy : uint8_t {
  kEveryBatch = 0,  // fsync per write batch: lowest latency for single large batches
  kInterval = 1,    // group commit: writers wait for a shared fsync every sync_interval_ms
};

// What a collection fixes at creation (persisted in its store; immutable afterwards, except
// index_spec, which a rebuild replaces: Collection::StartRebuild).
struct CollectionConfig {
  size_t dim = 0;
  Metric metric = Metric::kCosine;
  // Index kind and parameters, including the storage type: "flat", "hnsw",
  // "hnsw:m=16,ef_construction=200,storage=int8,rerank=true". Normalised on creation to the
  // index's own spec string (so every default is written down).
  std::string index_spec = "hnsw";
  SyncPolicy sync = SyncPolicy::kEveryBatch;
  uint32_t sync_interval_ms = 20;  // kInterval only
};

struct DatabaseOptions {
  // Create the directory (and its parents) when it does not exist; else NotFound.
  bool create = true;
  // Upper bound on the bytes the indexes of all collections may hold in memory (0: none). An
  // upsert whose new points would take the total past it fails with ResourceExhausted and
  // changes nothing. Updates of existing points are always allowed.
  size_t memory_budget_bytes = 0;
  // Background snapshots: after this many changes since the last one, or this long after a
  // change, whichever comes first. 0 disables that trigger; background_snapshots = false
  // disables the thread (snapshots then happen only on clean close and Collection::Snapshot).
  uint64_t snapshot_after_changes = 50000;
  uint32_t snapshot_interval_ms = 60000;
  bool background_snapshots = true;
  // Automatic compaction: the background thread rebuilds a collection's index (same spec,
  // default RebuildOptions) once its tombstones exceed this share of live + deleted vectors,
  // with at least 1000 tombstones and no rebuild in the last minute. 0 disables it; so do
  // read_only and background_snapshots = false (no background thread).
  double rebuild_deleted_ratio = 0.25;
  // Serve a fresh snapshot by mapping it (HNSW), so opening costs O(1) in the collection size;
  // a background thread then loads a writable copy (writes wait for it). false: read it.
  bool map_snapshots = true;
  // Verify the store with SQLite's quick_check on open (reads every page); rows carry CRCs that
  // every read checks regardless. Collection::Verify always runs the full check.
  bool check_store_on_open = false;
  // Open for reading only, writing nothing: writes, Snapshot, CreateCollection and
  // DropCollection fail with FailedPrecondition; no snapshot, repair or cleanup is written; a
  // mapped snapshot stays mapped (no writable copy is loaded). A collection whose snapshot is
  // damaged or unusable fails to open with that error instead of being rebuilt, so damage is
  // reported rather than repaired (`vecdex info`, `verify` and `search` open this way).
  // Otherwise such an index is rebuilt, the reason logged and kept in CollectionInfo::recovery.
  bool read_only = false;
  // Progress and recovery messages ("collection docs: rebuilding index from store: ..."). Left
  // empty, they go to stderr; pass a function that ignores them to discard them.
  std::function<void(std::string_view message)> log;
};

// A point found by a search.
struct ScoredPoint {
  PointKey key;
  float distance = 0;  // the index distance (types.h): smaller is nearer
  float score = 0;     // the user-facing similarity (DistanceToScore)
  std::vector<float> vector;  // when asked for (as stored: cosine vectors are not normalised)
  std::string payload_json;   // when asked for; empty when the point has none
};

// A point read back by key or by scrolling.
struct PointRecord {
  PointKey key;
  std::vector<float> vector;  // when asked for
  std::string payload_json;   // when asked for; empty when the point has none
};

struct SearchRequest {
  size_t k = 10;
  size_t ef = 0;  // HNSW beam width; 0 = the index default
  bool with_vector = false;
  bool with_payload = false;
  // Only these keys may be returned (keys not in the collection are ignored); nullopt: all.
  std::optional<std::vector<PointKey>> only_keys;
  // Only points whose payload matches (filter.h); applied during the index traversal, so a
  // filtered search still returns k results whenever at least k points match. nullptr: all.
  std::shared_ptr<const Filter> filter;
  // Skip this many nearest results first (pagination); k results follow. offset + k <= kMaxK.
  size_t offset = 0;
  // Only results whose score (DistanceToScore) is at least this (for L2, whose score is the
  // distance, at most this), like Qdrant's score_threshold.
  std::optional<float> score_threshold;
  // Exact search (every point scored) instead of the index's approximate one.
  bool exact = false;
};

struct ScrollRequest {
  std::optional<PointKey> start_after;  // nullopt: from the first key
  size_t limit = 100;
  bool with_vector = false;
  bool with_payload = false;
  std::shared_ptr<const Filter> filter;  // only matching points; nullptr: all
};

// The value type a payload index keeps for a field (Qdrant's field_schema names in comments).
// Persisted by name: "keyword", "integer", "float", "bool".
enum class PayloadFieldType : uint8_t {
  kKeyword = 0,  // strings: match value/any/except
  kInteger = 1,  // int64: match value/any/except and range
  kFloat = 2,    // double (integers too): range
  kBool = 3,     // true/false: match value
};
std::string_view PayloadFieldTypeName(PayloadFieldType type);
std::optional<PayloadFieldType> ParsePayloadFieldType(std::string_view name);

struct PayloadIndexInfo {
  std::string field;  // the path as written ("city", "address.zip", "tags[]")
  PayloadFieldType type = PayloadFieldType::kKeyword;
  uint64_t points = 0;  // points with at least one value of the type at the path
  bool ready = true;    // false while being built; filters on it are evaluated per point meanwhile
};

// Options of an index rebuild (Collection::StartRebuild).
struct RebuildOptions {
  // The new index spec (kind and parameters, e.g. "hnsw:m=24,ef_construction=200"); empty: the
  // current one (a compaction: drops tombstones).
  std::string index_spec;
  // Validation before the swap: recall@validation_k of the new index against exact search, with
  // validation_queries stored vectors (sampled uniformly) as queries. The new index goes live
  // only when its recall is at least min_recall. validation_queries = 0 skips validation.
  size_t validation_queries = 1000;
  size_t validation_k = 10;
  double min_recall = 0.9;
};

// What a rebuild is doing or last did (CollectionInfo::rebuild).
struct RebuildStatus {
  bool running = false;
  std::string phase;            // "build", "catch_up", "validate", "swap" while running; "" else
  uint64_t points_done = 0;     // of the build phase
  uint64_t points_total = 0;
  double eta_seconds = -1;      // of the whole rebuild; -1 when unknown
  uint64_t generation = 0;      // the active index generation (starts at 1, +1 per swap)
  std::string target_spec;      // the spec being built (running) or last built
  // The last finished rebuild: "swapped", "rejected: recall 0.83 < 0.90", "failed: <error>", or
  // "" when none ran since the collection opened.
  std::string last_result;
  double last_recall = -1;      // its measured recall (-1: not validated)
};

struct ScrollResult {
  std::vector<PointRecord> points;
  std::optional<PointKey> next;  // start_after of the next page; nullopt at the end
};

// What a write did.
struct WriteSummary {
  uint64_t sequence = 0;  // the change-log sequence of its last change (0: nothing changed)
  size_t changed = 0;     // points written, deleted or whose payload changed
};

struct CollectionInfo {
  std::string name;
  CollectionConfig config;
  // "ready"; "loading" while a mapped snapshot is being made writable (searches served, writes
  // wait).
  std::string status;
  // Why the index was rebuilt from the store when the collection opened ("" when it came from
  // its snapshot), e.g. "<file>: checksum mismatch in section blocks".
  std::string recovery;
  uint64_t points = 0;         // in the store
  uint64_t indexed = 0;        // live vectors in the index
  uint64_t last_sequence = 0;  // last change committed to the store
  uint64_t indexed_sequence = 0;   // the index holds every change up to here
  uint64_t snapshot_sequence = 0;  // the durable snapshot holds every change up to here
  uint64_t index_memory_bytes = 0;
  uint64_t store_bytes = 0;     // database file
  uint64_t wal_bytes = 0;       // its write-ahead log
  uint64_t snapshot_bytes = 0;  // the snapshot file (0 when none)
  uint64_t memory_budget_bytes = 0;  // the database's budget (0: none) ...
  uint64_t memory_used_bytes = 0;    // ... and what all its collections' indexes hold
  uint64_t deleted = 0;              // tombstones the index still holds (a rebuild drops them)
  std::vector<PayloadIndexInfo> payload_indexes;  // sorted by field
  RebuildStatus rebuild;
};

// What Collection::Verify checked.
struct VerifyReport {
  bool ok = true;
  std::vector<std::string> problems;  // one line each, naming the file or the point
  uint64_t points_checked = 0;        // store rows read with their checksums
  uint64_t snapshot_bytes_checked = 0;
};

class Collection {
 public:
  virtual ~Collection() = default;

  virtual const std::string& name() const = 0;
  virtual const CollectionConfig& config() const = 0;

  // Inserts new keys and replaces the vector and payload of existing ones. Validates the whole
  // batch first; on any error nothing changes. Errors: InvalidArgument (empty batch, wrong
  // dimension, NaN/Inf, empty vector, invalid key, a key twice, payload not a JSON object),
  // ResourceExhausted (memory budget), FailedPrecondition (collection dropped), storage errors.
  virtual Result<WriteSummary> Upsert(std::span<const Point> points) = 0;
  // Removes the points with these keys; absent keys are ignored (changed counts the removed).
  virtual Result<WriteSummary> Delete(std::span<const PointKey> keys) = 0;
  // Merges the top-level fields of `json_object` into each point's payload / replaces it.
  virtual Result<WriteSummary> SetPayload(std::span<const PointKey> keys, std::string_view json_object) = 0;
  virtual Result<WriteSummary> OverwritePayload(std::span<const PointKey> keys, std::string_view json_object) = 0;
  // Removes these top-level fields from each point's payload.
  virtual Result<WriteSummary> DeletePayloadFields(std::span<const PointKey> keys,
                                                   std::span<const std::string> fields) = 0;
  // Removes every point matching `filter` (one atomic batch).
  virtual Result<WriteSummary> DeleteWhere(const Filter& filter) = 0;

  // The points that exist among `keys`, in the order asked.
  virtual Result<std::vector<PointRecord>> Get(std::span<const PointKey> keys, bool with_vector,
                                               bool with_payload) = 0;
  virtual Result<uint64_t> Count() = 0;
  // Points matching `filter`, counted exactly.
  virtual Result<uint64_t> CountWhere(const Filter& filter) = 0;
  // Points in key order (integer keys ascending, then string keys in byte order).
  virtual Result<ScrollResult> Scroll(const ScrollRequest& request) = 0;

  // Nearest first, at most k (fewer when fewer points match). An empty collection gives an
  // empty result. Errors: InvalidArgument (wrong dimension, NaN/Inf, k == 0 or > kMaxK).
  virtual Result<std::vector<ScoredPoint>> Search(std::span<const float> query, const SearchRequest& request) = 0;
  // One result list per query row, searched in parallel.
  virtual Result<std::vector<std::vector<ScoredPoint>>> SearchBatch(MatrixView queries,
                                                                    const SearchRequest& request) = 0;

  virtual Result<CollectionInfo> Info() = 0;
  // Writes a snapshot of the index now (if it changed since the last) and truncates the change
  // log up to it. Waits for a background snapshot already running.
  virtual Status Snapshot() = 0;
  // Checks every checksum (store rows, SQLite integrity, the snapshot file) and that the index
  // holds exactly the store's points. Problems are reported, not repaired.
  virtual Result<VerifyReport> Verify() = 0;

  // Payload indexes (their list persisted in the store's metadata; each built from the stored
  // payloads on creation, while writers wait, and again on every open; kept in step with every
  // write). Creating an index that exists with the same type is a no-op;
  // with another type it is replaced. Errors: InvalidArgument (malformed path), NotFound (drop
  // of an index that does not exist).
  virtual Status CreatePayloadIndex(std::string_view field, PayloadFieldType type) = 0;
  virtual Status DropPayloadIndex(std::string_view field) = 0;

  // Starts rebuilding the vector index in the background (RebuildOptions); progress and result
  // in Info().rebuild. Searches and writes continue meanwhile. Errors: FailedPrecondition when a
  // rebuild is already running, InvalidArgument for a bad spec or options.
  virtual Status StartRebuild(const RebuildOptions& options) = 0;
  // Waits until no rebuild is running; returns its RebuildStatus.
  virtual RebuildStatus WaitForRebuild() = 0;

  // Writes a consistent copy of the collection's store (the source of truth) to `path`, a file
  // that must not exist. Errors: AlreadyExists, IOError.
  virtual Status Backup(const std::string& path) = 0;

  // Largest k a search accepts.
  static constexpr size_t kMaxK = 10000;
};

class Database {
 public:
  // Opens (creating when allowed) the database in `dir` and every collection in it. A collection
  // that fails to open (its store is damaged beyond what a rebuild can fix) does not stop the
  // others: it is listed by FailedCollections, and GetCollection returns its error.
  // Errors: NotFound, IOError, Unavailable (another process has the directory open).
  [[nodiscard]] static Result<std::unique_ptr<Database>> Open(const std::string& dir, const DatabaseOptions& options);
  // Closes every collection cleanly (a final snapshot of each that changed).
  virtual ~Database() = default;

  // Names: 1-64 characters of [A-Za-z0-9_-], not starting with '-'. Errors: InvalidArgument
  // (name, dimension 0 or too large, bad index spec), AlreadyExists.
  virtual Result<std::shared_ptr<Collection>> CreateCollection(const std::string& name,
                                                               const CollectionConfig& config) = 0;
  // NotFound, or the error the collection failed to open with.
  virtual Result<std::shared_ptr<Collection>> GetCollection(const std::string& name) = 0;
  // Removes the collection and its files. Handles still held fail with FailedPrecondition.
  virtual Status DropCollection(const std::string& name) = 0;
  // Open collections, sorted by name.
  virtual std::vector<std::string> ListCollections() = 0;
  // Collections that failed to open, with the reason (naming the damaged file).
  virtual std::vector<std::pair<std::string, Status>> FailedCollections() = 0;

  virtual const std::string& dir() const = 0;
};

// Validates a collection name (the rule above). Errors: InvalidArgument saying why.
[[nodiscard]] Status ValidateCollectionName(std::string_view name);

}  // namespace vecdex
