// Corruption: bits flipped and files truncated in every file a database writes, in two images:
// one closed cleanly (no WAL) and one copied while open (what a crash leaves: a WAL, a change-log
// tail after the snapshot). Reopening must give the committed data exactly (index damage: the
// index is rebuilt from the store and serves exactly the store's points) or, for store damage, an
// error naming store.db; never a crash (ASan), never wrong data. The damaged collection never
// keeps its healthy sibling from opening and serving.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "db/db_test_util.h"

namespace vecdex::dbtest {
namespace {

using testutil::ReadFileBytes;
using testutil::WriteFileBytes;

constexpr size_t kDim = 8;
// Sampled flips per file kind (plus a dense run over the first bytes: headers).
constexpr size_t kFlips = kSanitized ? 30 : 120;
constexpr size_t kDense = kSanitized ? 8 : 24;

// A database directory and what its collections held when it was written.
struct Image {
  std::string dir;
  std::vector<Model> history;  // the victim after each committed write, oldest first
  Model sibling;
  std::vector<PointKey> all_keys;  // every key the victim ever held
  const Model& final_state() const { return history.back(); }
};

class CorruptionTest : public DbTest {
 protected:
  // Writes the victim (HNSW, 300 points, payloads incl. one spanning overflow pages, deletes and
  // payload updates, a snapshot, then more writes) and a small healthy sibling. `crash_copy`:
  // the image is copied while the database is open; else it is closed cleanly.
  void Build(bool crash_copy, Image* image) {
    image->dir = Path(crash_copy ? "crash_image" : "clean_image");
    const std::string live = Path("live");
    DatabaseOptions options = Options();
    options.background_snapshots = false;
    ASSERT_OK_AND_ASSIGN(auto db, Database::Open(live, options));
    ASSERT_OK_AND_ASSIGN(auto sibling, db->CreateCollection("sibling", Config(4, Metric::kCosine, "flat")));
    std::vector<Point> sp;
    for (uint64_t i = 0; i < 20; ++i) sp.push_back(MakePoint(IntKey(i), 1, 4, R"({"s":)" + std::to_string(i) + "}"));
    ASSERT_OK(sibling->Upsert(sp));
    ApplyUpserts(image->sibling, sp);
    ASSERT_OK_AND_ASSIGN(auto victim, db->CreateCollection("victim", Config(kDim, Metric::kL2, "hnsw")));
    Model model;
    image->history.push_back(model);
    const auto upsert = [&](std::vector<Point> points) {
      ASSERT_OK(victim->Upsert(points));
      ApplyUpserts(model, points);
      image->history.push_back(model);
    };
    for (uint64_t b = 0; b < 3; ++b) {
      std::vector<Point> points;
      for (uint64_t i = 0; i < 100; ++i) {
        const uint64_t k = b * 100 + i;
        PointKey key = k % 4 == 0 ? StrKey("doc-" + std::to_string(k)) : IntKey(k);
        std::string payload = k % 5 == 0 ? R"({"k":)" + std::to_string(k) + "}" : "";
        if (k == 7) payload = R"({"blob":")" + std::string(6000, 'x') + R"("})";
        points.push_back(MakePoint(std::move(key), 1, kDim, std::move(payload)));
      }
      upsert(points);
    }
    std::vector<PointKey> gone = {IntKey(1), StrKey("doc-8"), IntKey(299)};
    ASSERT_OK(victim->Delete(gone));
    for (const PointKey& k : gone) model.erase(k);
    image->history.push_back(model);
    ASSERT_OK(victim->SetPayload(std::vector<PointKey>{IntKey(2), IntKey(3)}, R"({"set":1})"));
    model[IntKey(2)].payload = R"({"set":1})";
    model[IntKey(3)].payload = R"({"set":1})";
    image->history.push_back(model);
    ASSERT_OK(victim->Snapshot());
    upsert({MakePoint(IntKey(1000), 1, kDim), MakePoint(IntKey(5), 2, kDim, R"({"v":2})")});
    ASSERT_OK(victim->Delete(std::vector<PointKey>{IntKey(6)}));
    model.erase(IntKey(6));
    image->history.push_back(model);
    upsert({MakePoint(StrKey("last"), 1, kDim, R"({"last":true})")});
    for (const Model& m : image->history) {
      for (const auto& [k, v] : m) image->all_keys.push_back(k);
    }
    std::sort(image->all_keys.begin(), image->all_keys.end());
    image->all_keys.erase(std::unique(image->all_keys.begin(), image->all_keys.end()), image->all_keys.end());
    if (crash_copy) {
      fs::copy(live, image->dir, fs::copy_options::recursive);
      ASSERT_TRUE(fs::exists(image->dir + "/collections/victim/store.db-wal")) << "the image should have a WAL";
    }
    victim.reset();
    sibling.reset();
    db.reset();
    if (!crash_copy) fs::rename(live, image->dir);
  }

