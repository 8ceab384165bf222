// Index rebuilds (Collection::StartRebuild): new parameters or kind take effect and survive a
// reopen, compaction drops tombstones, searches and writes run throughout (no write lost or
// applied twice), a generation failing validation is never swapped in, a crash (SIGKILL) in each
// phase leaves exactly one valid generation, tombstones trigger a compaction on their own, and
// Backup writes a store that opens as a collection.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "db/db_test_util.h"
#include "vecdex/index.h"

namespace vecdex::dbtest {
namespace {

constexpr size_t kDim = 16;
constexpr const char* kName = "docs";

// The spec an index normalises `spec` to (what Info reports once it is active).
std::string Normalized(const std::string& spec, Metric metric = Metric::kL2) {
  auto index = CreateIndex(spec, kDim, metric);
  EXPECT_TRUE(index.ok()) << index.status().ToString();
  return index.ok() ? (*index)->spec() : "";
}

// Upserts keys [first, first + count) at `version`, in batches; records them in `model`.
Status Populate(Collection& c, Model& model, uint64_t first, uint64_t count, uint64_t version = 1) {
  for (uint64_t begin = first; begin < first + count; begin += 500) {
    std::vector<Point> batch;
    for (uint64_t k = begin; k < std::min(first + count, begin + 500); ++k) batch.push_back(MakePoint(IntKey(k), version, kDim));
    VECDEX_RETURN_IF_ERROR(c.Upsert(batch).status());
    ApplyUpserts(model, batch);
  }
  return Status::Ok();
}

Status DeleteKeys(Collection& c, Model& model, uint64_t first, uint64_t count) {
  std::vector<PointKey> keys;
  for (uint64_t k = first; k < first + count; ++k) {
    keys.push_back(IntKey(k));
    model.erase(IntKey(k));
  }
  return c.Delete(keys).status();
}

// Every point of `model` is served by the index with its own vector (restricted searches, so
// any index kind must find it) and the index holds nothing else (Verify).
::testing::AssertionResult IndexServes(Collection& c, const Model& model, size_t stride = 1) {
  size_t i = 0;
  for (const auto& [key, want] : model) {
    if (i++ % stride != 0) continue;
    auto found = IndexFinds(c, key, want.vector, /*unrestricted=*/false, /*exact=*/false);
    if (!found) return found;
  }
  return ::testing::AssertionSuccess();
}

RebuildOptions Rebuild(std::string spec, size_t queries = 200, double min_recall = 0.9) {
  RebuildOptions o;
  o.index_spec = std::move(spec);
  o.validation_queries = queries;
  o.min_recall = min_recall;
  return o;
}

// The parsed first line of CURRENT, or null when there is none.
nlohmann::json ReadManifest(const std::string& collection_dir) {
  std::ifstream in(collection_dir + "/CURRENT");
  std::string line;
  if (!in || !std::getline(in, line)) return nullptr;
  return nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
}

class DbRebuildTest : public DbTest {
 protected:
  DatabaseOptions Opts() {
    DatabaseOptions o = Options();
    o.rebuild_deleted_ratio = 0;  // only the rebuilds a test asks for
    return o;
  }
};

TEST_F(DbRebuildTest, NewParametersTakeEffectAndSurviveReopen) {
  const std::string old_spec = Normalized("hnsw:m=6,ef_construction=40");
  const std::string new_spec = Normalized("hnsw:m=12,ef_construction=80");
  Model model;
  {
    ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Opts()));
    ASSERT_OK_AND_ASSIGN(auto c, db->CreateCollection(kName, Config(kDim, Metric::kL2, "hnsw:m=6,ef_construction=40")));
    ASSERT_OK(Populate(*c, model, 0, 3000));
    ASSERT_OK(c->Snapshot());
    ASSERT_OK_AND_ASSIGN(CollectionInfo before, c->Info());
    EXPECT_EQ(before.config.index_spec, old_spec);
    EXPECT_EQ(before.rebuild.generation, 1u);
    EXPECT_FALSE(before.rebuild.running);
    EXPECT_EQ(before.rebuild.last_result, "");

