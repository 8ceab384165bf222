// What Info reports (counts, sequences, sizes, snapshot files), and the memory budget: new points
// beyond it are refused whole, updates of existing points are always allowed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

#include "db/db_test_util.h"

namespace vecdex::dbtest {
namespace {

constexpr size_t kDim = 32;

class InfoTest : public DbTest {};

// The sequence in a snapshot file name "index-<seq>.<kind>" (0 when it has none).
uint64_t SequenceOf(const std::string& file) {
  std::string digits;
  for (char c : file) {
    if (std::isdigit(static_cast<unsigned char>(c))) digits += c;
  }
  return digits.empty() ? 0 : std::stoull(digits);
}

TEST_F(InfoTest, InfoReportsCountsSequencesAndSizes) {
  DatabaseOptions options = Options();
  options.background_snapshots = false;
  options.memory_budget_bytes = uint64_t{1} << 34;
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), options));
  ASSERT_OK_AND_ASSIGN(auto c, db->CreateCollection("stats", Config(kDim, Metric::kL2, "hnsw")));
  ASSERT_OK_AND_ASSIGN(CollectionInfo empty, c->Info());
  EXPECT_EQ(empty.name, "stats");
  EXPECT_EQ(empty.status, "ready");
  EXPECT_EQ(empty.points, 0u);
  EXPECT_EQ(empty.indexed, 0u);
  EXPECT_EQ(empty.last_sequence, 0u);
  EXPECT_EQ(empty.snapshot_sequence, 0u);
  EXPECT_EQ(empty.config.dim, kDim);
  EXPECT_EQ(empty.memory_budget_bytes, options.memory_budget_bytes);

  std::vector<Point> points;
  for (uint64_t i = 0; i < 100; ++i) points.push_back(MakePoint(IntKey(i), 1, kDim));
  ASSERT_OK_AND_ASSIGN(WriteSummary up, c->Upsert(points));
  EXPECT_EQ(up.sequence, 100u);
  std::vector<PointKey> gone;
  for (uint64_t i = 0; i < 10; ++i) gone.push_back(IntKey(i * 10));
  ASSERT_OK_AND_ASSIGN(WriteSummary del, c->Delete(gone));
  EXPECT_EQ(del.sequence, 110u);
  EXPECT_EQ(del.changed, 10u);
  ASSERT_OK_AND_ASSIGN(WriteSummary pay, c->SetPayload(std::vector<PointKey>{IntKey(1), IntKey(2), IntKey(10)},
                                                       R"({"x":1})"));
  EXPECT_EQ(pay.changed, 2u) << "key 10 was deleted";
  EXPECT_EQ(pay.sequence, 112u);

  ASSERT_OK_AND_ASSIGN(CollectionInfo info, c->Info());
  EXPECT_EQ(info.status, "ready");
  EXPECT_EQ(info.points, 90u);
  EXPECT_EQ(info.indexed, 90u);
  EXPECT_EQ(info.last_sequence, 112u);
  EXPECT_EQ(info.indexed_sequence, 112u);
  EXPECT_EQ(info.snapshot_sequence, 0u);
  EXPECT_EQ(info.snapshot_bytes, 0u) << "no snapshot yet";
  EXPECT_GT(info.store_bytes, 0u);
  EXPECT_GE(info.index_memory_bytes, 90u * kDim * sizeof(float)) << "at least the vectors";
  EXPECT_GE(info.memory_used_bytes, info.index_memory_bytes);
  EXPECT_EQ(info.memory_budget_bytes, options.memory_budget_bytes);

  // A second collection's index counts towards the database's total.
  ASSERT_OK_AND_ASSIGN(auto other, db->CreateCollection("other", Config(kDim, Metric::kL2, "flat")));
  ASSERT_OK(other->Upsert(points));
  ASSERT_OK_AND_ASSIGN(CollectionInfo oinfo, other->Info());
  ASSERT_OK_AND_ASSIGN(CollectionInfo info2, c->Info());
  EXPECT_GE(info2.memory_used_bytes, info2.index_memory_bytes + oinfo.index_memory_bytes);
  EXPECT_EQ(oinfo.memory_used_bytes, info2.memory_used_bytes) << "one total for the database";

  ASSERT_OK(c->Snapshot());
  ASSERT_OK_AND_ASSIGN(CollectionInfo snap, c->Info());
  EXPECT_EQ(snap.snapshot_sequence, 112u);
  EXPECT_GT(snap.snapshot_bytes, 0u);
  const std::string cdir = CollectionDir("stats");
  EXPECT_TRUE(fs::exists(cdir + "/CURRENT"));
  const auto files = FilesStartingWith(cdir, "index-");
  ASSERT_FALSE(files.empty());
  EXPECT_TRUE(std::any_of(files.begin(), files.end(), [&](const std::string& f) {
    return f.ends_with(".hnsw") && SequenceOf(f) == 112 && fs::file_size(cdir + "/" + f) == snap.snapshot_bytes;
  })) << files.front();
  ASSERT_OK(c->Snapshot());  // nothing changed since: fine
  ASSERT_OK_AND_ASSIGN(CollectionInfo same, c->Info());
  EXPECT_EQ(same.snapshot_sequence, 112u);

  ASSERT_OK(c->Upsert(std::vector<Point>{MakePoint(IntKey(500), 1, kDim)}));
  ASSERT_OK_AND_ASSIGN(CollectionInfo later, c->Info());
  EXPECT_EQ(later.last_sequence, 113u);
  EXPECT_EQ(later.indexed_sequence, 113u);
  EXPECT_EQ(later.snapshot_sequence, 112u);
  EXPECT_EQ(later.points, 91u);
  ASSERT_OK_AND_ASSIGN(VerifyReport report, c->Verify());
  EXPECT_TRUE(report.ok) << VerifyText(report);
  EXPECT_GE(report.points_checked, 91u);
  EXPECT_EQ(report.snapshot_bytes_checked, snap.snapshot_bytes);
}