  // Copies the image, applies `mutate` to `file` (relative to the image), opens and checks.
  // `allowed`: the victim states the damaged copy may serve.
  void RunCase(const Image& image, const std::string& file, const std::function<void(std::vector<uint8_t>&)>& mutate,
               const std::vector<const Model*>& allowed, const std::string& what) {
    SCOPED_TRACE(what);
    const std::string dir = Path("case");
    fs::remove_all(dir);
    fs::copy(image.dir, dir, fs::copy_options::recursive);
    std::vector<uint8_t> bytes = ReadFileBytes(dir + "/" + file);
    mutate(bytes);
    WriteFileBytes(dir + "/" + file, bytes);
    const std::string name = fs::path(file).filename().string();
    const bool store_file = name == "store.db" || name == "store.db-wal" || name == "store.db-shm";

    DatabaseOptions options = QuietOptions();
    options.map_snapshots = cases_++ % 2 == 0;
    auto db = Database::Open(dir, options);
    ASSERT_OK(db);
    {  // The sibling is untouched by the damage next door.
      auto sibling = (*db)->GetCollection("sibling");
      ASSERT_OK(sibling);
      EXPECT_TRUE(Holds(**sibling, image.sibling));
      EXPECT_TRUE(IndexFinds(**sibling, IntKey(3), image.sibling.at(IntKey(3)).vector, true, true));
    }
    auto c = (*db)->GetCollection("victim");
    if (!c.ok()) {
      EXPECT_TRUE(store_file) << "only store damage may keep a collection closed: " << c.status().ToString();
      ExpectNamesStore(c.status());
      const auto failed = (*db)->FailedCollections();
      EXPECT_TRUE(failed.size() == 1 && failed[0].first == "victim" &&
                  failed[0].second.message() == c.status().message());
      EXPECT_EQ((*db)->ListCollections(), std::vector<std::string>{"sibling"});
      ++refused_;
      return;
    }
    Collection& victim = **c;
    auto all = ReadAll(victim);
    if (!all.ok()) {
      EXPECT_TRUE(store_file) << "only store damage may fail a read: " << all.status().ToString();
      ExpectNamesStore(all.status());
      auto verify = victim.Verify();
      EXPECT_TRUE(!verify.ok() || !verify->ok) << "a read failed, yet Verify found nothing";
      ++read_errors_;
      return;
    }
    const Model* state = nullptr;
    for (const Model* m : allowed) {
      if (SameContent(*all, *m)) state = m;
    }
    ASSERT_NE(state, nullptr) << "the collection serves data that was never committed together; vs the last state: "
                              << SameContent(*all, image.final_state()).message();
    // Reads by key agree (or fail naming the store).
    auto got = victim.Get(image.all_keys, true, true);
    if (got.ok()) {
      EXPECT_EQ(got->size(), state->size());
      for (const PointRecord& p : *got) {
        auto it = state->find(p.key);
        EXPECT_TRUE(it != state->end() && it->second.vector == p.vector && SameJson(it->second.payload, p.payload_json))
            << PointKeyToString(p.key);
      }
    } else {
      EXPECT_TRUE(store_file) << got.status().ToString();
      ExpectNamesStore(got.status());
    }
    // The index serves exactly the store's points.
    ASSERT_TRUE(WaitReady(victim));
    ASSERT_OK_AND_ASSIGN(CollectionInfo info, victim.Info());
    EXPECT_EQ(info.points, state->size());
    EXPECT_EQ(info.indexed, state->size());
    {
      // Searches resolve ids through the store by id, a path other than the key scroll's: a
      // damaged row may surface only here, as an error naming the store.
      SearchRequest every;
      every.k = Collection::kMaxK;
      every.with_payload = true;
      auto hits = victim.Search(std::vector<float>(kDim, 0.25f), every);
      if (!hits.ok()) {
        EXPECT_TRUE(store_file) << "only store damage may fail a search: " << hits.status().ToString();
        ExpectNamesStore(hits.status());
        auto verify = victim.Verify();
        EXPECT_TRUE(!verify.ok() || !verify->ok) << "a search failed on a damaged row, yet Verify found nothing";
        ++read_errors_;
        return;
      }
      EXPECT_EQ(hits->size(), state->size());
    }
    size_t i = 0;
    std::vector<PointKey> absent;
    SelfSearchTally tally;
    for (const PointKey& key : image.all_keys) {
      auto it = state->find(key);
      if (it == state->end()) {
        absent.push_back(key);
      } else if (i++ % 9 == 0) {
        EXPECT_TRUE(IndexFinds(victim, key, it->second.vector, true, false, &tally));
      }
    }
    EXPECT_TRUE(tally.Acceptable());
    EXPECT_TRUE(IndexLacks(victim, absent, kDim));
    auto verify = victim.Verify();
    if (!store_file) {
      EXPECT_TRUE(verify.ok() && verify->ok) << VerifyText(verify);
    }
    ++opened_;
  }