    ASSERT_OK(c->StartRebuild(Rebuild("hnsw:m=12,ef_construction=80")));
    const RebuildStatus done = c->WaitForRebuild();
    EXPECT_FALSE(done.running);
    EXPECT_EQ(done.last_result, "swapped");
    EXPECT_EQ(done.generation, 2u);
    EXPECT_EQ(done.target_spec, new_spec);
    EXPECT_GE(done.last_recall, 0.9);
    EXPECT_LE(done.last_recall, 1.0);
    EXPECT_EQ(done.points_done, 3000u);
    EXPECT_EQ(done.points_total, 3000u);

    ASSERT_OK_AND_ASSIGN(CollectionInfo after, c->Info());
    EXPECT_EQ(after.config.index_spec, new_spec);
    EXPECT_EQ(c->config().index_spec, new_spec);
    EXPECT_EQ(after.rebuild.generation, 2u);
    EXPECT_EQ(after.rebuild.phase, "");
    EXPECT_EQ(after.indexed, 3000u);
    EXPECT_EQ(after.indexed_sequence, after.last_sequence);
    // The swap published the new generation's snapshot: the only one left.
    EXPECT_EQ(after.snapshot_sequence, after.last_sequence);
    const auto files = FilesStartingWith(CollectionDir(kName), "index-");
    ASSERT_EQ(files.size(), 1u);
    EXPECT_NE(files[0].find(".g2.hnsw"), std::string::npos) << files[0];
    const nlohmann::json manifest = ReadManifest(CollectionDir(kName));
    EXPECT_EQ(manifest.value("generation", uint64_t{0}), 2u);
    EXPECT_EQ(manifest.value("index_spec", ""), new_spec);
    EXPECT_TRUE(IndexServes(*c, model, 7));
    EXPECT_TRUE(Holds(*c, model));
    EXPECT_VERIFIED(*c);
    // Writes keep flowing into the new generation.
    ASSERT_OK(Populate(*c, model, 3000, 100));
    ASSERT_OK(DeleteKeys(*c, model, 0, 50));
    EXPECT_TRUE(IndexServes(*c, model, 7));
    EXPECT_VERIFIED(*c);
  }
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Opts()));
  ASSERT_OK_AND_ASSIGN(auto c, db->GetCollection(kName));
  ASSERT_OK_AND_ASSIGN(CollectionInfo info, c->Info());
  EXPECT_EQ(info.config.index_spec, new_spec);
  EXPECT_EQ(info.rebuild.generation, 2u);
  EXPECT_EQ(info.recovery, "") << "the new generation's snapshot should have been used";
  EXPECT_TRUE(Holds(*c, model));
  EXPECT_TRUE(IndexServes(*c, model, 7));
  EXPECT_VERIFIED(*c);
}

TEST_F(DbRebuildTest, SwitchesKindAndBack) {
  Model model;
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Opts()));
  ASSERT_OK_AND_ASSIGN(auto c, db->CreateCollection(kName, Config(kDim, Metric::kCosine, "hnsw:m=8")));
  ASSERT_OK(Populate(*c, model, 0, 1500));

  ASSERT_OK(c->StartRebuild(Rebuild("flat")));
  RebuildStatus r = c->WaitForRebuild();
  EXPECT_EQ(r.last_result, "swapped");
  EXPECT_EQ(r.last_recall, 1.0) << "flat is exact: reported as recall 1 without measuring";
  EXPECT_EQ(c->config().index_spec, "flat");
  // Exact search now: every point is its own nearest neighbour.
  size_t i = 0;
  for (const auto& [key, want] : model) {
    if (i++ % 50 == 0) {
      EXPECT_TRUE(IndexFinds(*c, key, want.vector, /*unrestricted=*/true, /*exact=*/true));
    }
  }
  EXPECT_EQ(FilesStartingWith(CollectionDir(kName), "index-").back().substr(26), ".g2.flat");

  ASSERT_OK(c->StartRebuild(Rebuild("hnsw:m=8")));
  r = c->WaitForRebuild();
  EXPECT_EQ(r.last_result, "swapped");
  EXPECT_EQ(r.generation, 3u);
  EXPECT_EQ(c->config().index_spec, Normalized("hnsw:m=8", Metric::kCosine));
  EXPECT_TRUE(IndexServes(*c, model, 5));
  EXPECT_VERIFIED(*c);
}