TEST_F(InfoTest, BackgroundSnapshotsFollowTheirTriggers) {
  DatabaseOptions options = Options();
  options.snapshot_after_changes = 50;
  options.snapshot_interval_ms = 0;  // only the change count
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), options));
  ASSERT_OK_AND_ASSIGN(auto c, db->CreateCollection("bg", Config(kDim, Metric::kL2, "hnsw")));
  std::vector<Point> points;
  for (uint64_t i = 0; i < 80; ++i) points.push_back(MakePoint(IntKey(i), 1, kDim));
  ASSERT_OK(c->Upsert(points));
  uint64_t snapshot = 0;
  for (int i = 0; i < 2000 && snapshot == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_OK_AND_ASSIGN(CollectionInfo info, c->Info());
    snapshot = info.snapshot_sequence;
  }
  EXPECT_EQ(snapshot, 80u) << "a background snapshot after 50 changes";
  // The time trigger alone.
  DatabaseOptions timed = Options();
  timed.snapshot_after_changes = 0;
  timed.snapshot_interval_ms = 30;
  c.reset();
  db.reset();
  ASSERT_OK_AND_ASSIGN(auto db2, Database::Open(DbDir(), timed));
  ASSERT_OK_AND_ASSIGN(auto c2, db2->GetCollection("bg"));
  ASSERT_OK(c2->Upsert(std::vector<Point>{MakePoint(IntKey(1000), 1, kDim)}));
  snapshot = 0;
  for (int i = 0; i < 2000 && snapshot != 81; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_OK_AND_ASSIGN(CollectionInfo info, c2->Info());
    snapshot = info.snapshot_sequence;
  }
  EXPECT_EQ(snapshot, 81u) << "a background snapshot within the interval after a change";
}

// Fills a collection without a budget; returns the points.
std::vector<Point> FillBudgetCollection(Database& db, const std::string& name) {
  auto c = db.CreateCollection(name, Config(kDim, Metric::kL2, "hnsw"));
  EXPECT_SUCCESS(c);
  std::vector<Point> points;
  for (uint64_t i = 0; i < 200; ++i) points.push_back(MakePoint(IntKey(i), 1, kDim));
  if (c.ok()) {
    EXPECT_SUCCESS((*c)->Upsert(points));
  }
  return points;
}

bool MentionsMemory(const Status& s) {
  std::string m = s.message();
  for (char& ch : m) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return m.find("budget") != std::string::npos || m.find("memory") != std::string::npos;
}

TEST_F(InfoTest, TinyMemoryBudgetRefusesNewPointsAndChangesNothing) {
  DatabaseOptions options = Options();
  options.memory_budget_bytes = 1;
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), options));
  ASSERT_OK_AND_ASSIGN(auto c, db->CreateCollection("tiny", Config(kDim, Metric::kL2, "hnsw")));
  auto r = c->Upsert(std::vector<Point>{MakePoint(IntKey(1), 1, kDim)});
  EXPECT_CODE(r, StatusCode::kResourceExhausted);
  EXPECT_TRUE(MentionsMemory(r.status())) << r.status().ToString();
  EXPECT_EQ(*c->Count(), 0u);
  ASSERT_OK_AND_ASSIGN(CollectionInfo info, c->Info());
  EXPECT_EQ(info.last_sequence, 0u);
  EXPECT_EQ(info.memory_budget_bytes, 1u);
  ASSERT_OK_AND_ASSIGN(auto hits, c->Search(VectorFor(IntKey(1), 1, kDim), SearchRequest{}));
  EXPECT_TRUE(hits.empty());
  // Nothing persisted either.
  c.reset();
  db.reset();
  ASSERT_OK_AND_ASSIGN(auto db2, Database::Open(DbDir(), Options()));
  ASSERT_OK_AND_ASSIGN(auto c2, db2->GetCollection("tiny"));
  EXPECT_EQ(*c2->Count(), 0u);
}

