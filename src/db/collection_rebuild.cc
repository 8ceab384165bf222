// Index rebuilds: generation G+1 of a collection's index is built from the store beside the
// serving generation G, caught up through the change log, validated against exact search on a
// sample of the stored vectors, and swapped in: snapshot file, then the configuration in the
// store (spec + generation, one transaction), then CURRENT, then the in-memory pointer. Searches
// and writes go on throughout; writers wait only for the last few changes of the catch-up and
// the swap's two small durable writes. Design and crash analysis: docs/format/database.md,
// "Rebuilds".
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>
#include <unordered_set>
#include <utility>

#include "db/collection_impl.h"
#include "db/fs_util.h"
#include "index/flat/flat_index.h"

namespace vecdex::db {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kBuildBatch = 4096;
// Stored vectors scored per exact-search chunk during validation (a small flat index each).
constexpr size_t kTruthChunk = 16384;
// Catch-up rounds run without the write lock until at most this many changes remain; the last
// ones are replayed under it (writers wait for those only).
constexpr uint64_t kSmallTail = 1000;
constexpr int kMaxCatchUpRounds = 8;
constexpr size_t kMaxValidationQueries = 100000;
// Automatic compaction (DatabaseOptions::rebuild_deleted_ratio).
constexpr size_t kAutoMinTombstones = 1000;
constexpr auto kAutoMinInterval = std::chrono::minutes(1);
constexpr auto kProgressEvery = std::chrono::seconds(5);
// Test hook: how long a pause point waits before carrying on by itself.
constexpr auto kPauseLimit = std::chrono::minutes(10);

double SecondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::string Fixed(double value, int digits) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.*f", digits, value);
  return text;
}

// "0.83 < 0.90"; more digits when two decimals would print the same number twice.
std::string RecallComparison(double recall, double min_recall) {
  int digits = 2;
  while (digits < 6 && Fixed(recall, digits) == Fixed(min_recall, digits)) ++digits;
  return Fixed(recall, digits) + " < " + Fixed(min_recall, digits);
}

Status Cancelled() { return Status::FailedPrecondition("cancelled: the collection is closing"); }

std::string EnvOrEmpty(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

// Keeps the k nearest (distance, label) pairs, ties by the smaller label (as exact search does).
void KeepNearest(std::vector<std::pair<float, Label>>* candidates, size_t k) {
  std::sort(candidates->begin(), candidates->end());
  if (candidates->size() > k) candidates->resize(k);
}

}  // namespace

struct CollectionImpl::RebuildJob {
  RebuildOptions options;
  std::string spec;  // normalised
  std::string kind;
  uint64_t generation = 0;  // the generation being built
  size_t reserved_bytes = 0;  // memory budget reservation, released when the rebuild ends
  // The new index holds every change up to `after` (later ones possibly too: replay is
  // idempotent); catch-up replays the changes after it. The change log is pinned there.
  uint64_t after = 0;
  uint64_t pin_limit = UINT64_MAX;  // catch-up raises the pin no further (validation reads the log)
  std::shared_ptr<Index> index;
  std::vector<float> queries;  // validation queries: stored vectors sampled uniformly
  size_t num_queries = 0;
  double recall = -1;
  std::string rejected;  // why validation failed ("" = it did not)
  std::string pause_phase;
  std::string pause_marker;
  Clock::time_point start;
};

// ------------------------------------------------------------------------------------ control