TEST_F(DbRebuildTest, CompactionDropsTombstones) {
  Model model;
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Opts()));
  ASSERT_OK_AND_ASSIGN(auto c, db->CreateCollection(kName, Config(kDim, Metric::kL2, "hnsw:m=8,ef_construction=40")));
  ASSERT_OK(Populate(*c, model, 0, 5000));
  ASSERT_OK(DeleteKeys(*c, model, 1000, 2000));
  ASSERT_OK_AND_ASSIGN(CollectionInfo before, c->Info());
  EXPECT_EQ(before.deleted, 2000u);
  EXPECT_EQ(before.indexed, 3000u);
  const std::string spec = before.config.index_spec;

  ASSERT_OK(c->StartRebuild(RebuildOptions{}));  // empty spec: the current one
  const RebuildStatus r = c->WaitForRebuild();
  EXPECT_EQ(r.last_result, "swapped");
  EXPECT_EQ(r.target_spec, spec);
  ASSERT_OK_AND_ASSIGN(CollectionInfo after, c->Info());
  EXPECT_EQ(after.deleted, 0u);
  EXPECT_EQ(after.indexed, 3000u);
  EXPECT_EQ(after.config.index_spec, spec);
  EXPECT_EQ(after.rebuild.generation, 2u);
  EXPECT_LT(after.index_memory_bytes, before.index_memory_bytes);
  EXPECT_TRUE(IndexServes(*c, model, 3));
  EXPECT_VERIFIED(*c);
}

TEST_F(DbRebuildTest, SearchesAndWritesRunDuringRebuilds) {
  DatabaseOptions options = Opts();
  // Snapshots during the rebuilds exercise the change-log pin.
  options.snapshot_after_changes = 200;
  options.snapshot_interval_ms = 20;
  const uint64_t initial = kSanitized ? 1500 : 4000;
  Model model;
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), options));
  ASSERT_OK_AND_ASSIGN(auto c, db->CreateCollection(kName, Config(kDim, Metric::kL2, "hnsw:m=8,ef_construction=40")));
  ASSERT_OK(Populate(*c, model, 0, initial));

  std::atomic<bool> stop{false};
  std::atomic<size_t> searches{0};
  std::atomic<size_t> writes{0};
  std::vector<std::thread> searchers;
  for (int t = 0; t < 2; ++t) {
    searchers.emplace_back([&, t] {
      std::mt19937_64 rng(t + 1);
      SearchRequest request;
      request.k = 5;
      while (!stop.load()) {
        auto hits = c->Search(VectorFor(IntKey(rng() % initial), 1, kDim), request);
        ASSERT_OK(hits);
        ASSERT_EQ(hits->size(), 5u);
        searches.fetch_add(1);
      }
    });
  }
  // One writer (the model's only mutator until joined): new keys, replaced vectors, deletes.
  std::thread writer([&] {
    std::mt19937_64 rng(99);
    uint64_t next_key = initial;
    uint64_t version = 2;
    while (!stop.load()) {
      const uint64_t r = rng() % 3;
      if (r == 0) {
        std::vector<Point> batch;
        for (int i = 0; i < 10; ++i) batch.push_back(MakePoint(IntKey(next_key++), version, kDim));
        ASSERT_OK(c->Upsert(batch));
        ApplyUpserts(model, batch);
      } else if (r == 1) {
        std::vector<Point> batch;
        for (int i = 0; i < 10; ++i) batch.push_back(MakePoint(IntKey(rng() % next_key), version, kDim));
        std::sort(batch.begin(), batch.end(), [](const Point& a, const Point& b) { return a.key < b.key; });
        batch.erase(std::unique(batch.begin(), batch.end(), [](const Point& a, const Point& b) { return a.key == b.key; }),
                    batch.end());
        ASSERT_OK(c->Upsert(batch));
        ApplyUpserts(model, batch);
      } else {
        std::vector<PointKey> keys;
        for (int i = 0; i < 5; ++i) keys.push_back(IntKey(rng() % next_key));
        std::sort(keys.begin(), keys.end());
        keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
        ASSERT_OK(c->Delete(keys));
        for (const PointKey& k : keys) model.erase(k);
      }
      ++version;
      writes.fetch_add(1);
    }
  });

  const std::vector<std::string> specs = {"hnsw:m=12,ef_construction=60", "flat", "hnsw:m=8,ef_construction=40"};
  uint64_t generation = 1;
  for (const std::string& spec : specs) {
    const size_t writes_before = writes.load();
    ASSERT_OK(c->StartRebuild(Rebuild(spec, 200, 0.8)));
    // Progress is visible while it runs.
    ASSERT_OK_AND_ASSIGN(CollectionInfo during, c->Info());
    EXPECT_EQ(during.rebuild.target_spec, Normalized(spec));
    const RebuildStatus r = c->WaitForRebuild();
    EXPECT_EQ(r.last_result, "swapped") << spec;
    EXPECT_EQ(r.generation, ++generation);
    EXPECT_EQ(c->config().index_spec, Normalized(spec)) << spec;
    // Let the writer go on for a little on the new generation before the next swap.
    while (writes.load() < writes_before + 20) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  stop.store(true);
  writer.join();
  for (std::thread& t : searchers) t.join();
  EXPECT_GT(searches.load(), 0u);

  // The store holds exactly what was acknowledged; the index exactly the store's points, each
  // with its latest vector.
  EXPECT_TRUE(Holds(*c, model));
  EXPECT_VERIFIED(*c);
  EXPECT_TRUE(IndexServes(*c, model, kSanitized ? 5 : 1));
  ASSERT_OK_AND_ASSIGN(CollectionInfo info, c->Info());
  EXPECT_EQ(info.indexed, model.size());
  EXPECT_EQ(info.indexed_sequence, info.last_sequence);
  EXPECT_EQ(info.rebuild.generation, 4u);
  db.reset();
  c.reset();

  ASSERT_OK_AND_ASSIGN(auto reopened, Database::Open(DbDir(), Opts()));
  ASSERT_OK_AND_ASSIGN(auto again, reopened->GetCollection(kName));
  EXPECT_TRUE(Holds(*again, model));
  EXPECT_VERIFIED(*again);
  EXPECT_EQ(again->config().index_spec, Normalized(specs.back()));
}

