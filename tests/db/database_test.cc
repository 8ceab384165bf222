// The Database: collections created, listed, fetched and dropped; names and configurations
// validated and persisted; collections isolated; one process per directory; the memory budget;
// what Info reports.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "db/db_test_util.h"
#include "index/index_spec.h"
#include "vecdex/index.h"

namespace vecdex::dbtest {
namespace {

constexpr size_t kDim = 8;

class DatabaseTest : public DbTest {};

TEST_F(DatabaseTest, CreateListGetDrop) {
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Options()));
  EXPECT_EQ(db->dir(), DbDir());
  EXPECT_TRUE(db->ListCollections().empty());
  EXPECT_TRUE(db->FailedCollections().empty());
  for (const char* name : {"zeta", "alpha", "Mid_1"}) {
    ASSERT_OK_AND_ASSIGN(auto c, db->CreateCollection(name, Config(kDim, Metric::kL2, "flat")));
    EXPECT_EQ(c->name(), name);
  }
  EXPECT_EQ(db->ListCollections(), (std::vector<std::string>{"Mid_1", "alpha", "zeta"}));
  ASSERT_OK_AND_ASSIGN(auto alpha, db->GetCollection("alpha"));
  EXPECT_EQ(alpha->name(), "alpha");
  EXPECT_CODE(db->GetCollection("beta"), StatusCode::kNotFound);
  EXPECT_CODE(db->GetCollection("ALPHA"), StatusCode::kNotFound) << "names are case-sensitive";
  ASSERT_OK(alpha->Upsert(std::vector<Point>{MakePoint(IntKey(1), 1, kDim)}));

  ASSERT_OK(db->DropCollection("alpha"));
  EXPECT_EQ(db->ListCollections(), (std::vector<std::string>{"Mid_1", "zeta"}));
  EXPECT_CODE(db->GetCollection("alpha"), StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(CollectionDir("alpha"))) << "its files are removed";
  EXPECT_CODE(db->DropCollection("alpha"), StatusCode::kNotFound);
  EXPECT_CODE(db->DropCollection("never"), StatusCode::kNotFound);

  // The name is free again, for a new, empty collection.
  ASSERT_OK_AND_ASSIGN(auto again, db->CreateCollection("alpha", Config(kDim, Metric::kL2, "hnsw")));
  EXPECT_EQ(*again->Count(), 0u);
  db.reset();

  ASSERT_OK_AND_ASSIGN(auto reopened, Database::Open(DbDir(), Options()));
  EXPECT_EQ(reopened->ListCollections(), (std::vector<std::string>{"Mid_1", "alpha", "zeta"}));
  ASSERT_OK_AND_ASSIGN(auto alpha2, reopened->GetCollection("alpha"));
  EXPECT_EQ(*alpha2->Count(), 0u);
  EXPECT_TRUE(alpha2->config().index_spec.starts_with("hnsw"));
}

TEST_F(DatabaseTest, CollectionNamesAreValidated) {
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Options()));
  const std::vector<std::string> good = {"a", "Z", "0", "_", "a-b", "A_b-9", "_x", "9lives", std::string(64, 'n')};
  const std::vector<std::string> bad = {"", "-a", "-", std::string(65, 'n'), "a b", "a/b", "a\\b", ".", "..",
                                        "a.b", "\xc3\xa9", "a\nb", std::string("a\0b", 3), "con:", "*", "a~"};
  for (const std::string& name : good) {
    EXPECT_SUCCESS(ValidateCollectionName(name)) << name;
    EXPECT_SUCCESS(db->CreateCollection(name, Config(kDim, Metric::kCosine, "flat"))) << name;
  }
  for (const std::string& name : bad) {
    EXPECT_CODE(ValidateCollectionName(name), StatusCode::kInvalidArgument) << name;
    EXPECT_CODE(db->CreateCollection(name, Config(kDim, Metric::kCosine, "flat")), StatusCode::kInvalidArgument)
        << name;
    EXPECT_CODE(db->GetCollection(name), StatusCode::kNotFound) << name;
  }
  EXPECT_EQ(db->ListCollections().size(), good.size());
  // Nothing but the good ones was created on disk.
  size_t dirs = 0;
  for (const auto& e : fs::directory_iterator(fs::path(DbDir()) / "collections")) dirs += e.is_directory();
  EXPECT_EQ(dirs, good.size());
}

