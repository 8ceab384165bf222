// Persistence, for every index kind and metric: a collection reopened from its snapshot (mapped or
// read) answers exactly as before; without a snapshot it is rebuilt from the store; changes after
// the last snapshot are replayed; a snapshot of another configuration is never served.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

#include "db/db_test_util.h"

namespace vecdex::dbtest {
namespace {

constexpr size_t kDim = 16;

using Param = std::tuple<std::string, Metric>;

std::string Extension(const std::string& spec) { return spec == "flat" ? ".flat" : ".hnsw"; }

class PersistTest : public DbTest, public ::testing::WithParamInterface<Param> {
 protected:
  const std::string& spec() const { return std::get<0>(GetParam()); }
  Metric metric() const { return std::get<1>(GetParam()); }
  bool flat() const { return spec() == "flat"; }
  // A search for a point's own vector finds it among the first 10 (L2, cosine; under inner
  // product a point need not be its own nearest neighbour).
  bool self_search() const { return metric() != Metric::kInnerProduct; }

  // 600 points in three batches (int8 calibrates on the first), then replacements and deletes.
  void Fill(Collection& c) {
    std::vector<Point> points;
    for (uint64_t i = 0; i < 600; ++i) {
      PointKey key = i % 4 == 1 ? StrKey("id-" + std::to_string(i * 7919)) : IntKey(i * 3);
      points.push_back(MakePoint(key, 1, kDim, i % 3 == 0 ? R"({"n":)" + std::to_string(i) + "}" : ""));
    }
    for (size_t first = 0; first < points.size(); first += 200) {
      const std::vector<Point> batch(points.begin() + first, points.begin() + first + 200);
      ASSERT_OK(c.Upsert(batch));
      ApplyUpserts(model_, batch);
    }
    std::vector<Point> replaced;
    for (size_t i = 0; i < 600; i += 25) replaced.push_back(MakePoint(points[i].key, 2, kDim, R"({"v":2})"));
    ASSERT_OK(c.Upsert(replaced));
    ApplyUpserts(model_, replaced);
    for (size_t i = 10; i < 600; i += 31) deleted_.push_back(points[i].key);
    ASSERT_OK(c.Delete(deleted_));
    for (const PointKey& k : deleted_) model_.erase(k);
    ASSERT_OK(c.SetPayload(std::vector<PointKey>{points[3].key, points[6].key}, R"({"set":true})"));
    for (size_t i : {3, 6}) {
      nlohmann::json j = model_[points[i].key].payload.empty() ? nlohmann::json::object()
                                                               : nlohmann::json::parse(model_[points[i].key].payload);
      j["set"] = true;
      model_[points[i].key].payload = j.dump();
    }
  }

  // k = 5 results (keys) of 30 fixed queries.
  std::vector<std::vector<PointKey>> Answers(Collection& c) {
    const std::vector<float> queries = testutil::RandomVectors(30, kDim, 4242);
    SearchRequest request;
    request.k = 5;
    auto rows = c.SearchBatch(MatrixView{queries.data(), 30, kDim}, request);
    EXPECT_SUCCESS(rows);
    std::vector<std::vector<PointKey>> out;
    if (rows.ok()) {
      for (const auto& row : *rows) out.push_back(KeysOf(row));
    }
    return out;
  }

  // How many of the 30 queries have a first result as near as the exact nearest neighbour.
  size_t ExactFirsts(const std::vector<std::vector<PointKey>>& answers) {
    const std::vector<float> queries = testutil::RandomVectors(30, kDim, 4242);
    size_t good = 0;
    for (size_t q = 0; q < answers.size(); ++q) {
      const float* query = queries.data() + q * kDim;
      double best = 1e300;
      for (const auto& [key, e] : model_) best = std::min(best, testutil::ReferenceDistance(metric(), query, e.vector.data(), kDim));
      if (answers[q].empty() || !model_.count(answers[q][0])) continue;
      const double got = testutil::ReferenceDistance(metric(), query, model_.at(answers[q][0]).vector.data(), kDim);
      good += got <= best + 1e-4 * (1 + std::abs(best));
    }
    return good;
  }

  // The reopened collection holds model_ and its index serves exactly it.
  void CheckServes(Collection& c) {
    EXPECT_TRUE(Holds(c, model_));
    size_t i = 0;
    SelfSearchTally tally;
    for (const auto& [key, e] : model_) {
      if (i++ % 7 == 0) {
        EXPECT_TRUE(IndexFinds(c, key, e.vector, self_search(), flat(), &tally)) << PointKeyToString(key);
      }
    }
    EXPECT_TRUE(tally.Acceptable());
    EXPECT_TRUE(IndexLacks(c, deleted_, kDim));
    ASSERT_TRUE(WaitReady(c));
    ASSERT_OK_AND_ASSIGN(CollectionInfo info, c.Info());
    EXPECT_EQ(info.points, model_.size());
    EXPECT_EQ(info.indexed, model_.size());
    EXPECT_EQ(info.indexed_sequence, info.last_sequence);
    EXPECT_VERIFIED(c);
  }