TEST_F(DbRebuildTest, FailingValidationKeepsTheOldGeneration) {
  Model model;
  {
    ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Opts()));
    ASSERT_OK_AND_ASSIGN(auto c, db->CreateCollection(kName, Config(32, Metric::kL2, "hnsw:m=16,ef_construction=100")));
    // 32-dimensional gaussian points: hard for a graph with 2 links per node and no beam.
    for (uint64_t begin = 0; begin < 4000; begin += 500) {
      std::vector<Point> batch;
      for (uint64_t k = begin; k < begin + 500; ++k) batch.push_back(MakePoint(IntKey(k), 1, 32));
      ASSERT_OK(c->Upsert(batch));
      ApplyUpserts(model, batch);
    }
    ASSERT_OK(c->Snapshot());
    const std::string spec = c->config().index_spec;
    const auto files_before = FilesStartingWith(CollectionDir(kName), "index-");

    ASSERT_OK(c->StartRebuild(Rebuild("hnsw:m=2,ef_construction=1,ef_search=1", 300, 0.99)));
    const RebuildStatus r = c->WaitForRebuild();
    EXPECT_EQ(r.last_result.rfind("rejected: recall ", 0), 0u) << r.last_result;
    EXPECT_NE(r.last_result.find(" < 0.99"), std::string::npos) << r.last_result;
    EXPECT_GE(r.last_recall, 0.0);
    EXPECT_LT(r.last_recall, 0.99);
    EXPECT_EQ(r.generation, 1u);
    ASSERT_OK_AND_ASSIGN(CollectionInfo info, c->Info());
    EXPECT_EQ(info.config.index_spec, spec);
    EXPECT_EQ(info.rebuild.last_result, r.last_result);
    EXPECT_EQ(FilesStartingWith(CollectionDir(kName), "index-"), files_before);
    EXPECT_EQ(ReadManifest(CollectionDir(kName)).value("generation", uint64_t{0}), 1u);
    EXPECT_VERIFIED(*c);
  }
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Opts()));
  ASSERT_OK_AND_ASSIGN(auto c, db->GetCollection(kName));
  ASSERT_OK_AND_ASSIGN(CollectionInfo info, c->Info());
  EXPECT_EQ(info.config.index_spec, Normalized("hnsw:m=16,ef_construction=100"));
  EXPECT_EQ(info.rebuild.generation, 1u);
  EXPECT_EQ(info.recovery, "");
  EXPECT_TRUE(Holds(*c, model));
}