  void ExpectNamesStore(const Status& status) {
    EXPECT_NE(status.message().find("store.db"), std::string::npos) << status.ToString();
    EXPECT_NE(status.code(), StatusCode::kInternal) << status.ToString();
  }

  // Flips one bit at every one of the first kDense bytes and at `flips` seeded offsets, then
  // truncates to several lengths.
  void Damage(const Image& image, const std::string& file, size_t flips, const std::vector<const Model*>& flip_allowed,
              const std::vector<const Model*>& truncate_allowed) {
    const size_t size = fs::file_size(image.dir + "/" + file);
    ASSERT_GT(size, 0u) << file;
    std::vector<size_t> offsets;
    for (size_t i = 0; i < std::min(kDense, size); ++i) offsets.push_back(i);
    std::mt19937_64 rng(size * 31 + file.size());
    for (size_t i = 0; i < flips && size > kDense; ++i) offsets.push_back(kDense + rng() % (size - kDense));
    for (size_t offset : offsets) {
      const uint8_t bit = static_cast<uint8_t>(1u << (rng() % 8));
      RunCase(image, file, [&](std::vector<uint8_t>& b) { b[offset] ^= bit; }, flip_allowed,
              file + ": bit flip at " + std::to_string(offset));
      if (HasFatalFailure()) return;
    }
    for (size_t length : {size_t{0}, size_t{1}, size_t{31}, size_t{100}, size_t{4096}, size / 3, size / 2,
                          size - std::min(size, size_t{4096 + 24}), size - 100, size - 1}) {
      if (length >= size) continue;
      RunCase(image, file, [&](std::vector<uint8_t>& b) { b.resize(length); }, truncate_allowed,
              file + ": truncated to " + std::to_string(length));
      if (HasFatalFailure()) return;
    }
    std::printf("[ info     ] %s: %zu refused, %zu with read errors, %zu opened intact\n", file.c_str(), refused_,
                read_errors_, opened_);
    refused_ = read_errors_ = opened_ = 0;
  }

  // Files of the victim (and the database's own) whose names start with `prefix`.
  std::vector<std::string> VictimFiles(const Image& image, const std::string& prefix) {
    std::vector<std::string> out;
    for (const std::string& f : FilesStartingWith(image.dir + "/collections/victim", prefix)) {
      out.push_back("collections/victim/" + f);
    }
    return out;
  }

  static std::vector<const Model*> All(const Image& image) {
    std::vector<const Model*> out;
    for (const Model& m : image.history) out.push_back(&m);
    return out;
  }