TEST_F(DatabaseTest, InvalidConfigurationsAreRejectedAndCreateNothing) {
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Options()));
  const std::vector<CollectionConfig> bad = {
      Config(0, Metric::kL2, "flat"),
      Config(kMaxDimension + 1, Metric::kL2, "hnsw"),
      Config(kDim, Metric::kL2, ""),
      Config(kDim, Metric::kL2, "nope"),
      Config(kDim, Metric::kL2, "hnsw:m=abc"),
      Config(kDim, Metric::kL2, "hnsw:m=0"),
      Config(kDim, Metric::kL2, "hnsw:bogus=1"),
      Config(kDim, Metric::kL2, "hnsw:storage=int4"),
      Config(kDim, Metric::kL2, "hnsw:rerank=true"),  // f32 storage cannot re-rank
      Config(kDim, Metric::kL2, "flat:m=16"),
      Config(kDim, static_cast<Metric>(7), "flat"),
      Config(kDim, Metric::kL2, "flat", static_cast<SyncPolicy>(9)),
  };
  for (const CollectionConfig& config : bad) {
    EXPECT_CODE(db->CreateCollection("c", config), StatusCode::kInvalidArgument)
        << config.dim << " " << config.index_spec;
    EXPECT_TRUE(db->ListCollections().empty());
  }
  CollectionConfig zero_interval = Config(kDim, Metric::kL2, "flat", SyncPolicy::kInterval);
  zero_interval.sync_interval_ms = 0;
  auto r = db->CreateCollection("c", zero_interval);
  if (!r.ok()) {
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  }
  if (r.ok()) ASSERT_OK(db->DropCollection("c"));
  EXPECT_SUCCESS(db->CreateCollection("c", Config(kDim, Metric::kL2, "flat")));
  EXPECT_SUCCESS(db->CreateCollection("max", Config(kMaxDimension, Metric::kL2, "flat")));
}

TEST_F(DatabaseTest, CreatingAnExistingCollectionFails) {
  {
    ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Options()));
    ASSERT_OK_AND_ASSIGN(auto c, db->CreateCollection("dup", Config(kDim, Metric::kL2, "flat")));
    ASSERT_OK(c->Upsert(std::vector<Point>{MakePoint(IntKey(1), 1, kDim)}));
    EXPECT_CODE(db->CreateCollection("dup", Config(kDim, Metric::kL2, "flat")), StatusCode::kAlreadyExists);
    EXPECT_CODE(db->CreateCollection("dup", Config(kDim * 2, Metric::kCosine, "hnsw")), StatusCode::kAlreadyExists);
  }
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Options()));
  EXPECT_CODE(db->CreateCollection("dup", Config(kDim * 2, Metric::kCosine, "hnsw")), StatusCode::kAlreadyExists);
  ASSERT_OK_AND_ASSIGN(auto c, db->GetCollection("dup"));
  EXPECT_EQ(c->config().dim, kDim);
  EXPECT_EQ(*c->Count(), 1u) << "the failed create left the existing collection alone";
}

