// Concurrency (sized for ThreadSanitizer): readers search, get and scroll while two writers upsert,
// delete and update payloads, a thread snapshots and reads Info, another verifies, and another
// creates and drops a second collection. Readers check what they see is well formed and Verify
// finds nothing wrong; at the end the collection holds exactly the writers' model and its index
// agrees. Then: searches served while a reopened collection is still loading its snapshot or
// rebuilding.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "db/db_test_util.h"

namespace vecdex::dbtest {
namespace {

constexpr size_t kDim = 16;
constexpr uint64_t kKeySpace = 800;
constexpr int kWriterBatches = kSanitized ? 40 : 200;
constexpr int kReaders = 3;

PointKey KeyFor(uint64_t k) {
  if (k % 5 != 0) return IntKey(k);
  std::string name = "s";  // appended, not "s" + ...: GCC 12 warns falsely (-Wrestrict) on that
  name += std::to_string(k);
  return PointKey::String(std::move(name));
}

// Whether a result list is well formed: at most k, nearest first, no key twice, scores match.
::testing::AssertionResult WellFormed(const std::vector<ScoredPoint>& hits, size_t k) {
  if (hits.size() > k) return ::testing::AssertionFailure() << hits.size() << " results for k = " << k;
  std::set<PointKey> seen;
  for (size_t i = 0; i < hits.size(); ++i) {
    if (i > 0 && hits[i].distance < hits[i - 1].distance) return ::testing::AssertionFailure() << "not sorted";
    if (!seen.insert(hits[i].key).second) {
      return ::testing::AssertionFailure() << "key " << PointKeyToString(hits[i].key) << " twice";
    }
    if (hits[i].score != DistanceToScore(Metric::kL2, hits[i].distance)) return ::testing::AssertionFailure() << "score";
  }
  return ::testing::AssertionSuccess();
}

class ConcurrencyTest : public DbTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(ConcurrencyTest, ReadersWritersSnapshotsAndInfo) {
  DatabaseOptions options = Options();
  options.snapshot_after_changes = 150;
  options.snapshot_interval_ms = 20;
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), options));
  ASSERT_OK_AND_ASSIGN(auto c, db->CreateCollection("busy", Config(kDim, Metric::kL2, GetParam())));
  Model model;
  {
    std::vector<Point> points;
    for (uint64_t k = 0; k < kKeySpace; k += 2) points.push_back(MakePoint(KeyFor(k), 0, kDim));
    for (uint64_t k = 1; k < kKeySpace; k += 4) points.push_back(MakePoint(KeyFor(k), 0, kDim));
    ASSERT_OK(c->Upsert(points));
    ApplyUpserts(model, points);
  }

  std::atomic<int> writers_left{2};
  std::atomic<uint64_t> reads{0}, snapshots{0}, verifies{0};
  Model writer_models[2];
  std::vector<std::thread> threads;
  // Writers: writer w owns the keys k with k % 2 == w, so their final states are independent.
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      Model& mine = writer_models[w];
      for (const auto& [key, e] : model) {
        if ((key.is_int() ? key.int_value() : std::stoull(key.string_value().substr(1))) % 2 == static_cast<uint64_t>(w)) {
          mine[key] = e;
        }
      }
      std::mt19937_64 rng(100 + w);
      for (int b = 1; b <= kWriterBatches; ++b) {
        std::vector<PointKey> keys;
        std::set<uint64_t> picked;
        const uint64_t op = rng() % 4;
        while (picked.size() < (op == 0 ? 8u : 4u)) picked.insert((rng() % (kKeySpace / 2)) * 2 + w);
        for (uint64_t k : picked) keys.push_back(KeyFor(k));
        if (op <= 1) {
          std::vector<Point> points;
          for (const PointKey& k : keys) points.push_back(MakePoint(k, b, kDim, R"({"b":)" + std::to_string(b) + "}"));
          EXPECT_SUCCESS(c->Upsert(points));
          ApplyUpserts(mine, points);
        } else if (op == 2) {
          EXPECT_SUCCESS(c->Delete(keys));
          for (const PointKey& k : keys) mine.erase(k);
        } else {
          EXPECT_SUCCESS(c->OverwritePayload(keys, R"({"o":)" + std::to_string(b) + "}"));
          for (const PointKey& k : keys) {
            auto it = mine.find(k);
            if (it != mine.end()) it->second.payload = R"({"o":)" + std::to_string(b) + "}";
          }
        }
      }
      writers_left.fetch_sub(1);
    });
  }
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r] {
      std::mt19937_64 rng(200 + r);
      while (writers_left.load() > 0) {
        const std::vector<float> q = VectorFor(IntKey(rng()), 0, kDim);
        SearchRequest request;
        request.k = 10;
        request.with_payload = rng() % 2 == 0;
        auto hits = c->Search(q, request);
        EXPECT_SUCCESS(hits);
        if (hits.ok()) {
          EXPECT_TRUE(WellFormed(*hits, 10));
          EXPECT_EQ(hits->size(), 10u) << "hundreds of points are live at any time";
        }
        std::vector<PointKey> some;
        for (int i = 0; i < 6; ++i) some.push_back(KeyFor(rng() % kKeySpace));
        request.only_keys = some;
        auto filtered = c->Search(q, request);
        EXPECT_SUCCESS(filtered);
        if (filtered.ok()) {
          EXPECT_TRUE(WellFormed(*filtered, 10));
          for (const ScoredPoint& h : *filtered) {
            EXPECT_NE(std::find(some.begin(), some.end(), h.key), some.end());
          }
        }
        auto got = c->Get(some, true, true);
        EXPECT_SUCCESS(got);
        if (got.ok()) {
          for (const PointRecord& p : *got) {
            EXPECT_NE(std::find(some.begin(), some.end(), p.key), some.end());
            EXPECT_EQ(p.vector.size(), kDim);
          }
        }
        if (rng() % 4 == 0) {
          auto all = ReadAll(*c, 64);  // checks strict key order across pages
          EXPECT_SUCCESS(all);
          const std::vector<float> queries = testutil::RandomVectors(3, kDim, rng());
          request.only_keys.reset();
          auto rows = c->SearchBatch(MatrixView{queries.data(), 3, kDim}, request);
          EXPECT_SUCCESS(rows);
          if (rows.ok()) {
            EXPECT_EQ(rows->size(), 3u);
            for (const auto& row : *rows) EXPECT_TRUE(WellFormed(row, 10));
          }
          EXPECT_SUCCESS(c->Count());
        }
        reads.fetch_add(1);
      }
    });
  }
  threads.emplace_back([&] {  // snapshots and Info
    while (writers_left.load() > 0) {
      EXPECT_SUCCESS(c->Snapshot());
      auto info = c->Info();
      EXPECT_SUCCESS(info);
      if (info.ok()) {
        EXPECT_LE(info->snapshot_sequence, info->last_sequence);
        EXPECT_LE(info->indexed_sequence, info->last_sequence);
        EXPECT_GT(info->points, 100u);
      }
      snapshots.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  threads.emplace_back([&] {  // Verify while snapshots replace CURRENT and delete old files
    while (writers_left.load() > 0) {
      EXPECT_VERIFIED(*c);
      verifies.fetch_add(1);
    }
  });
  threads.emplace_back([&] {  // another collection comes and goes
    for (int i = 0; i < 6 && writers_left.load() > 0; ++i) {
      auto tmp = db->CreateCollection("tmp", Config(4, Metric::kCosine, i % 2 ? "flat" : "hnsw"));
      EXPECT_SUCCESS(tmp);
      if (tmp.ok()) {
        EXPECT_SUCCESS((*tmp)->Upsert(std::vector<Point>{MakePoint(IntKey(1), 1, 4)}));
      }
      const auto names = db->ListCollections();
      EXPECT_NE(std::find(names.begin(), names.end(), "busy"), names.end());
      EXPECT_SUCCESS(db->DropCollection("tmp"));
    }
  });
  for (std::thread& t : threads) t.join();
  ASSERT_FALSE(HasFailure());

  Model final_model;
  for (const Model& m : writer_models) final_model.insert(m.begin(), m.end());
  EXPECT_TRUE(Holds(*c, final_model));
  ASSERT_OK_AND_ASSIGN(CollectionInfo info, c->Info());
  EXPECT_EQ(info.points, final_model.size());
  EXPECT_EQ(info.indexed, final_model.size());
  EXPECT_EQ(info.indexed_sequence, info.last_sequence);
  EXPECT_VERIFIED(*c);
  size_t i = 0;
  SelfSearchTally tally;
  for (const auto& [key, e] : final_model) {
    if (i++ % 5 == 0) {
      EXPECT_TRUE(IndexFinds(*c, key, e.vector, true, GetParam() == "flat", &tally));
    }
  }
  EXPECT_TRUE(tally.Acceptable());
  std::printf("[ info     ] %llu reads, %llu snapshot calls, %llu verifies during %d x 2 write batches\n",
              static_cast<unsigned long long>(reads.load()), static_cast<unsigned long long>(snapshots.load()),
              static_cast<unsigned long long>(verifies.load()), kWriterBatches);
  c.reset();
  db.reset();
  ASSERT_OK_AND_ASSIGN(auto reopened, Database::Open(DbDir(), Options()));
  ASSERT_OK_AND_ASSIGN(auto again, reopened->GetCollection("busy"));
  EXPECT_TRUE(Holds(*again, final_model));
  EXPECT_VERIFIED(*again);
}

// Searches right after Open, while a mapped snapshot is made writable (and, without a snapshot,
// after Open rebuilt the index), with a writer waiting to write.
TEST_P(ConcurrencyTest, SearchesWhileLoadingOrRebuilding) {
  const uint64_t n = kSanitized ? 1500 : 6000;
  Model model;
  {
    ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Options()));
    ASSERT_OK_AND_ASSIGN(auto c, db->CreateCollection("big", Config(kDim, Metric::kL2, GetParam())));
    for (uint64_t first = 0; first < n; first += 1500) {
      std::vector<Point> points;
      for (uint64_t k = first; k < first + 1500; ++k) points.push_back(MakePoint(IntKey(k), 1, kDim));
      ASSERT_OK(c->Upsert(points));
      ApplyUpserts(model, points);
    }
  }
  for (bool rebuild : {false, true}) {
    SCOPED_TRACE(rebuild ? "rebuilding" : "loading");
    if (rebuild) {
      const std::string cdir = CollectionDir("big");
      fs::remove(cdir + "/CURRENT");
      for (const std::string& f : FilesStartingWith(cdir, "index-")) fs::remove(cdir + "/" + f);
    }
    DatabaseOptions options = Options();
    options.map_snapshots = true;
    ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), options));
    ASSERT_OK_AND_ASSIGN(auto c, db->GetCollection("big"));
    std::atomic<bool> wrote{false};
    std::set<std::string> statuses;
    std::mutex statuses_mu;
    std::vector<std::thread> threads;
    for (int r = 0; r < 2; ++r) {
      threads.emplace_back([&, r] {
        std::mt19937_64 rng(r);
        for (int i = 0; i < 40 || !wrote.load(); ++i) {
          const uint64_t k = rng() % n;
          SearchRequest request;
          request.k = 5;
          auto hits = c->Search(VectorFor(IntKey(k), 1, kDim), request);
          EXPECT_SUCCESS(hits) << "searches are served while the collection loads";
          if (hits.ok()) {
            EXPECT_EQ(hits->size(), 5u);
            EXPECT_TRUE(WellFormed(*hits, 5));
            for (const ScoredPoint& h : *hits) EXPECT_TRUE(model.count(h.key) || h.key == IntKey(n));
          }
          auto info = c->Info();
          EXPECT_SUCCESS(info);
          if (info.ok()) {
            std::lock_guard<std::mutex> lock(statuses_mu);
            statuses.insert(info->status);
          }
        }
      });
    }
    threads.emplace_back([&] {
      const Point p = MakePoint(IntKey(n), 1 + rebuild, kDim);
      EXPECT_SUCCESS(c->Upsert(std::vector<Point>{p}));
      wrote.store(true);
    });
    for (std::thread& t : threads) t.join();
    ApplyUpserts(model, {MakePoint(IntKey(n), 1 + rebuild, kDim)});
    for (const std::string& s : statuses) {
      EXPECT_TRUE(s == "ready" || (s == "loading" && !rebuild)) << s;
    }
    ASSERT_TRUE(WaitReady(*c));
    EXPECT_TRUE(Holds(*c, model));
    EXPECT_TRUE(IndexFinds(*c, IntKey(n), model[IntKey(n)].vector, true, GetParam() == "flat"));
    ASSERT_OK_AND_ASSIGN(CollectionInfo info, c->Info());
    EXPECT_EQ(info.indexed, model.size());
    EXPECT_VERIFIED(*c);
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, ConcurrencyTest, ::testing::Values("hnsw", "flat", "hnsw:storage=int8,rerank=true"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return KindName(info.param); });

}  // namespace
}  // namespace vecdex::dbtest
