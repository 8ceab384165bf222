// Corruption: bytes flipped and files truncated in every file the store writes (the database and
// its WAL). Opening and reading everything must give either the exact data that was written (or,
// for a WAL cut at a transaction boundary, exactly an earlier committed state) or an error naming
// the file. Never a crash (ASan checks), never wrong data.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "store/store.h"
#include "store/store_test_util.h"
#include "testutil/temp_dir.h"
#include "testutil/test_util.h"

namespace vecdex::store {
namespace {

namespace fs = std::filesystem;
using testing::MakePoint;
using testing::ReadAll;

constexpr size_t kDim = 8;

// Everything a reader can observe about a store.
struct Snapshot {
  std::map<PointKey, StoredPoint> points;
  uint64_t last_sequence = 0;
  std::string meta;

  bool operator==(const Snapshot& other) const {
    if (last_sequence != other.last_sequence || meta != other.meta || points.size() != other.points.size()) {
      return false;
    }
    for (const auto& [key, p] : points) {
      auto it = other.points.find(key);
      if (it == other.points.end()) return false;
      const StoredPoint& q = it->second;
      if (p.id != q.id || p.vector != q.vector || p.payload_json != q.payload_json || p.sequence != q.sequence) {
        return false;
      }
    }
    return true;
  }
};

// Reads everything through every path (key index scroll, table scan, change log, meta).
Result<Snapshot> ReadSnapshot(Store& store) {
  Snapshot snap;
  VECDEX_ASSIGN_OR_RETURN(snap.points, ReadAll(store, 64));
  snap.last_sequence = store.LastSequence();
  VECDEX_ASSIGN_OR_RETURN(snap.meta, store.GetMeta("user.config"));
  size_t scanned = 0;
  VECDEX_RETURN_IF_ERROR(store.ForEachPoint([&](Label id, const PointKey& key, std::span<const float> v) {
    auto it = snap.points.find(key);
    if (it == snap.points.end() || it->second.id != id ||
        !std::equal(v.begin(), v.end(), it->second.vector.begin(), it->second.vector.end())) {
      return Status::Internal("table scan and key scroll disagree at " + PointKeyToString(key));
    }
    ++scanned;
    return Status::Ok();
  }));
  if (scanned != snap.points.size()) return Status::Internal("table scan and key scroll disagree on the count");
  VECDEX_ASSIGN_OR_RETURN(uint64_t count, store.Count());
  if (count != snap.points.size()) return Status::Internal("Count() disagrees with the points read");
  VECDEX_RETURN_IF_ERROR(store.ForEachChange(store.TruncatedThrough(), [](const Change&) { return Status::Ok(); }));
  return snap;
}

// Writes batch b: 40 points (ints and strings, some with payloads large enough for overflow
// pages), then deletes and payload updates on later batches.
PointKey StringKey(uint64_t k) {
  std::string name = "p";  // appended, not "p" + ...: GCC 12 warns falsely (-Wrestrict) on that
  name += std::to_string(k);
  return PointKey::String(std::move(name));
}

// `after_each` runs after every committed write call (one transaction each).
void WriteBatch(Store& store, uint64_t b, const std::function<void()>& after_each = [] {}) {
  std::vector<Point> points;
  for (uint64_t i = 0; i < 40; ++i) {
    const uint64_t k = b * 23 + i * 5;
    std::string payload;
    if (i % 7 == 0) payload = R"({"n":)" + std::to_string(k) + "}";
    if (i == 3) payload = R"({"blob":")" + std::string(5000 + b, 'x') + R"("})";
    points.push_back(MakePoint(k % 2 == 0 ? PointKey::Int(k) : StringKey(k), b, kDim,
                               std::move(payload)));
  }
  std::vector<MetaEntry> meta = {{"user.config", "generation " + std::to_string(b)}};
  ASSERT_OK(store.Upsert(points, meta));
  after_each();
  if (b % 2 == 1) {
    std::vector<PointKey> keys = {PointKey::Int(b * 10), StringKey(b * 23 + 5)};
    ASSERT_OK(store.Delete(keys));
    after_each();
    ASSERT_OK(store.SetPayload(keys, R"({"tag":"x"})"));  // deleted keys are ignored: no transaction
    std::vector<PointKey> updated = {PointKey::Int(b * 23 + 10)};
    ASSERT_OK(store.SetPayload(updated, R"({"tag":"y"})"));
    after_each();
  }
}

class StoreCorruptionTest : public testutil::TempDirTest {
 protected:
  // Hundreds of opens, each with a few fsyncs that prove nothing here (this test is about
  // detection, not durability): on tmpfs when there is one, so the test stays fast and leaves
  // the disk to others.
  void SetUp() override {
    TempDirTest::SetUp();
    MoveToTmpfs();
  }