Status CollectionImpl::StartRebuild(const RebuildOptions& options) {
  std::shared_lock life(lifecycle_mu_);
  VECDEX_RETURN_IF_ERROR(CheckOpen());
  if (options_.read_only) return Status::FailedPrecondition("collection " + name_ + " was opened read-only");
  if (!(options.min_recall >= 0.0 && options.min_recall <= 1.0)) {
    return Status::InvalidArgument("rebuild: min_recall must be in [0, 1], got " + Fixed(options.min_recall, 4));
  }
  if (options.validation_k == 0 || options.validation_k > kMaxK) {
    return Status::InvalidArgument("rebuild: validation_k must be in [1, " + std::to_string(kMaxK) + "], got " +
                                   std::to_string(options.validation_k));
  }
  if (options.validation_queries > kMaxValidationQueries) {
    return Status::InvalidArgument("rebuild: validation_queries must be at most " +
                                   std::to_string(kMaxValidationQueries) + ", got " +
                                   std::to_string(options.validation_queries));
  }
  auto job = std::make_shared<RebuildJob>();
  job->options = options;
  const std::string requested = options.index_spec.empty() ? ActiveSpec() : options.index_spec;
  Result<std::unique_ptr<Index>> index = CreateIndex(requested, config_.dim, config_.metric);
  if (!index.ok()) return index.status().WithContext("rebuild");
  job->index = std::move(*index);
  job->spec = job->index->spec();
  job->kind = IndexKindOf(job->spec);
  job->pause_phase = EnvOrEmpty("VECDEX_TEST_REBUILD_PAUSE_PHASE");
  job->pause_marker = EnvOrEmpty("VECDEX_TEST_REBUILD_PAUSE_MARKER");
  VECDEX_ASSIGN_OR_RETURN(const uint64_t points, store_->Count());

  std::unique_lock lock(rebuild_mu_);
  if (rebuild_closing_) return Status::FailedPrecondition("collection " + name_ + " is closed or was dropped");
  if (rebuild_status_.running) {
    return Status::FailedPrecondition("collection " + name_ + ": a rebuild is already running (phase " +
                                      rebuild_status_.phase + ", building '" + rebuild_status_.target_spec + "')");
  }
  // The serving index and the new one coexist until the swap: the new one's memory is reserved
  // up front, so the rebuild fails now rather than take the database past its budget.
  if (budget_->limit() != 0) {
    job->reserved_bytes = job->index->EstimateAddBytes(points);
    if (!budget_->TryReserve(job->reserved_bytes)) {
      const std::string why = "the new index needs about " + std::to_string(job->reserved_bytes) +
                              " bytes beside the serving one; the database's memory budget is " +
                              std::to_string(budget_->limit()) + " bytes, " + std::to_string(budget_->used()) +
                              " in use";
      rebuild_status_.target_spec = job->spec;
      rebuild_status_.last_result = "failed: " + why;
      rebuild_status_.last_recall = -1;
      rebuild_finished_ = Clock::now();
      return Status::ResourceExhausted("collection " + name_ + ": rebuild: " + why);
    }
  }
  {
    // Under write_mu_: a snapshot capturing its sequence afterwards sees the pin (and one that
    // captured it before cannot be past `after`).
    std::lock_guard write(write_mu_);
    job->after = store_->LastSequence();
    rebuild_pin_.store(job->after);
  }
  job->generation = generation_.load() + 1;
  job->start = Clock::now();
  rebuild_cancel_.store(false);
  rebuild_points_done_.store(0);
  rebuild_points_total_.store(points);
  build_started_ = job->start;
  rebuild_status_.running = true;
  rebuild_status_.phase = "build";
  rebuild_status_.target_spec = job->spec;
  std::thread previous = std::move(rebuild_thread_);  // finished: it cleared `running`
  rebuild_thread_ = std::thread([this, job] { RunRebuild(job); });
  lock.unlock();
  if (previous.joinable()) previous.join();
  Log("rebuild to index generation " + std::to_string(job->generation) + " ('" + job->spec + "') started: " +
      std::to_string(points) + " points, from change " + std::to_string(job->after));
  return Status::Ok();
}

namespace {

// The progress fields of a status, from the rebuild's counters.
void FillProgress(RebuildStatus* status, uint64_t done, uint64_t total, Clock::time_point build_started,
                  uint64_t generation) {
  status->generation = generation;
  status->points_done = done;
  status->points_total = std::max(total, done);
  status->eta_seconds = -1;
  if (status->running && status->phase == "build" && done > 0) {
    const double rate = static_cast<double>(done) / std::max(1e-6, SecondsSince(build_started));
    status->eta_seconds = static_cast<double>(status->points_total - done) / rate;
  }
}

}  // namespace

RebuildStatus CollectionImpl::WaitForRebuild() {
  std::unique_lock lock(rebuild_mu_);
  rebuild_cv_.wait(lock, [this] { return !rebuild_status_.running; });
  RebuildStatus out = rebuild_status_;
  FillProgress(&out, rebuild_points_done_.load(), rebuild_points_total_.load(), build_started_, generation_.load());
  return out;
}