TEST_F(DbRebuildTest, RejectsBadRequests) {
  Model model;
  DatabaseOptions options = Opts();
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), options));
  ASSERT_OK_AND_ASSIGN(auto c, db->CreateCollection(kName, Config(kDim, Metric::kL2, "hnsw")));
  ASSERT_OK(Populate(*c, model, 0, 300));
  EXPECT_CODE(c->StartRebuild(Rebuild("nonsense")), StatusCode::kInvalidArgument);
  EXPECT_CODE(c->StartRebuild(Rebuild("hnsw:m=1")), StatusCode::kInvalidArgument);
  EXPECT_CODE(c->StartRebuild(Rebuild("hnsw", 10, 1.01)), StatusCode::kInvalidArgument);
  EXPECT_CODE(c->StartRebuild(Rebuild("hnsw", 10, -0.1)), StatusCode::kInvalidArgument);
  RebuildOptions zero_k = Rebuild("hnsw");
  zero_k.validation_k = 0;
  EXPECT_CODE(c->StartRebuild(zero_k), StatusCode::kInvalidArgument);
  EXPECT_EQ(c->Info()->rebuild.last_result, "") << "a refused request is not a rebuild";
  db.reset();

  // Read-only databases write nothing, rebuilds included.
  DatabaseOptions read_only = Opts();
  read_only.read_only = true;
  ASSERT_OK_AND_ASSIGN(auto ro, Database::Open(DbDir(), read_only));
  ASSERT_OK_AND_ASSIGN(auto rc, ro->GetCollection(kName));
  EXPECT_CODE(rc->StartRebuild(RebuildOptions{}), StatusCode::kFailedPrecondition);
  ro.reset();
  EXPECT_CODE(rc->StartRebuild(RebuildOptions{}), StatusCode::kFailedPrecondition) << "closed";
}

TEST_F(DbRebuildTest, MemoryBudgetRefusesARebuildThatWouldExceedIt) {
  Model model;
  size_t used = 0;
  {
    ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Opts()));
    ASSERT_OK_AND_ASSIGN(auto c, db->CreateCollection(kName, Config(kDim, Metric::kL2, "hnsw:m=8")));
    ASSERT_OK(Populate(*c, model, 0, 2000));
    used = c->Info()->index_memory_bytes;
  }
  DatabaseOptions options = Opts();
  options.memory_budget_bytes = used + used / 2;  // room for one index, not two
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), options));
  ASSERT_OK_AND_ASSIGN(auto c, db->GetCollection(kName));
  ASSERT_TRUE(WaitReady(*c));
  EXPECT_CODE(c->StartRebuild(RebuildOptions{}), StatusCode::kResourceExhausted);
  ASSERT_OK_AND_ASSIGN(CollectionInfo info, c->Info());
  EXPECT_FALSE(info.rebuild.running);
  EXPECT_EQ(info.rebuild.last_result.rfind("failed: the new index needs about ", 0), 0u) << info.rebuild.last_result;
  EXPECT_EQ(info.rebuild.generation, 1u);
  EXPECT_LE(info.memory_used_bytes, options.memory_budget_bytes);
  EXPECT_TRUE(Holds(*c, model));
}

// Pauses the next rebuild at `phase` (test hook read by StartRebuild) for the duration of a scope.
class ScopedPause {
 public:
  ScopedPause(const char* phase, const std::string& marker) {
    setenv("VECDEX_TEST_REBUILD_PAUSE_PHASE", phase, 1);
    setenv("VECDEX_TEST_REBUILD_PAUSE_MARKER", marker.c_str(), 1);
  }
  ~ScopedPause() {
    unsetenv("VECDEX_TEST_REBUILD_PAUSE_PHASE");
    unsetenv("VECDEX_TEST_REBUILD_PAUSE_MARKER");
  }
};