  size_t cases_ = 0;
  size_t refused_ = 0;
  size_t read_errors_ = 0;
  size_t opened_ = 0;
};

TEST_F(CorruptionTest, CleanImageStoreFile) {
  Image image;
  Build(false, &image);
  ASSERT_FALSE(fs::exists(image.dir + "/collections/victim/store.db-wal")) << "a clean close checkpoints the WAL";
  Damage(image, "collections/victim/store.db", kFlips, {&image.final_state()}, {&image.final_state()});
}

TEST_F(CorruptionTest, CleanImageSnapshotFiles) {
  Image image;
  Build(false, &image);
  const auto snapshots = VictimFiles(image, "index-");
  ASSERT_FALSE(snapshots.empty());
  for (const std::string& f : snapshots) Damage(image, f, kFlips, {&image.final_state()}, {&image.final_state()});
  Damage(image, "collections/victim/CURRENT", kFlips, {&image.final_state()}, {&image.final_state()});
}

// Whatever else the database keeps (LOCK, lock files, ...): damage there must be harmless.
TEST_F(CorruptionTest, CleanImageOtherFiles) {
  Image image;
  Build(false, &image);
  std::vector<std::string> others;
  for (const auto& e : fs::recursive_directory_iterator(image.dir)) {
    if (!e.is_regular_file()) continue;
    const std::string rel = fs::relative(e.path(), image.dir).string();
    const std::string name = e.path().filename().string();
    if (rel.starts_with("collections/sibling/")) continue;
    if (name == "store.db" || name == "CURRENT" || name.starts_with("index-")) continue;
    others.push_back(rel);
  }
  std::printf("[ info     ] other files:");
  for (const std::string& f : others) std::printf(" %s", f.c_str());
  std::printf("\n");
  ASSERT_FALSE(others.empty());
  for (const std::string& f : others) {
    if (fs::file_size(image.dir + "/" + f) == 0) {  // lock files: garbage written into them is harmless
      RunCase(image, f, [](std::vector<uint8_t>& b) { b.assign(64, 0xA5); }, {&image.final_state()},
              f + ": garbage written into it");
      continue;
    }
    Damage(image, f, kFlips / 4, {&image.final_state()}, {&image.final_state()});
  }
}

TEST_F(CorruptionTest, CrashImageStoreFile) {
  Image image;
  Build(true, &image);
  Damage(image, "collections/victim/store.db", kFlips, {&image.final_state()}, {&image.final_state()});
}

// A WAL cut short is what a crash before its last transactions leaves: any committed state is
// acceptable (and the index snapshot may then be ahead of the store: it must not be served). A
// damaged last transaction may cost that transaction only.
TEST_F(CorruptionTest, CrashImageWal) {
  Image image;
  Build(true, &image);
  const Model& previous = image.history[image.history.size() - 2];
  Damage(image, "collections/victim/store.db-wal", kFlips, {&image.final_state(), &previous}, All(image));
}

TEST_F(CorruptionTest, CrashImageSnapshotAndOtherFiles) {
  Image image;
  Build(true, &image);
  for (const std::string& f : VictimFiles(image, "index-")) {
    Damage(image, f, kFlips, {&image.final_state()}, {&image.final_state()});
  }
  Damage(image, "collections/victim/CURRENT", kFlips / 2, {&image.final_state()}, {&image.final_state()});
  if (fs::exists(image.dir + "/collections/victim/store.db-shm")) {
    Damage(image, "collections/victim/store.db-shm", kFlips / 4, {&image.final_state()}, {&image.final_state()});
  }
}

// Whole-file damage to one collection's store: it alone fails, naming the file, and its files
// are left for the operator (never deleted or replaced by an empty store); the sibling serves.
TEST_F(CorruptionTest, DestroyedStoreFailsAloneAndIsKept) {
  Image image;
  Build(false, &image);
  struct Case {
    std::string what;
    std::function<void(const std::string& store)> damage;
  };
  const std::vector<Case> cases = {
      {"empty", [](const std::string& s) { WriteFileBytes(s, {}); }},
      {"garbage", [](const std::string& s) {
         std::vector<uint8_t> bytes = ReadFileBytes(s);
         std::mt19937_64 rng(5);
         for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
         WriteFileBytes(s, bytes);
       }},
      {"zeroed first page", [](const std::string& s) {
         std::vector<uint8_t> bytes = ReadFileBytes(s);
         std::fill(bytes.begin(), bytes.begin() + std::min<size_t>(4096, bytes.size()), 0);
         WriteFileBytes(s, bytes);
       }},
      {"missing", [](const std::string& s) { fs::remove(s); }},
      {"not a file", [](const std::string& s) {
         fs::remove(s);
         fs::create_directory(s);
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string dir = Path("case");
    fs::remove_all(dir);
    fs::copy(image.dir, dir, fs::copy_options::recursive);
    const std::string store = dir + "/collections/victim/store.db";
    c.damage(store);
    const bool existed = fs::exists(store);
    const std::vector<uint8_t> damaged =
        existed && fs::is_regular_file(store) ? ReadFileBytes(store) : std::vector<uint8_t>();
    {
      ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir, Options()));
      const auto failed = db->FailedCollections();
      ASSERT_EQ(failed.size(), 1u);
      EXPECT_EQ(failed[0].first, "victim");
      ExpectNamesStore(failed[0].second);
      auto victim = db->GetCollection("victim");
      ASSERT_FALSE(victim.ok()) << "a collection without its data must not open empty";
      EXPECT_EQ(victim.status().code(), failed[0].second.code());
      EXPECT_EQ(db->ListCollections(), std::vector<std::string>{"sibling"});
      ASSERT_OK_AND_ASSIGN(auto sibling, db->GetCollection("sibling"));
      EXPECT_TRUE(Holds(*sibling, image.sibling));
      ASSERT_OK(sibling->Upsert(std::vector<Point>{MakePoint(IntKey(100), 1, 4)}));
      EXPECT_TRUE(IndexFinds(*sibling, IntKey(100), VectorFor(IntKey(100), 1, 4), true, true));
      EXPECT_FALSE(db->CreateCollection("victim", Config(kDim, Metric::kL2, "hnsw")).ok())
          << "the damaged collection's name stays taken (creating it would replace its files)";
    }
    EXPECT_EQ(fs::exists(store), existed) << "the damaged store is left as it was";
    if (existed && fs::is_regular_file(store)) {
      EXPECT_TRUE(ReadFileBytes(store) == damaged) << "the damaged store is left as it was";
    }
    EXPECT_FALSE(FilesStartingWith(dir + "/collections/victim", "index-").empty()) << "and so is its snapshot";
  }
}

// read_only (what `vecdex verify` uses): a damaged snapshot is reported, not rebuilt, and
// nothing in the directory is written.
TEST_F(CorruptionTest, WithoutRepairDamageIsReportedAndNothingIsWritten) {
  Image image;
  Build(false, &image);
  const auto snapshots = VictimFiles(image, "index-");
  ASSERT_EQ(snapshots.size(), 1u);
  const std::string dir = Path("case");
  fs::copy(image.dir, dir, fs::copy_options::recursive);
  std::vector<uint8_t> bytes = ReadFileBytes(dir + "/" + snapshots[0]);
  bytes[bytes.size() / 2] ^= 0x10;
  WriteFileBytes(dir + "/" + snapshots[0], bytes);
  const std::vector<uint8_t> current = ReadFileBytes(dir + "/collections/victim/CURRENT");
  DatabaseOptions options = QuietOptions();
  options.read_only = true;
  {
    ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir, options));
    auto victim = db->GetCollection("victim");
    ASSERT_FALSE(victim.ok());
    EXPECT_NE(victim.status().message().find(fs::path(snapshots[0]).filename().string()), std::string::npos)
        << victim.status().ToString();
    ASSERT_OK_AND_ASSIGN(auto sibling, db->GetCollection("sibling"));
    EXPECT_TRUE(Holds(*sibling, image.sibling));
    EXPECT_VERIFIED(*sibling);
  }
  EXPECT_TRUE(ReadFileBytes(dir + "/" + snapshots[0]) == bytes) << "the damaged snapshot is left as it was";
  EXPECT_TRUE(ReadFileBytes(dir + "/collections/victim/CURRENT") == current);
  EXPECT_EQ(FilesStartingWith(dir + "/collections/victim", "index-").size(), 1u);
  // Opened writable (the default) the same directory heals.
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir, Options()));
  ASSERT_OK_AND_ASSIGN(auto victim, db->GetCollection("victim"));
  EXPECT_TRUE(Holds(*victim, image.final_state()));
  ASSERT_OK_AND_ASSIGN(CollectionInfo info, victim->Info());
  EXPECT_NE(info.recovery.find(fs::path(snapshots[0]).filename().string()), std::string::npos) << info.recovery;
  EXPECT_VERIFIED(*victim);
}

}  // namespace
}  // namespace vecdex::dbtest