void CollectionImpl::FillRebuildStatus(CollectionInfo* info) const {
  info->config = ActiveConfig();
  if (const std::shared_ptr<Index> index = CurrentIndex()) info->deleted = index->deleted_count();
  std::lock_guard lock(rebuild_mu_);
  info->rebuild = rebuild_status_;
  FillProgress(&info->rebuild, rebuild_points_done_.load(), rebuild_points_total_.load(), build_started_,
               generation_.load());
}

void CollectionImpl::StopRebuild() {
  std::thread thread;
  {
    std::lock_guard lock(rebuild_mu_);
    rebuild_closing_ = true;
    rebuild_cancel_.store(true);
    thread = std::move(rebuild_thread_);
  }
  {
    // A swap waiting for the collection to leave kLoading re-checks the cancel flag.
    std::lock_guard write(write_mu_);
  }
  writable_cv_.notify_all();
  if (thread.joinable()) thread.join();
}

void CollectionImpl::MaybeStartAutoRebuild() {
  const double ratio = options_.rebuild_deleted_ratio;
  if (!(ratio > 0) || options_.read_only || state_.load() != State::kReady) return;
  const std::shared_ptr<Index> index = CurrentIndex();
  if (index == nullptr) return;
  size_t deleted = 0;
  size_t live = 0;
  {
    std::shared_lock<std::shared_mutex> readers;
    if (!index->concurrent_writes()) readers = std::shared_lock(index_rw_);
    deleted = index->deleted_count();
    if (deleted < kAutoMinTombstones) return;
    live = index->size();
  }
  const double share = static_cast<double>(deleted) / static_cast<double>(deleted + live);
  if (share <= ratio) return;
  {
    std::lock_guard lock(rebuild_mu_);
    if (rebuild_status_.running || rebuild_closing_) return;
    if (rebuild_finished_ != Clock::time_point{} && Clock::now() - rebuild_finished_ < kAutoMinInterval) return;
  }
  Log("the index holds " + std::to_string(deleted) + " tombstones (" + Fixed(100 * share, 1) +
      "% of its vectors): compacting it");
  const Status started = StartRebuild(RebuildOptions{});
  if (!started.ok()) {
    Log("automatic compaction did not start: " + started.message());
    std::lock_guard lock(rebuild_mu_);
    rebuild_finished_ = Clock::now();  // retried a minute later, not every tick
  }
}

Status CollectionImpl::Backup(const std::string& path) {
  std::shared_lock life(lifecycle_mu_);
  VECDEX_RETURN_IF_ERROR(CheckOpen());
  return store_->Backup(path);
}

// ------------------------------------------------------------------------------------ the thread

void CollectionImpl::SetRebuildPhase(const char* phase) {
  std::lock_guard lock(rebuild_mu_);
  rebuild_status_.phase = phase;
}