  Model model_;
  std::vector<PointKey> deleted_;
};

TEST_P(PersistTest, ReopenServesTheSameAnswersMappedReadOrRebuilt) {
  std::vector<std::vector<PointKey>> before;
  {
    ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Options()));
    ASSERT_OK_AND_ASSIGN(auto c, db->CreateCollection("docs", Config(kDim, metric(), spec())));
    Fill(*c);
    before = Answers(*c);
    ASSERT_EQ(before.size(), 30u);
    if (flat()) {
      EXPECT_EQ(ExactFirsts(before), 30u);
    } else {
      EXPECT_GE(ExactFirsts(before), 27u);
    }
  }  // clean close: a final snapshot
  const std::string cdir = CollectionDir("docs");
  ASSERT_TRUE(fs::exists(cdir + "/store.db"));
  ASSERT_TRUE(fs::exists(cdir + "/CURRENT"));
  const auto snapshots = FilesStartingWith(cdir, "index-");
  ASSERT_FALSE(snapshots.empty());
  for (const std::string& s : snapshots) EXPECT_TRUE(s.ends_with(Extension(spec()))) << s;

  for (bool map : {true, false}) {
    SCOPED_TRACE(map ? "mapped snapshot" : "read snapshot");
    DatabaseOptions options = Options();
    options.map_snapshots = map;
    ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), options));
    ASSERT_OK_AND_ASSIGN(auto c, db->GetCollection("docs"));
    EXPECT_EQ(Answers(*c), before) << "the same index gives the same answers";
    CheckServes(*c);
    ASSERT_OK_AND_ASSIGN(CollectionInfo info, c->Info());
    EXPECT_EQ(info.snapshot_sequence, info.last_sequence) << "the clean close snapshotted everything";
    EXPECT_EQ(info.recovery, "") << "served from its snapshot";
    EXPECT_GT(info.snapshot_bytes, 0u);
    EXPECT_TRUE(db->FailedCollections().empty());
  }
  EXPECT_FALSE(LogMentions("rebuild")) << "a valid snapshot is served, not rebuilt";

  // Without its snapshot the index is rebuilt from the store, and says so.
  fs::remove(cdir + "/CURRENT");
  for (const std::string& s : FilesStartingWith(cdir, "index-")) fs::remove(cdir + "/" + s);
  {
    ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Options()));
    ASSERT_OK_AND_ASSIGN(auto c, db->GetCollection("docs"));
    ASSERT_TRUE(WaitReady(*c));
    const auto rebuilt = Answers(*c);
    if (flat()) {
      EXPECT_EQ(rebuilt, before);
    } else {
      EXPECT_GE(ExactFirsts(rebuilt), 27u);
    }
    CheckServes(*c);
    EXPECT_TRUE(LogMentions("rebuild"));
    ASSERT_OK_AND_ASSIGN(CollectionInfo info, c->Info());
    EXPECT_NE(info.recovery, "") << "says why the index was rebuilt";
    // And it keeps working: a write after the rebuild survives the next reopen.
    const Point late = MakePoint(StrKey("late"), 1, kDim, R"({"late":1})");
    ASSERT_OK(c->Upsert(std::vector<Point>{late}));
    ApplyUpserts(model_, {late});
  }
  {
    ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Options()));
    ASSERT_OK_AND_ASSIGN(auto c, db->GetCollection("docs"));
    CheckServes(*c);
  }
}

// A copy of the directory taken while the database is open is what a crash leaves: the store has
// changes the last snapshot lacks, and opening must replay them into the index.
TEST_P(PersistTest, ChangesAfterTheLastSnapshotAreReplayed) {
  const std::string image = (dir_ / "image").string();
  {
    DatabaseOptions options = Options();
    options.background_snapshots = false;  // nothing writes files while we copy
    ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), options));
    ASSERT_OK_AND_ASSIGN(auto c, db->CreateCollection("docs", Config(kDim, metric(), spec())));
    Fill(*c);
    ASSERT_OK(c->Snapshot());
    ASSERT_OK_AND_ASSIGN(CollectionInfo snap, c->Info());
    EXPECT_EQ(snap.snapshot_sequence, snap.last_sequence);
    // The tail: new points, replacements (some of points new in the tail), deletes, payloads.
    std::vector<Point> tail;
    for (uint64_t i = 0; i < 50; ++i) tail.push_back(MakePoint(IntKey(100000 + i), 1, kDim));
    ASSERT_OK(c->Upsert(tail));
    ApplyUpserts(model_, tail);
    std::vector<Point> again = {MakePoint(IntKey(0), 3, kDim), MakePoint(IntKey(100001), 3, kDim, R"({"r":1})")};
    ASSERT_OK(c->Upsert(again));
    ApplyUpserts(model_, again);
    const std::vector<PointKey> gone = {IntKey(6), IntKey(100002), StrKey("id-7919")};
    ASSERT_OK(c->Delete(gone));
    for (const PointKey& k : gone) {
      model_.erase(k);
      deleted_.push_back(k);
    }
    ASSERT_OK_AND_ASSIGN(CollectionInfo info, c->Info());
    EXPECT_LT(info.snapshot_sequence, info.last_sequence);
    fs::copy(DbDir(), image, fs::copy_options::recursive);
  }
  DatabaseOptions options = Options();
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(image, options));
  ASSERT_OK_AND_ASSIGN(auto c, db->GetCollection("docs"));
  CheckServes(*c);
  EXPECT_TRUE(IndexFinds(*c, IntKey(0), model_[IntKey(0)].vector, self_search(), flat()));
}