  // Opens the damaged copy in `dir` and reads everything. Passes when that fails with a message
  // naming the file, or succeeds with a snapshot from `allowed`; returns whether it opened.
  bool Check(const std::string& dir, const std::vector<Snapshot>& allowed, const std::string& what) {
    const std::string path = dir + "/store.db";
    Result<Snapshot> snap = [&]() -> Result<Snapshot> {
      StoreOptions options;  // the defaults: full integrity check, WAL verification
      VECDEX_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(path, options));
      return ReadSnapshot(*store);
    }();
    if (!snap.ok()) {
      EXPECT_NE(snap.status().message().find("store.db"), std::string::npos) << what << ": " << snap.status().ToString();
      EXPECT_NE(snap.status().code(), StatusCode::kInternal) << what << ": " << snap.status().ToString();
      return false;
    }
    bool matched = false;
    for (const Snapshot& s : allowed) matched = matched || s == *snap;
    EXPECT_TRUE(matched) << what << ": store opened and served data that was never committed together";
    return true;
  }

  // Copies the files of `source` into a fresh directory, applies `mutate` to the copy of `file`
  // ("store.db" or "store.db-wal"), and checks the result.
  void Mutate(const std::string& source, const std::string& file, const std::vector<Snapshot>& allowed,
              const std::string& what, const std::function<void(std::vector<uint8_t>&)>& mutate) {
    const std::string dir = Path("case");
    fs::remove_all(dir);
    fs::create_directories(dir);
    for (const char* name : {"store.db", "store.db-wal"}) {
      if (fs::exists(source + "/" + name)) fs::copy_file(source + "/" + name, dir + "/" + name);
    }
    std::vector<uint8_t> bytes = testutil::ReadFileBytes(dir + "/" + file);
    mutate(bytes);
    testutil::WriteFileBytes(dir + "/" + file, bytes);
    (Check(dir, allowed, what) ? opened_ : refused_)++;
  }

  // Flips one bit at offsets chosen over the whole file (every byte of the first `dense` bytes,
  // then a stride), and truncates the file to several lengths.
  void Damage(const std::string& source, const std::string& file, const std::vector<Snapshot>& flips_allowed,
              const std::vector<Snapshot>& truncations_allowed, size_t dense, size_t flips) {
    const size_t size = fs::file_size(source + "/" + file);
    ASSERT_GT(size, 0u) << file;
    std::vector<size_t> offsets;
    for (size_t i = 0; i < std::min(dense, size); ++i) offsets.push_back(i);
    const size_t stride = std::max<size_t>(1, size / flips) | 1;  // odd: lands on varied page offsets
    for (size_t i = dense; i < size; i += stride) offsets.push_back(i);
    for (size_t offset : offsets) {
      Mutate(source, file, flips_allowed, file + " bit flip at " + std::to_string(offset),
             [&](std::vector<uint8_t>& b) { b[offset] ^= static_cast<uint8_t>(1u << (offset % 8)); });
    }
    for (size_t length : {size_t{0}, size_t{1}, size_t{31}, size_t{100}, size_t{4096}, size / 3, size / 2,
                          size - 4096 - 24, size - 100, size - 1}) {
      if (length >= size) continue;
      Mutate(source, file, truncations_allowed, file + " truncated to " + std::to_string(length),
             [&](std::vector<uint8_t>& b) { b.resize(length); });
    }
  }