TEST_F(DatabaseTest, CollectionsAreIsolated) {
  Model model_a, model_b;
  {
    ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Options()));
    ASSERT_OK_AND_ASSIGN(auto a, db->CreateCollection("a", Config(kDim, Metric::kL2, "hnsw")));
    ASSERT_OK_AND_ASSIGN(auto b, db->CreateCollection("b", Config(kDim, Metric::kL2, "hnsw")));
    // The same keys with different vectors and payloads.
    std::vector<Point> pa, pb;
    for (uint64_t i = 0; i < 50; ++i) {
      PointKey key = i % 2 ? IntKey(i) : StrKey("k" + std::to_string(i));
      pa.push_back(MakePoint(key, 1, kDim, R"({"in":"a"})"));
      pb.push_back(MakePoint(key, 2, kDim, R"({"in":"b"})"));
    }
    ASSERT_OK(a->Upsert(pa));
    ASSERT_OK(b->Upsert(std::span<const Point>(pb).first(40)));
    ApplyUpserts(model_a, pa);
    ApplyUpserts(model_b, std::vector<Point>(pb.begin(), pb.begin() + 40));
    EXPECT_TRUE(Holds(*a, model_a));
    EXPECT_TRUE(Holds(*b, model_b));
    // b's vectors are not found in a, and a's points beyond b's are not in b.
    SearchRequest request;
    request.k = 1;
    ASSERT_OK_AND_ASSIGN(auto hit, a->Search(pb[5].vector, request));
    ASSERT_EQ(hit.size(), 1u);
    EXPECT_GT(hit[0].distance, 1e-3f) << "a does not hold b's vector";
    EXPECT_TRUE(IndexLacks(*b, {pa[45].key, pa[49].key}, kDim));
    // Deletes and payload updates stay in their collection.
    ASSERT_OK(a->Delete(std::vector<PointKey>{pa[0].key, pa[1].key}));
    model_a.erase(pa[0].key);
    model_a.erase(pa[1].key);
    ASSERT_OK(b->SetPayload(std::vector<PointKey>{pb[2].key}, R"({"in":"b2"})"));
    model_b[pb[2].key].payload = R"({"in":"b2"})";
    EXPECT_TRUE(Holds(*a, model_a));
    EXPECT_TRUE(Holds(*b, model_b));
    ASSERT_OK_AND_ASSIGN(CollectionInfo ia, a->Info());
    ASSERT_OK_AND_ASSIGN(CollectionInfo ib, b->Info());
    EXPECT_EQ(ia.last_sequence, 52u);
    EXPECT_EQ(ib.last_sequence, 41u) << "sequences are per collection";

    // Dropping a leaves b whole, now and after reopening.
    ASSERT_OK(db->DropCollection("a"));
    EXPECT_TRUE(Holds(*b, model_b));
    EXPECT_TRUE(IndexFinds(*b, pb[3].key, pb[3].vector, true, false));
  }
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Options()));
  EXPECT_EQ(db->ListCollections(), std::vector<std::string>{"b"});
  ASSERT_OK_AND_ASSIGN(auto b, db->GetCollection("b"));
  EXPECT_TRUE(Holds(*b, model_b));
  EXPECT_VERIFIED(*b);
  // A new "a" starts empty: nothing of the old one comes back.
  ASSERT_OK_AND_ASSIGN(auto a, db->CreateCollection("a", Config(kDim, Metric::kL2, "hnsw")));
  EXPECT_EQ(*a->Count(), 0u);
  ASSERT_OK_AND_ASSIGN(CollectionInfo info, a->Info());
  EXPECT_EQ(info.last_sequence, 0u);
}

TEST_F(DatabaseTest, HandlesToADroppedCollectionFail) {
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Options()));
  ASSERT_OK_AND_ASSIGN(auto c, db->CreateCollection("gone", Config(kDim, Metric::kCosine, "hnsw")));
  const Point p = MakePoint(IntKey(1), 1, kDim);
  ASSERT_OK(c->Upsert(std::vector<Point>{p}));
  ASSERT_OK(db->DropCollection("gone"));
  // A new collection under the same name must not receive the old handle's writes.
  ASSERT_OK_AND_ASSIGN(auto fresh, db->CreateCollection("gone", Config(kDim, Metric::kCosine, "hnsw")));
  const auto fp = StatusCode::kFailedPrecondition;
  const std::vector<PointKey> keys = {p.key};
  const std::vector<float> q = p.vector;
  EXPECT_CODE(c->Upsert(std::vector<Point>{MakePoint(IntKey(2), 1, kDim)}), fp);
  EXPECT_CODE(c->Delete(keys), fp);
  EXPECT_CODE(c->SetPayload(keys, R"({"a":1})"), fp);
  EXPECT_CODE(c->OverwritePayload(keys, R"({"a":1})"), fp);
  EXPECT_CODE(c->Get(keys, true, true), fp);
  EXPECT_CODE(c->Count(), fp);
  EXPECT_CODE(c->Scroll(ScrollRequest{}), fp);
  EXPECT_CODE(c->Search(q, SearchRequest{}), fp);
  EXPECT_CODE(c->SearchBatch(MatrixView{q.data(), 1, kDim}, SearchRequest{}), fp);
  EXPECT_CODE(c->Info(), fp);
  EXPECT_CODE(c->Snapshot(), fp);
  EXPECT_CODE(c->Verify(), fp);
  EXPECT_EQ(c->name(), "gone");
  EXPECT_EQ(*fresh->Count(), 0u);
  ASSERT_OK_AND_ASSIGN(auto info, fresh->Info());
  EXPECT_EQ(info.last_sequence, 0u);
  c.reset();  // the last handle of the dropped collection goes away after its files
}