void CollectionImpl::RebuildPausePoint(const RebuildJob& job, const char* phase) {
  if (job.pause_phase != phase) return;
  if (!job.pause_marker.empty()) (void)WriteFileAtomically(job.pause_marker, phase);
  Log("test hook: rebuild paused at " + std::string(phase));
  const auto deadline = Clock::now() + kPauseLimit;
  while (!RebuildCancelled() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

void CollectionImpl::RunRebuild(std::shared_ptr<RebuildJob> job) {
  Status s = RebuildBuild(*job);
  if (s.ok()) {
    SetRebuildPhase("catch_up");
    RebuildPausePoint(*job, "catch_up");
    s = RebuildCatchUp(*job, kSmallTail);
  }
  if (s.ok()) s = RebuildValidate(*job);
  if (s.ok() && job->rejected.empty()) s = RebuildSwap(*job);

  std::string result;
  if (!s.ok()) {
    result = "failed: " + s.message();
  } else if (!job->rejected.empty()) {
    result = "rejected: " + job->rejected;
  } else {
    result = "swapped";
  }
  const std::string recall = job->recall < 0 ? "not validated" : "recall " + Fixed(job->recall, 3);
  Log("rebuild to index generation " + std::to_string(job->generation) + " ('" + job->spec + "'): " + result + " (" +
      recall + ", " + Fixed(SecondsSince(job->start), 2) + " s)" +
      (s.ok() && job->rejected.empty() ? "" : "; generation " + std::to_string(generation_.load()) + " keeps serving"));
  rebuild_pin_.store(UINT64_MAX);
  budget_->Release(job->reserved_bytes);
  job->index.reset();  // a rejected or failed index is freed here; a swapped one lives on in index_
  {
    std::lock_guard lock(rebuild_mu_);
    rebuild_status_.running = false;
    rebuild_status_.phase.clear();
    rebuild_status_.last_result = result;
    rebuild_status_.last_recall = job->recall;
    rebuild_finished_ = Clock::now();
  }
  rebuild_cv_.notify_all();
}

Status CollectionImpl::RebuildBuild(RebuildJob& job) {
  RebuildPausePoint(job, "build");
  if (RebuildCancelled()) return Cancelled();
  const size_t dim = config_.dim;
  // Validation queries are drawn while the points stream by (reservoir sampling, seeded).
  const bool validate = job.kind != "flat" && job.options.validation_queries > 0;
  const size_t wanted = validate ? job.options.validation_queries : 0;
  std::mt19937_64 rng(0x5EED0000ull + job.generation);
  job.queries.reserve(wanted * dim);
  uint64_t seen = 0;

  std::vector<float> vectors;
  std::vector<Label> ids;
  vectors.reserve(kBuildBatch * dim);
  auto last_report = Clock::now();
  const auto flush = [&]() -> Status {
    if (ids.empty()) return Status::Ok();
    VECDEX_RETURN_IF_ERROR(job.index->Add(ids, MatrixView{vectors.data(), ids.size(), dim}));
    const uint64_t done = rebuild_points_done_.fetch_add(ids.size()) + ids.size();
    ids.clear();
    vectors.clear();
    if (Clock::now() - last_report >= kProgressEvery) {
      last_report = Clock::now();
      Log("rebuild: " + std::to_string(done) + " of " + std::to_string(rebuild_points_total_.load()) + " points");
    }
    return RebuildCancelled() ? Cancelled() : Status::Ok();
  };
  VECDEX_RETURN_IF_ERROR(store_->ForEachPoint([&](Label id, const PointKey&, std::span<const float> vector) {
    if (seen < wanted) {
      job.queries.insert(job.queries.end(), vector.begin(), vector.end());
    } else if (wanted > 0) {
      const uint64_t slot = rng() % (seen + 1);
      if (slot < wanted) std::copy(vector.begin(), vector.end(), job.queries.begin() + slot * dim);
    }
    ++seen;
    ids.push_back(id);
    vectors.insert(vectors.end(), vector.begin(), vector.end());
    return ids.size() == kBuildBatch ? flush() : Status::Ok();
  }));
  VECDEX_RETURN_IF_ERROR(flush());
  job.num_queries = std::min<uint64_t>(seen, wanted);
  return Status::Ok();
}

Status CollectionImpl::RebuildCatchUp(RebuildJob& job, uint64_t small_tail) {
  for (int round = 0; round < kMaxCatchUpRounds; ++round) {
    if (RebuildCancelled()) return Cancelled();
    // Every change up to `last` is committed and visible to the reads below; later ones may be
    // seen too (the replay sets ids to the store's current state) and are replayed again later.
    const uint64_t last = store_->LastSequence();
    if (last - job.after <= small_tail) break;
    VECDEX_RETURN_IF_ERROR(ReplayChanges(job.index.get(), job.after));
    job.after = last;
    // Only ever raised here: a snapshot reading the older pin truncates less.
    rebuild_pin_.store(std::min(last, job.pin_limit));
  }
  return Status::Ok();
}

Status CollectionImpl::RebuildValidate(RebuildJob& job) {
  SetRebuildPhase("validate");
  RebuildPausePoint(job, "validate");
  if (RebuildCancelled()) return Cancelled();
  if (job.kind == "flat") {
    job.recall = 1.0;  // exact search: nothing to measure
    return Status::Ok();
  }
  if (job.options.validation_queries == 0) return Status::Ok();  // skipped: recall stays -1
  if (job.num_queries == 0) {
    job.recall = 1.0;  // an empty collection: nothing can be missed
    return Status::Ok();
  }
  const size_t dim = config_.dim;
  const size_t k = job.options.validation_k;
  const MatrixView queries{job.queries.data(), job.num_queries, dim};
  SearchParams params;
  params.k = k;

  // Writes go on meanwhile, so the store and the new index are compared on the points no change
  // touched after `truth_from`: the truth is read from a snapshot at or after it, the index is
  // then caught up past it, and every id changed after it is left out of both sides (the other
  // points are identical in both, so their exact order is the truth for the index).
  const uint64_t truth_from = store_->LastSequence();

  // Exact top-k over the store's points, a chunk at a time (a small flat index each), so the
  // check never holds a second copy of the collection.
  std::vector<std::vector<std::pair<float, Label>>> truth(job.num_queries);
  std::vector<float> vectors;
  std::vector<Label> ids;
  SearchResults found;
  const auto score_chunk = [&]() -> Status {
    if (ids.empty()) return Status::Ok();
    FlatIndex chunk(dim, config_.metric);
    VECDEX_RETURN_IF_ERROR(chunk.Add(ids, MatrixView{vectors.data(), ids.size(), dim}));
    VECDEX_RETURN_IF_ERROR(chunk.Search(queries, params, &found));
    for (size_t q = 0; q < found.num_queries; ++q) {
      for (size_t i = 0; i < found.count_of(q); ++i) truth[q].emplace_back(found.distances_of(q)[i], found.labels_of(q)[i]);
      KeepNearest(&truth[q], k);
    }
    ids.clear();
    vectors.clear();
    return RebuildCancelled() ? Cancelled() : Status::Ok();
  };
  VECDEX_RETURN_IF_ERROR(store_->ForEachPoint([&](Label id, const PointKey&, std::span<const float> vector) {
    ids.push_back(id);
    vectors.insert(vectors.end(), vector.begin(), vector.end());
    return ids.size() == kTruthChunk ? score_chunk() : Status::Ok();
  }));
  VECDEX_RETURN_IF_ERROR(score_chunk());
  job.pin_limit = truth_from;  // the changes after truth_from are read below
  VECDEX_RETURN_IF_ERROR(RebuildCatchUp(job, 0));
  std::unordered_set<Label> changed;
  VECDEX_RETURN_IF_ERROR(store_->ForEachChange(truth_from, [&](const store::Change& change) {
    if (change.op != store::ChangeOp::kPayload) changed.insert(change.id);
    return Status::Ok();
  }));
  job.pin_limit = UINT64_MAX;

  // recall@k: the share of the exact k nearest that the new index returns in its k. It is asked
  // for more when points changed, so that changed points it ranks high (left out) do not crowd
  // unchanged ones out of its answer.
  params.k = k + std::min(changed.size(), 2 * k);
  VECDEX_RETURN_IF_ERROR(job.index->Search(queries, params, &found));
  size_t hits = 0;
  size_t wanted = 0;
  for (size_t q = 0; q < job.num_queries; ++q) {
    std::vector<Label> expected;
    for (const auto& [distance, label] : truth[q]) {
      if (!changed.contains(label)) expected.push_back(label);
    }
    std::unordered_set<Label> got;
    for (size_t i = 0; i < found.count_of(q) && got.size() < expected.size(); ++i) {
      if (!changed.contains(found.labels_of(q)[i])) got.insert(found.labels_of(q)[i]);
    }
    for (Label label : expected) hits += got.contains(label);
    wanted += expected.size();
  }
  job.recall = wanted == 0 ? 1.0 : static_cast<double>(hits) / static_cast<double>(wanted);
  if (job.recall < job.options.min_recall) {
    job.rejected = "recall " + RecallComparison(job.recall, job.options.min_recall);
  }
  return Status::Ok();
}

Status CollectionImpl::RebuildSwap(RebuildJob& job) {
  SetRebuildPhase("swap");
  RebuildPausePoint(job, "swap");
  // Without the write lock: what validation let accumulate, down to nothing if writers allow.
  VECDEX_RETURN_IF_ERROR(RebuildCatchUp(job, 0));

  // Snapshots wait (they would publish CURRENT and delete files under us); writers do not yet.
  std::lock_guard serial(snapshot_mu_);
  // The snapshot must never hold a change the store could still lose (kInterval).
  VECDEX_RETURN_IF_ERROR(store_->Sync());
  const uint64_t file_sequence = job.after;
  const std::string file = SnapshotFileName(file_sequence, job.kind, job.generation);
  const std::string path = FilePath(file);
  // The new index is private to this thread: saving it holds nobody up.
  VECDEX_RETURN_IF_ERROR(job.index->Save(path));
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Status::IOError(path + ": missing after save");
  const auto discard = [&](Status why) {
    ::unlink(path.c_str());  // CURRENT does not name it; a crash instead leaves it to the next open
    return why;
  };
  RebuildPausePoint(job, "swap:saved");

  std::unique_lock lock(write_mu_);
  // A collection still serving a mapped snapshot swaps its writable copy in when it is loaded.
  writable_cv_.wait(lock, [this] { return state_.load() != State::kLoading || RebuildCancelled(); });
  if (RebuildCancelled()) return discard(Cancelled());
  // The final tail, with writers held off: the new index now holds exactly the store's state.
  const uint64_t last = store_->LastSequence();
  if (last != job.after) {
    if (Status s = ReplayChanges(job.index.get(), job.after); !s.ok()) return discard(s);
  }

  // 1. The flip: the active generation and its spec, in one store transaction (made durable
  // before CURRENT may name the new snapshot).
  CollectionConfig next = config_;
  next.index_spec = job.spec;
  const store::MetaEntry entry{std::string(kConfigMetaKey), EncodeConfig(StoredConfig{next, uuid_, job.generation})};
  if (Status s = store_->PutMeta(std::span(&entry, 1)); !s.ok()) return discard(s);
  if (Status s = store_->Sync(); !s.ok()) {
    Log("rebuild: the configuration of generation " + std::to_string(job.generation) +
        " is committed but its fsync failed: " + s.message());
  }
  RebuildPausePoint(job, "swap:config");

  // 2. CURRENT names the new snapshot. From here on the new generation is active whatever
  // happens: a failure only means the next snapshot (written at once) or open rebuilds.
  SnapshotManifest manifest{file,  file_sequence, job.spec, config_.dim, config_.metric,
                            uuid_, static_cast<uint64_t>(st.st_size), job.generation};
  const Status published = WriteFileAtomically(FilePath("CURRENT"), EncodeManifest(manifest));
  if (!published.ok()) {
    Log("rebuild: generation " + std::to_string(job.generation) + " is active but CURRENT could not name its snapshot (" +
        published.message() + "); a new snapshot follows");
  }
  RebuildPausePoint(job, "swap:current");

  // 3. Memory: new searches and writes use the new index; searches running on the old one keep
  // it alive through their shared_ptr until they finish.
  {
    std::lock_guard config_lock(config_mu_);
    config_history_.push_back(next);
    active_config_.store(&config_history_.back(), std::memory_order_release);
  }
  generation_.store(job.generation);
  SetIndex(job.index);
  needs_catch_up_ = false;  // the new index was replayed from the store up to `last`
  indexed_sequence_.store(last);
  has_snapshot_ = published.ok();
  snapshot_file_ = published.ok() ? file : "";
  snapshot_sequence_.store(published.ok() ? file_sequence : 0);
  if (!published.ok()) {
    oldest_unsnapshotted_ns_.store(1);  // no usable snapshot: the background thread writes one
  } else if (last == file_sequence) {
    oldest_unsnapshotted_ns_.store(0);
  } else {
    int64_t none = 0;
    oldest_unsnapshotted_ns_.compare_exchange_strong(none, Clock::now().time_since_epoch().count());
  }
  // Measured before writers resume: an index without concurrent writes may not be read while
  // one of them adds to it.
  const size_t memory_bytes = job.index->memory_bytes();
  lock.unlock();

  budget_->Report(this, memory_bytes);
  if (published.ok()) {
    RemoveStaleFiles(file);
    if (Status s = store_->TruncateChangesUpTo(file_sequence); !s.ok()) {
      Log("rebuild: truncating the change log failed (retried by the next snapshot): " + s.message());
    }
  }
  return Status::Ok();
}

}  // namespace vecdex::db