bool WaitForFile(const std::string& path, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(path)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

TEST_F(DbRebuildTest, OneRebuildAtATimeAndCloseCancelsIt) {
  Model model;
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Opts()));
  ASSERT_OK_AND_ASSIGN(auto c, db->CreateCollection(kName, Config(kDim, Metric::kL2, "hnsw:m=8")));
  ASSERT_OK(Populate(*c, model, 0, 500));
  const std::string marker = (dir_ / "paused").string();
  {
    ScopedPause pause("validate", marker);
    ASSERT_OK(c->StartRebuild(Rebuild("hnsw:m=10")));
  }
  ASSERT_TRUE(WaitForFile(marker, 60));
  ASSERT_OK_AND_ASSIGN(CollectionInfo info, c->Info());
  EXPECT_TRUE(info.rebuild.running);
  EXPECT_EQ(info.rebuild.phase, "validate");
  EXPECT_EQ(info.rebuild.points_done, 500u);
  EXPECT_EQ(info.rebuild.points_total, 500u);
  EXPECT_EQ(info.rebuild.target_spec, Normalized("hnsw:m=10"));
  EXPECT_EQ(info.rebuild.generation, 1u);
  EXPECT_CODE(c->StartRebuild(RebuildOptions{}), StatusCode::kFailedPrecondition);
  // Writes and searches go on while it waits.
  ASSERT_OK(Populate(*c, model, 500, 20));
  EXPECT_TRUE(IndexServes(*c, model, 10));
  // Dropping the collection stops the rebuild (it never swaps in).
  const auto start = std::chrono::steady_clock::now();
  ASSERT_OK(db->DropCollection(kName));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  const RebuildStatus r = c->WaitForRebuild();
  EXPECT_FALSE(r.running);
  EXPECT_EQ(r.last_result, "failed: cancelled: the collection is closing");
  EXPECT_EQ(r.generation, 1u);
}

TEST_F(DbRebuildTest, TombstonesTriggerACompaction) {
  DatabaseOptions options = Options();
  options.rebuild_deleted_ratio = 0.25;
  options.snapshot_interval_ms = 50;  // the background thread's tick
  Model model;
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), options));
  ASSERT_OK_AND_ASSIGN(auto c, db->CreateCollection(kName, Config(8, Metric::kL2, "hnsw:m=8,ef_construction=40")));
  for (uint64_t begin = 0; begin < 4000; begin += 500) {
    std::vector<Point> batch;
    for (uint64_t k = begin; k < begin + 500; ++k) batch.push_back(MakePoint(IntKey(k), 1, 8));
    ASSERT_OK(c->Upsert(batch));
    ApplyUpserts(model, batch);
  }
  // A few tombstones (below HNSW's own consolidation threshold too): nothing happens.
  ASSERT_OK(DeleteKeys(*c, model, 0, 50));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(c->Info()->deleted, 50u);
  EXPECT_EQ(c->Info()->rebuild.generation, 1u);
  EXPECT_EQ(c->Info()->rebuild.last_result, "");
  // 1550 tombstones of 4000 vectors (39%, at least 1000): a compaction starts by itself.
  ASSERT_OK(DeleteKeys(*c, model, 50, 1500));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  CollectionInfo info;
  while (std::chrono::steady_clock::now() < deadline) {
    ASSERT_OK_AND_ASSIGN(info, c->Info());
    if (info.rebuild.generation == 2 && !info.rebuild.running) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(info.rebuild.generation, 2u);
  EXPECT_EQ(info.rebuild.last_result, "swapped");
  EXPECT_EQ(info.deleted, 0u);
  EXPECT_EQ(info.indexed, 2450u);
  EXPECT_EQ(info.config.index_spec, Normalized("hnsw:m=8,ef_construction=40"));
  EXPECT_TRUE(LogMentions("compacting"));
  EXPECT_TRUE(Holds(*c, model));
  EXPECT_VERIFIED(*c);
}