TEST_F(DatabaseTest, HandleMayOutliveTheDatabase) {
  std::shared_ptr<Collection> c;
  {
    ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Options()));
    ASSERT_OK_AND_ASSIGN(c, db->CreateCollection("kept", Config(kDim, Metric::kL2, "hnsw")));
    ASSERT_OK(c->Upsert(std::vector<Point>{MakePoint(IntKey(1), 1, kDim)}));
  }
  // The database is closed: the handle must not crash, and must not write behind its back.
  EXPECT_FALSE(c->Upsert(std::vector<Point>{MakePoint(IntKey(2), 1, kDim)}).ok());
  EXPECT_FALSE(c->Search(VectorFor(IntKey(1), 1, kDim), SearchRequest{}).ok());
  EXPECT_FALSE(c->Count().ok());
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Options()));
  ASSERT_OK_AND_ASSIGN(auto again, db->GetCollection("kept"));
  EXPECT_EQ(*again->Count(), 1u);
  c.reset();
}

TEST_F(DatabaseTest, OpenErrors) {
  DatabaseOptions options = Options();
  options.create = false;
  EXPECT_CODE(Database::Open(Path("missing/deeper"), options), StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(Path("missing")));
  options.create = true;
  ASSERT_OK(Database::Open(Path("made/deeper"), options));  // parents created
  EXPECT_TRUE(fs::is_directory(Path("made/deeper")));
  WriteBytes("plain_file", {1, 2, 3});
  EXPECT_FALSE(Database::Open(Path("plain_file"), options).ok());
}

TEST_F(DatabaseTest, SecondDatabaseOnTheSameDirectoryIsUnavailable) {
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Options()));
  ASSERT_OK(db->CreateCollection("c", Config(kDim, Metric::kL2, "flat")));
  EXPECT_CODE(Database::Open(DbDir(), Options()), StatusCode::kUnavailable);
  // Another spelling of the same directory is the same directory.
  EXPECT_CODE(Database::Open(DbDir() + "/.", Options()), StatusCode::kUnavailable);
  EXPECT_CODE(Database::Open(DbDir() + "/", Options()), StatusCode::kUnavailable);
  db.reset();
  ASSERT_OK_AND_ASSIGN(auto again, Database::Open(DbDir(), Options()));
  EXPECT_EQ(again->ListCollections(), std::vector<std::string>{"c"});
}

// The child of the next test: opens the database, reports it, then waits to be killed.
// A plain TEST, not the fixture: the child is killed, so a fixture's directory would be left behind.
TEST(DatabaseChild, DISABLED_HoldsDatabase) {
  const std::string dir = Env("VECDEX_DB_LOCK_DIR");
  if (dir.empty()) GTEST_SKIP() << "run by SecondProcessIsUnavailableUntilTheHolderDies";
  const int fd = std::stoi(Env("VECDEX_DB_LOCK_FD"));
  auto db = Database::Open(dir, QuietOptions());
  const char ok = db.ok() ? 'y' : 'n';
  if (write(fd, &ok, 1) != 1) _exit(2);
  while (true) pause();
}