INSTANTIATE_TEST_SUITE_P(
    KindsAndMetrics, PersistTest,
    ::testing::Combine(::testing::Values("flat", "hnsw", "hnsw:storage=int8,rerank=true", "hnsw:storage=f16"),
                       ::testing::Values(Metric::kL2, Metric::kInnerProduct, Metric::kCosine)),
    [](const ::testing::TestParamInfo<Param>& info) {
      return KindName(std::get<0>(info.param)) + "_" + std::string(MetricName(std::get<1>(info.param)));
    });

// Two collections with the same points in the same order (so the same ids and sequences) but
// different metrics or parameters: each one's snapshot put in the other's place must not be
// served (its distances would be of the wrong metric), only rebuilt from.
class ForeignSnapshotTest : public DbTest {};

TEST_F(ForeignSnapshotTest, SnapshotOfAnotherConfigurationIsRebuiltNotServed) {
  const std::vector<std::pair<std::string, CollectionConfig>> configs = {
      {"l2", Config(kDim, Metric::kL2, "hnsw:m=8")},
      {"cos", Config(kDim, Metric::kCosine, "hnsw:m=8")},
      {"m12", Config(kDim, Metric::kL2, "hnsw:m=12")},
      {"int8", Config(kDim, Metric::kL2, "hnsw:m=8,storage=int8,rerank=true")},
      {"flat", Config(kDim, Metric::kL2, "flat")},
  };
  std::vector<Point> points;
  for (uint64_t i = 0; i < 300; ++i) points.push_back(MakePoint(IntKey(i), 1, kDim));
  {
    ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Options()));
    for (const auto& [name, config] : configs) {
      ASSERT_OK_AND_ASSIGN(auto c, db->CreateCollection(name, config));
      ASSERT_OK(c->Upsert(points));
    }
  }
  // Rotate the snapshots: each collection gets the next one's CURRENT and index file.
  const fs::path stash = dir_ / "stash";
  for (const auto& [name, config] : configs) {
    fs::create_directories(stash / name);
    for (const auto& e : fs::directory_iterator(CollectionDir(name))) {
      const std::string file = e.path().filename().string();
      if (file == "CURRENT" || file.starts_with("index-")) fs::rename(e.path(), stash / name / file);
    }
  }
  for (size_t i = 0; i < configs.size(); ++i) {
    const std::string& from = configs[(i + 1) % configs.size()].first;
    for (const auto& e : fs::directory_iterator(stash / from)) {
      fs::copy_file(e.path(), fs::path(CollectionDir(configs[i].first)) / e.path().filename());
    }
  }
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Options()));
  EXPECT_TRUE(db->FailedCollections().empty());
  const std::vector<float> query = VectorFor(IntKey(7), 9, kDim);
  for (const auto& [name, config] : configs) {
    SCOPED_TRACE(name);
    ASSERT_OK_AND_ASSIGN(auto c, db->GetCollection(name));
    ASSERT_TRUE(WaitReady(*c));
    EXPECT_TRUE(c->config().index_spec.starts_with(config.index_spec.substr(0, 4))) << c->config().index_spec;
    EXPECT_EQ(c->config().metric, config.metric);
    SearchRequest request;
    request.k = 5;
    ASSERT_OK_AND_ASSIGN(auto hits, c->Search(query, request));
    ASSERT_EQ(hits.size(), 5u);
    for (const ScoredPoint& h : hits) {
      const double truth = testutil::ReferenceDistance(config.metric, query.data(),
                                                       points[h.key.int_value()].vector.data(), kDim);
      EXPECT_NEAR(h.distance, truth, 1e-3 * std::max(1.0, std::abs(truth))) << "distance of the collection's metric";
    }
    ASSERT_OK_AND_ASSIGN(CollectionInfo info, c->Info());
    EXPECT_EQ(info.indexed, points.size());
    EXPECT_NE(info.recovery, "") << "says why the index was rebuilt";
    EXPECT_VERIFIED(*c);
  }
  EXPECT_TRUE(LogMentions("rebuild"));
}

}  // namespace
}  // namespace vecdex::dbtest