TEST_F(InfoTest, OverBudgetUpdatesAndDeletesStillWork) {
  std::vector<Point> points;
  {
    ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Options()));
    points = FillBudgetCollection(*db, "full");
  }
  DatabaseOptions options = Options();
  options.memory_budget_bytes = 1;  // already far over it
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), options));
  ASSERT_OK_AND_ASSIGN(auto c, db->GetCollection("full"));
  Model model;
  ApplyUpserts(model, points);
  ASSERT_OK_AND_ASSIGN(CollectionInfo before, c->Info());
  EXPECT_GT(before.memory_used_bytes, before.memory_budget_bytes);
  SearchRequest request;
  request.k = 5;
  const std::vector<float> query = VectorFor(IntKey(9999), 1, kDim);
  ASSERT_OK_AND_ASSIGN(auto answer, c->Search(query, request));

  // New points: refused, alone or mixed with updates; nothing changes.
  EXPECT_CODE(c->Upsert(std::vector<Point>{MakePoint(IntKey(1000), 1, kDim)}), StatusCode::kResourceExhausted);
  EXPECT_CODE(c->Upsert(std::vector<Point>{MakePoint(IntKey(3), 2, kDim), MakePoint(IntKey(1001), 1, kDim)}),
                StatusCode::kResourceExhausted);
  EXPECT_TRUE(Holds(*c, model));
  ASSERT_OK_AND_ASSIGN(auto answer2, c->Search(query, request));
  EXPECT_EQ(KeysOf(answer2), KeysOf(answer));
  ASSERT_OK_AND_ASSIGN(CollectionInfo unchanged, c->Info());
  EXPECT_EQ(unchanged.last_sequence, before.last_sequence);
  EXPECT_TRUE(IndexLacks(*c, {IntKey(1000), IntKey(1001)}, kDim));

  // Updates of existing points, deletes and payload changes: allowed.
  std::vector<Point> updates;
  for (uint64_t i = 0; i < 200; i += 2) updates.push_back(MakePoint(IntKey(i), 2, kDim, R"({"v":2})"));
  ASSERT_OK(c->Upsert(updates));
  ApplyUpserts(model, updates);
  ASSERT_OK(c->Delete(std::vector<PointKey>{IntKey(5), IntKey(7)}));
  model.erase(IntKey(5));
  model.erase(IntKey(7));
  ASSERT_OK(c->SetPayload(std::vector<PointKey>{IntKey(9)}, R"({"p":1})"));
  model[IntKey(9)].payload = R"({"p":1})";
  EXPECT_TRUE(Holds(*c, model));
  EXPECT_TRUE(IndexFinds(*c, IntKey(4), model[IntKey(4)].vector, true, false));

  // The budget is the database's: another collection cannot take new points either.
  ASSERT_OK_AND_ASSIGN(auto other, db->CreateCollection("other", Config(kDim, Metric::kL2, "flat")));
  EXPECT_CODE(other->Upsert(std::vector<Point>{MakePoint(IntKey(1), 1, kDim)}), StatusCode::kResourceExhausted);
  EXPECT_EQ(*other->Count(), 0u);
  EXPECT_VERIFIED(*c);
}

TEST_F(InfoTest, BudgetAdmitsSmallBatchesAndRefusesLargeOnes) {
  uint64_t used = 0;
  {
    ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Options()));
    FillBudgetCollection(*db, "grow");
  }
  {
    DatabaseOptions measure = Options();
    measure.memory_budget_bytes = uint64_t{1} << 40;
    measure.map_snapshots = false;
    ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), measure));
    ASSERT_OK_AND_ASSIGN(auto c, db->GetCollection("grow"));
    ASSERT_OK_AND_ASSIGN(CollectionInfo info, c->Info());
    used = info.memory_used_bytes;
    ASSERT_GT(used, 0u);
  }
  DatabaseOptions options = Options();
  options.memory_budget_bytes = 2 * used;
  options.map_snapshots = false;
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), options));
  ASSERT_OK_AND_ASSIGN(auto c, db->GetCollection("grow"));
  std::vector<Point> small;
  for (uint64_t i = 0; i < 20; ++i) small.push_back(MakePoint(IntKey(10000 + i), 1, kDim));
  EXPECT_SUCCESS(c->Upsert(small)) << "20 more points fit in twice the memory of 200";
  std::vector<Point> large;
  for (uint64_t i = 0; i < 2000; ++i) large.push_back(MakePoint(IntKey(20000 + i), 1, kDim));
  auto r = c->Upsert(large);
  EXPECT_CODE(r, StatusCode::kResourceExhausted);
  EXPECT_EQ(*c->Count(), 220u);
  ASSERT_OK_AND_ASSIGN(CollectionInfo info, c->Info());
  EXPECT_LE(info.memory_used_bytes, info.memory_budget_bytes);
  EXPECT_EQ(info.indexed, 220u);
}

}  // namespace
}  // namespace vecdex::dbtest