TEST_F(DatabaseTest, SecondProcessIsUnavailableUntilTheHolderDies) {
  {
    ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Options()));
    ASSERT_OK_AND_ASSIGN(auto c, db->CreateCollection("c", Config(kDim, Metric::kL2, "hnsw")));
    ASSERT_OK(c->Upsert(std::vector<Point>{MakePoint(IntKey(1), 1, kDim)}));
  }
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = SpawnSelf("DatabaseChild.DISABLED_HoldsDatabase",
                              {"VECDEX_DB_LOCK_DIR=" + DbDir(), "VECDEX_DB_LOCK_FD=" + std::to_string(fds[1])}, {fds[0]});
  ASSERT_GT(pid, 0);
  close(fds[1]);
  char ok = 0;
  const bool reported = ReadWithTimeout(fds[0], &ok, 1, 60);
  close(fds[0]);
  if (reported && ok == 'y') {
    EXPECT_CODE(Database::Open(DbDir(), Options()), StatusCode::kUnavailable);
  }
  kill(pid, SIGKILL);
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(reported && ok == 'y') << "the child could not open the database";
  // A killed holder releases the directory.
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Options()));
  ASSERT_OK_AND_ASSIGN(auto c, db->GetCollection("c"));
  EXPECT_EQ(*c->Count(), 1u);
}

TEST_F(DatabaseTest, ConfigurationIsPersistedAndNormalised) {
  struct Case {
    std::string name;
    CollectionConfig config;
  };
  CollectionConfig interval = Config(7, Metric::kInnerProduct, "hnsw:m=8,storage=f16", SyncPolicy::kInterval);
  interval.sync_interval_ms = 35;
  const std::vector<Case> cases = {
      {"flat_l2", Config(3, Metric::kL2, "flat")},
      {"hnsw_ip", interval},
      {"hnsw_cos", Config(33, Metric::kCosine, "hnsw:storage=int8,rerank=true,ef_search=40")},
      {"hnsw_default", Config(16, Metric::kCosine, "hnsw")},
  };
  std::map<std::string, std::string> normalised;
  for (const Case& c : cases) {
    auto index = CreateIndex(c.config.index_spec, c.config.dim, c.config.metric);
    ASSERT_OK(index);
    normalised[c.name] = (*index)->spec();
  }
  EXPECT_NE(normalised["hnsw_default"], "hnsw") << "every default is written down";
  const auto check = [&](Database& db) {
    for (const Case& c : cases) {
      SCOPED_TRACE(c.name);
      ASSERT_OK_AND_ASSIGN(auto col, db.GetCollection(c.name));
      const CollectionConfig& got = col->config();
      EXPECT_EQ(got.dim, c.config.dim);
      EXPECT_EQ(got.metric, c.config.metric);
      EXPECT_EQ(got.index_spec, normalised[c.name]);
      EXPECT_EQ(got.sync, c.config.sync);
      if (c.config.sync == SyncPolicy::kInterval) {
        EXPECT_EQ(got.sync_interval_ms, c.config.sync_interval_ms);
      }
      ASSERT_OK_AND_ASSIGN(CollectionInfo info, col->Info());
      EXPECT_EQ(info.name, c.name);
      EXPECT_EQ(info.config.index_spec, normalised[c.name]);
      EXPECT_EQ(info.config.dim, c.config.dim);
    }
  };
  {
    ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Options()));
    for (const Case& c : cases) {
      ASSERT_OK_AND_ASSIGN(auto col, db->CreateCollection(c.name, c.config));
      EXPECT_EQ(col->config().index_spec, normalised[c.name]);
      ASSERT_OK(col->Upsert(std::vector<Point>{MakePoint(IntKey(1), 1, c.config.dim)}));
    }
    check(*db);
  }
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Options()));
  check(*db);
  // The persisted dimension is enforced after reopening.
  ASSERT_OK_AND_ASSIGN(auto col, db->GetCollection("flat_l2"));
  EXPECT_CODE(col->Upsert(std::vector<Point>{MakePoint(IntKey(2), 1, 4)}), StatusCode::kInvalidArgument);
  EXPECT_SUCCESS(col->Upsert(std::vector<Point>{MakePoint(IntKey(2), 1, 3)}));
}

}  // namespace
}  // namespace vecdex::dbtest