  size_t opened_ = 0;
  size_t refused_ = 0;
};

TEST_F(StoreCorruptionTest, DamagedDatabaseFileIsRefusedOrHarmless) {
  const std::string source = Path("source");
  fs::create_directories(source);
  Snapshot truth;
  {
    auto store = Store::Open(source + "/store.db", testing::CreateOptions(kDim));
    ASSERT_OK(store);
    for (uint64_t b = 0; b < 6; ++b) WriteBatch(**store, b);
    ASSERT_OK((*store)->TruncateChangesUpTo(30));
    auto snap = ReadSnapshot(**store);
    ASSERT_OK(snap);
    truth = *snap;
  }  // closed cleanly: everything is in store.db, the WAL is gone
  ASSERT_FALSE(fs::exists(source + "/store.db-wal"));
  Damage(source, "store.db", {truth}, {truth}, /*dense=*/100, /*flips=*/400);
  std::printf("[ info     ] store.db: %zu damaged copies refused, %zu opened with intact data\n", refused_, opened_);
  EXPECT_GT(refused_, 0u);
}

TEST_F(StoreCorruptionTest, DamagedWalIsRefusedOrHarmless) {
  const std::string source = Path("source");
  fs::create_directories(source);
  std::vector<Snapshot> history;  // the state after each committed transaction of the WAL phase
  std::unique_ptr<Store> store;
  {
    auto opened = Store::Open(source + "/store.db", testing::CreateOptions(kDim));
    ASSERT_OK(opened);
    store = std::move(opened).value();
  }
  const auto record = [&] {
    auto snap = ReadSnapshot(*store);
    ASSERT_OK(snap);
    history.push_back(*snap);
  };
  for (uint64_t b = 0; b < 3; ++b) WriteBatch(*store, b);
  ASSERT_OK(store->Checkpoint());  // the first batches live in store.db, the rest only in the WAL
  record();
  for (uint64_t b = 3; b < 7; ++b) WriteBatch(*store, b, record);
  // Copy while open, as a crash would leave it: the WAL holds committed transactions.
  const std::string frozen = Path("frozen");
  fs::create_directories(frozen);
  fs::copy_file(source + "/store.db", frozen + "/store.db");
  fs::copy_file(source + "/store.db-wal", frozen + "/store.db-wal");
  store.reset();
  const std::vector<Snapshot> final_state = {history.back()};
  Mutate(frozen, "store.db-wal", final_state, "undamaged copy", [](std::vector<uint8_t>&) {});
  ASSERT_EQ(opened_, 1u);
  opened_ = 0;

  // A WAL cut short is what a crash before its last transactions would leave: SQLite cannot tell
  // the two apart, so any committed state of the WAL phase is acceptable, but nothing in between.
  // A damaged last transaction is indistinguishable from a process killed while committing it
  // (see CheckWalFile), so a flip there may cost that one transaction, and nothing else.
  const std::vector<Snapshot> final_or_previous = {history.back(), history[history.size() - 2]};
  Damage(frozen, "store.db-wal", final_or_previous, history, /*dense=*/32, /*flips=*/250);
  const size_t wal_refused = refused_;
  Damage(frozen, "store.db", final_state, final_state, /*dense=*/100, /*flips=*/150);
  std::printf("[ info     ] store.db-wal: %zu refused; with the WAL present, store.db: %zu refused; %zu opened intact\n",
              wal_refused, refused_ - wal_refused, opened_);
}

}  // namespace
}  // namespace vecdex::store