TEST_F(DbRebuildTest, BackupIsAStoreThatOpens) {
  Model model;
  const std::string backup = (dir_ / "backup.db").string();
  {
    ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Opts()));
    ASSERT_OK_AND_ASSIGN(auto c, db->CreateCollection(kName, Config(kDim, Metric::kCosine, "hnsw:m=8")));
    ASSERT_OK(Populate(*c, model, 0, 800));
    std::vector<Point> with_payload = {MakePoint(StrKey("doc-a"), 1, kDim, R"({"title":"a"})")};
    ASSERT_OK(c->Upsert(with_payload));
    ApplyUpserts(model, with_payload);
    ASSERT_OK(DeleteKeys(*c, model, 0, 100));
    ASSERT_OK(c->Backup(backup));
    EXPECT_CODE(c->Backup(backup), StatusCode::kAlreadyExists);
    EXPECT_FALSE(fs::exists(backup + ".tmp"));
    // Later writes are not in it.
    ASSERT_OK(Populate(*c, model, 5000, 10));
    for (uint64_t k = 5000; k < 5010; ++k) model.erase(IntKey(k));
  }
  // Restoring = placing the file as a collection's store: the index is rebuilt from it.
  const std::string restored = (dir_ / "restored").string();
  fs::create_directories(restored + "/collections/" + kName);
  fs::copy_file(backup, restored + "/collections/" + kName + "/store.db");
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(restored, Opts()));
  ASSERT_OK_AND_ASSIGN(auto c, db->GetCollection(kName));
  EXPECT_TRUE(Holds(*c, model));
  EXPECT_TRUE(IndexServes(*c, model, 7));
  EXPECT_VERIFIED(*c);
}

// ------------------------------------------------------------------------ crash in each phase

constexpr const char* kCrashOldSpec = "hnsw:m=6,ef_construction=30";
constexpr const char* kCrashNewSpec = "hnsw:m=10,ef_construction=50";
constexpr uint64_t kCrashPoints = kSanitized ? 1000 : 2500;
constexpr uint64_t kChildFirstKey = 100000;
constexpr uint64_t kChildPoints = 50;

// The child: starts a rebuild (paused by the hook at VECDEX_TEST_REBUILD_PAUSE_PHASE), writes one
// batch meanwhile and says so in VECDEX_REBUILD_CRASH_ACKED, then waits to be killed.
TEST(DbRebuildCrashChild, DISABLED_Rebuild) {
  const std::string dir = Env("VECDEX_REBUILD_CRASH_DIR");
  if (dir.empty()) GTEST_SKIP() << "run by DbRebuildCrashTest";
  DatabaseOptions options = QuietOptions();
  options.create = false;
  options.rebuild_deleted_ratio = 0;
  options.snapshot_interval_ms = 20;
  auto db = Database::Open(dir, options);
  if (!db.ok()) _exit(3);
  auto c = (*db)->GetCollection(kName);
  if (!c.ok()) _exit(4);
  if (!(*c)->StartRebuild(Rebuild(kCrashNewSpec, 200, 0.5)).ok()) _exit(5);
  std::vector<Point> batch;
  for (uint64_t k = kChildFirstKey; k < kChildFirstKey + kChildPoints; ++k) batch.push_back(MakePoint(IntKey(k), 1, kDim));
  if (!(*c)->Upsert(batch).ok()) _exit(6);
  std::ofstream(Env("VECDEX_REBUILD_CRASH_ACKED")) << "acked";
  while (true) std::this_thread::sleep_for(std::chrono::seconds(1));
}

class DbRebuildCrashTest : public DbRebuildTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(DbRebuildCrashTest, KillLeavesExactlyOneGeneration) {
  const std::string phase = GetParam();
  const bool flipped = phase == "swap:config" || phase == "swap:current";
  Model model;
  {
    ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Opts()));
    ASSERT_OK_AND_ASSIGN(auto c, db->CreateCollection(kName, Config(kDim, Metric::kL2, kCrashOldSpec)));
    ASSERT_OK(Populate(*c, model, 0, kCrashPoints));
    ASSERT_OK(DeleteKeys(*c, model, 0, 100));
    ASSERT_OK(c->Snapshot());
    ASSERT_OK(Populate(*c, model, kCrashPoints, 100, 2));  // a change-log tail after the snapshot
  }
  const std::string marker = (dir_ / "paused").string();
  const std::string acked = (dir_ / "acked").string();
  const pid_t pid = SpawnSelf("DbRebuildCrashChild.DISABLED_Rebuild",
                              {"VECDEX_REBUILD_CRASH_DIR=" + DbDir(), "VECDEX_REBUILD_CRASH_ACKED=" + acked,
                               "VECDEX_TEST_REBUILD_PAUSE_PHASE=" + phase, "VECDEX_TEST_REBUILD_PAUSE_MARKER=" + marker});
  ASSERT_GT(pid, 0);
  const bool paused = WaitForFile(marker, 120);
  // The child's batch is acknowledged unless the pause holds writers off (the swap's tail).
  const bool child_acked = WaitForFile(acked, flipped ? 0.3 : 60);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(paused) << "the child never reached phase " << phase << " (exit status " << wstatus << ")";
  EXPECT_TRUE(WIFSIGNALED(wstatus));
  if (!flipped) {
    EXPECT_TRUE(child_acked);
  }

  DatabaseOptions options = Opts();
  options.background_snapshots = false;  // the directory is inspected below
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), options));
  ASSERT_TRUE(db->FailedCollections().empty()) << db->FailedCollections()[0].second.ToString();
  ASSERT_OK_AND_ASSIGN(auto c, db->GetCollection(kName));
  ASSERT_TRUE(WaitReady(*c));
  ASSERT_OK_AND_ASSIGN(CollectionInfo info, c->Info());
  const uint64_t generation = flipped ? 2 : 1;
  EXPECT_EQ(info.rebuild.generation, generation);
  EXPECT_EQ(info.config.index_spec, Normalized(flipped ? kCrashNewSpec : kCrashOldSpec));
  EXPECT_FALSE(info.rebuild.running);
  // At most one snapshot file, and CURRENT (if any) names it, of the active generation.
  const auto files = FilesStartingWith(CollectionDir(kName), "index-");
  EXPECT_LE(files.size(), 1u);
  const nlohmann::json manifest = ReadManifest(CollectionDir(kName));
  if (!manifest.is_null()) {
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(manifest.value("index_file", ""), files[0]);
    EXPECT_EQ(manifest.value("generation", uint64_t{0}), generation);
    EXPECT_EQ(manifest.value("index_spec", ""), info.config.index_spec);
  }
  if (phase == "swap:config") {
    EXPECT_NE(info.recovery.find("generation 1"), std::string::npos) << info.recovery;
  } else {
    EXPECT_EQ(info.recovery, "") << "the active generation's snapshot should be used";
  }
  // The data: everything acknowledged; the child's batch entirely or not at all when it was not.
  Model with_child = model;
  for (uint64_t k = kChildFirstKey; k < kChildFirstKey + kChildPoints; ++k) {
    with_child[IntKey(k)] = Expected{VectorFor(IntKey(k), 1, kDim), ""};
  }
  ASSERT_OK_AND_ASSIGN(uint64_t count, c->Count());
  const Model& expected = count == with_child.size() ? with_child : model;
  if (child_acked) {
    EXPECT_EQ(count, with_child.size());
  }
  EXPECT_TRUE(Holds(*c, expected));
  EXPECT_VERIFIED(*c);
  EXPECT_TRUE(IndexServes(*c, expected, 5));

  // The collection is whole: the next rebuild succeeds and the state survives a clean reopen.
  ASSERT_OK(c->StartRebuild(Rebuild("hnsw:m=8", 200, 0.5)));
  EXPECT_EQ(c->WaitForRebuild().last_result, "swapped");
  EXPECT_EQ(c->Info()->rebuild.generation, generation + 1);
  db.reset();
  c.reset();
  ASSERT_OK_AND_ASSIGN(auto reopened, Database::Open(DbDir(), Opts()));
  ASSERT_OK_AND_ASSIGN(auto again, reopened->GetCollection(kName));
  EXPECT_EQ(again->Info()->rebuild.generation, generation + 1);
  EXPECT_EQ(again->Info()->recovery, "");
  EXPECT_TRUE(Holds(*again, expected));
  EXPECT_VERIFIED(*again);
}

std::string PhaseName(const ::testing::TestParamInfo<const char*>& info) {
  std::string name = info.param;
  for (char& ch : name) {
    if (ch == ':') ch = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Phases, DbRebuildCrashTest,
                         ::testing::Values("build", "catch_up", "validate", "swap", "swap:saved", "swap:config",
                                           "swap:current"),
                         PhaseName);

}  // namespace
}  // namespace vecdex::dbtest
