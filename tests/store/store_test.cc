// Store round trips, validation, ordering, ids, the change log and persistence.
#include "store/store.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite.h"
#include "store/store_test_util.h"
#include "testutil/temp_dir.h"
#include "testutil/test_util.h"

namespace vecdex::store {
namespace {

using testing::CreateOptions;
using testing::MakePoint;
using testing::ReadAll;
using testing::VectorFor;

constexpr size_t kDim = 4;

class StoreTest : public testutil::TempDirTest {
 protected:
  std::unique_ptr<Store> OpenNew(size_t dim = kDim) {
    auto store = Store::Open(Path("store.db"), CreateOptions(dim));
    EXPECT_OK(store);
    return store.ok() ? std::move(store).value() : nullptr;
  }
  std::unique_ptr<Store> Reopen(size_t dim = 0) {
    StoreOptions options;
    options.dim = dim;
    auto store = Store::Open(Path("store.db"), options);
    EXPECT_OK(store);
    return store.ok() ? std::move(store).value() : nullptr;
  }
};

TEST_F(StoreTest, PointKeyOrderAndValidation) {
  EXPECT_LT(PointKey::Int(5), PointKey::Int(6));
  EXPECT_LT(PointKey::Int(std::numeric_limits<uint64_t>::max()), PointKey::String("0"));
  EXPECT_LT(PointKey::String("a"), PointKey::String("b"));
  EXPECT_LT(PointKey::String("Z"), PointKey::String("a"));
  EXPECT_LT(PointKey::String("a"), PointKey::String("\xc3\xa9"));  // bytes compare unsigned
  EXPECT_OK(ValidatePointKey(PointKey::Int(0)));
  EXPECT_OK(ValidatePointKey(PointKey::String("6f1c3b2e-8d4a-4f5e-9c1b-2a3d4e5f6a7b")));
  EXPECT_OK(ValidatePointKey(PointKey::String(std::string(kMaxStringKeyBytes, 'k'))));
  EXPECT_STATUS(ValidatePointKey(PointKey::String("")), StatusCode::kInvalidArgument);
  EXPECT_STATUS(ValidatePointKey(PointKey::String(std::string(kMaxStringKeyBytes + 1, 'k'))),
                StatusCode::kInvalidArgument);
  EXPECT_STATUS(ValidatePointKey(PointKey::String(std::string("a\0b", 3))), StatusCode::kInvalidArgument);
  EXPECT_STATUS(ValidatePointKey(PointKey::String("\xff")), StatusCode::kInvalidArgument);
  EXPECT_STATUS(ValidatePointKey(PointKey::String("\xed\xa0\x80")), StatusCode::kInvalidArgument);  // surrogate
  EXPECT_EQ(PointKeyToString(PointKey::Int(42)), "42");
  EXPECT_EQ(PointKeyToString(PointKey::String("a\"b\n")), "\"a\\\"b\\x0a\"");
}

TEST_F(StoreTest, OpenRequiresCreateAndDimension) {
  EXPECT_STATUS(Store::Open(Path("missing.db"), StoreOptions{}), StatusCode::kNotFound);
  StoreOptions no_dim;
  no_dim.create = true;
  EXPECT_STATUS(Store::Open(Path("nodim.db"), no_dim), StatusCode::kInvalidArgument);
  // Leftovers of a creation that crashed are not a store, and do not stop the next creation.
  WriteBytes("store.db.creating", {1, 2, 3});
  WriteBytes("store.db.creating-wal", {4, 5, 6});
  EXPECT_STATUS(Store::Open(Path("store.db"), StoreOptions{}), StatusCode::kNotFound);
  { ASSERT_NE(OpenNew(), nullptr); }
  EXPECT_FALSE(std::filesystem::exists(Path("store.db.creating")));
  StoreOptions wrong;
  wrong.dim = kDim + 1;
  auto st = Store::Open(Path("store.db"), wrong);
  EXPECT_STATUS(st, StatusCode::kFailedPrecondition);
  EXPECT_NE(st.status().message().find("store.db"), std::string::npos);
  auto ok = Reopen(kDim);
  ASSERT_NE(ok, nullptr);
  EXPECT_EQ(ok->dim(), kDim);
}

TEST_F(StoreTest, OneStorePerFile) {
  auto first = OpenNew();
  ASSERT_NE(first, nullptr);
  auto second = Store::Open(Path("store.db"), StoreOptions{});
  EXPECT_STATUS(second, StatusCode::kUnavailable);
  // The failed open must not disturb the first store (it keeps its SQLite locks and writes on).
  std::vector<Point> batch = {MakePoint(PointKey::Int(1), 0, kDim)};
  ASSERT_OK(first->Upsert(batch));
  first.reset();
  auto again = Reopen();
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->LastSequence(), 1u);
}

TEST_F(StoreTest, UpsertGetRoundTrip) {
  auto store = OpenNew();
  std::vector<Point> batch = {MakePoint(PointKey::Int(7), 0, kDim, R"({"color": "red", "n": 1})"),
                              MakePoint(PointKey::String("alpha"), 0, kDim),
                              MakePoint(PointKey::Int(3), 0, kDim, "{}")};
  auto written = store->Upsert(batch);
  ASSERT_OK(written);
  EXPECT_EQ(written->first_sequence, 1u);
  EXPECT_EQ(written->last_sequence, 3u);
  EXPECT_EQ(written->ids, (std::vector<Label>{1, 2, 3}));
  EXPECT_EQ(store->LastSequence(), 3u);
  EXPECT_EQ(store->DurableSequence(), 3u);
  EXPECT_EQ(*store->Count(), 3u);

  std::vector<PointKey> keys = {PointKey::String("alpha"), PointKey::Int(99), PointKey::Int(7)};
  auto got = store->Get(keys, true, true);
  ASSERT_OK(got);
  ASSERT_EQ(got->size(), 2u);  // 99 is missing
  EXPECT_EQ((*got)[0].key, PointKey::String("alpha"));
  EXPECT_EQ((*got)[0].id, 2u);
  EXPECT_EQ((*got)[0].vector, VectorFor(PointKey::String("alpha"), 0, kDim));
  EXPECT_EQ((*got)[0].payload_json, "");
  EXPECT_EQ((*got)[1].payload_json, R"({"color":"red","n":1})");  // stored compact
  EXPECT_EQ((*got)[1].sequence, 1u);

  auto bare = store->Get(keys, false, false);
  ASSERT_OK(bare);
  EXPECT_TRUE((*bare)[1].vector.empty());
  EXPECT_TRUE((*bare)[1].payload_json.empty());

  std::vector<Label> ids = {3, 1000, 1};
  auto by_id = store->GetById(ids, true, false);
  ASSERT_OK(by_id);
  ASSERT_EQ(by_id->size(), 2u);
  EXPECT_EQ((*by_id)[0].key, PointKey::Int(3));
  EXPECT_EQ((*by_id)[1].key, PointKey::Int(7));
}

TEST_F(StoreTest, ReplaceKeepsIdDeleteAndReinsertGetsNewId) {
  auto store = OpenNew();
  std::vector<Point> first = {MakePoint(PointKey::Int(1), 0, kDim, R"({"a":1})"), MakePoint(PointKey::Int(2), 0, kDim)};
  ASSERT_OK(store->Upsert(first));
  std::vector<Point> replace = {MakePoint(PointKey::Int(1), 5, kDim)};
  auto r = store->Upsert(replace);
  ASSERT_OK(r);
  EXPECT_EQ(r->ids, std::vector<Label>{1});
  EXPECT_EQ(*store->Count(), 2u);
  std::vector<PointKey> one = {PointKey::Int(1)};
  auto got = store->Get(one, true, true);
  ASSERT_OK(got);
  EXPECT_EQ((*got)[0].vector, VectorFor(PointKey::Int(1), 5, kDim));
  EXPECT_EQ((*got)[0].payload_json, "");  // the upsert replaced the payload too

  std::vector<PointKey> del = {PointKey::Int(1), PointKey::Int(404)};
  auto d = store->Delete(del);
  ASSERT_OK(d);
  EXPECT_EQ(d->ids, std::vector<Label>{1});
  EXPECT_EQ(d->first_sequence, 4u);
  EXPECT_EQ(d->last_sequence, 4u);
  EXPECT_EQ(*store->Count(), 1u);
  auto gone = store->Get(one, false, false);
  ASSERT_OK(gone);
  EXPECT_TRUE(gone->empty());

  auto again = store->Upsert(replace);
  ASSERT_OK(again);
  EXPECT_EQ(again->ids, std::vector<Label>{3});  // ids are never reused

  std::vector<PointKey> missing = {PointKey::Int(404)};
  auto nothing = store->Delete(missing);
  ASSERT_OK(nothing);
  EXPECT_TRUE(nothing->ids.empty());
  EXPECT_EQ(nothing->first_sequence, 0u);
  EXPECT_EQ(store->LastSequence(), 5u);
}

TEST_F(StoreTest, InvalidBatchesChangeNothing) {
  auto store = OpenNew();
  std::vector<Point> good = {MakePoint(PointKey::Int(1), 0, kDim)};
  ASSERT_OK(store->Upsert(good));
  const uint64_t seq = store->LastSequence();

  const auto expect_rejected = [&](std::vector<Point> batch, const char* what) {
    SCOPED_TRACE(what);
    auto r = store->Upsert(batch);
    EXPECT_STATUS(r, StatusCode::kInvalidArgument);
    EXPECT_EQ(store->LastSequence(), seq) << what;
    EXPECT_EQ(*store->Count(), 1u) << what;
  };
  std::vector<Point> wrong_dim = {MakePoint(PointKey::Int(2), 0, kDim), MakePoint(PointKey::Int(3), 0, kDim + 1)};
  expect_rejected(wrong_dim, "dimension");
  std::vector<Point> nan = {MakePoint(PointKey::Int(2), 0, kDim), MakePoint(PointKey::Int(3), 0, kDim)};
  nan[1].vector[2] = std::nanf("");
  expect_rejected(nan, "nan");
  nan[1].vector[2] = std::numeric_limits<float>::infinity();
  expect_rejected(nan, "inf");
  expect_rejected({Point{PointKey::Int(2), {}, ""}}, "empty vector");
  expect_rejected({MakePoint(PointKey::Int(2), 0, kDim), MakePoint(PointKey::String(""), 0, kDim)}, "empty key");
  expect_rejected({MakePoint(PointKey::Int(2), 0, kDim), MakePoint(PointKey::Int(2), 1, kDim)}, "duplicate");
  expect_rejected({MakePoint(PointKey::Int(2), 0, kDim, "[1,2]")}, "payload array");
  expect_rejected({MakePoint(PointKey::Int(2), 0, kDim, R"({"a": )")}, "payload syntax");
  expect_rejected({MakePoint(PointKey::Int(2), 0, kDim, "{\"a\": \"\xff\"}")}, "payload invalid UTF-8");
  expect_rejected({}, "empty batch");

  auto bad_json = store->Upsert(std::vector<Point>{MakePoint(PointKey::Int(2), 0, kDim, R"({"a" 1})")});
  EXPECT_NE(bad_json.status().message().find("at byte"), std::string::npos) << bad_json.status().ToString();

  std::vector<MetaEntry> reserved = {{"vecdex.dim", "9"}};
  EXPECT_STATUS(store->Upsert(good, reserved), StatusCode::kInvalidArgument);
  EXPECT_STATUS(store->PutMeta(reserved), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->LastSequence(), seq);
  std::vector<PointKey> bad_keys = {PointKey::Int(1), PointKey::String(std::string(300, 'x'))};
  EXPECT_STATUS(store->Delete(bad_keys), StatusCode::kInvalidArgument);
  EXPECT_EQ(*store->Count(), 1u);
  EXPECT_STATUS(store->SetPayload(bad_keys, R"({"a":1})"), StatusCode::kInvalidArgument);
  std::vector<PointKey> ok_keys = {PointKey::Int(1)};
  EXPECT_STATUS(store->SetPayload(ok_keys, "not json"), StatusCode::kInvalidArgument);
  EXPECT_STATUS(store->SetPayload(ok_keys, ""), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->LastSequence(), seq);
}

TEST_F(StoreTest, ScrollOrdersIntsThenStringsAcrossPages) {
  auto store = OpenNew();
  const uint64_t big = uint64_t{1} << 63;
  std::vector<PointKey> keys = {PointKey::String("b"), PointKey::Int(big + 5), PointKey::Int(10),
                                PointKey::String("\xc3\xa9t\xc3\xa9"), PointKey::Int(0),
                                PointKey::Int(std::numeric_limits<uint64_t>::max()), PointKey::String("B"),
                                PointKey::Int(big - 1), PointKey::Int(big), PointKey::String("aa"),
                                PointKey::String("a"), PointKey::Int(3)};
  std::vector<Point> batch;
  for (const PointKey& k : keys) batch.push_back(MakePoint(k, 1, kDim));
  ASSERT_OK(store->Upsert(batch));
  std::vector<PointKey> expected = keys;
  std::sort(expected.begin(), expected.end());

  for (size_t page : {1, 2, 3, 5, 12, 100}) {
    std::vector<PointKey> seen;
    std::optional<PointKey> start;
    size_t pages = 0;
    while (true) {
      auto p = store->Scroll(start, page, false, false);
      ASSERT_OK(p);
      ++pages;
      ASSERT_LE(p->points.size(), page);
      for (const StoredPoint& sp : p->points) seen.push_back(sp.key);
      if (!p->next.has_value()) break;
      EXPECT_EQ(*p->next, p->points.back().key);
      start = p->next;
    }
    EXPECT_EQ(seen, expected) << "page size " << page;
    EXPECT_EQ(pages, (keys.size() + page - 1) / page) << "page size " << page;
  }
  // Starting after a key that does not exist starts at the next one.
  auto from = store->Scroll(PointKey::Int(4), 2, false, false);
  ASSERT_OK(from);
  ASSERT_EQ(from->points.size(), 2u);
  EXPECT_EQ(from->points[0].key, PointKey::Int(10));
  auto last = store->Scroll(PointKey::String("\xc3\xa9t\xc3\xa9"), 5, false, false);
  ASSERT_OK(last);
  EXPECT_TRUE(last->points.empty());
  EXPECT_FALSE(last->next.has_value());
  EXPECT_STATUS(store->Scroll(std::nullopt, 0, false, false), StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, PayloadSetOverwriteClear) {
  auto store = OpenNew();
  std::vector<Point> batch = {MakePoint(PointKey::Int(1), 0, kDim, R"({"a":1,"b":{"x":1}})"),
                              MakePoint(PointKey::Int(2), 0, kDim)};
  ASSERT_OK(store->Upsert(batch));
  std::vector<PointKey> keys = {PointKey::Int(1), PointKey::Int(2), PointKey::Int(3)};
  auto set = store->SetPayload(keys, R"({"b":{"y":2},"c":"z"})");
  ASSERT_OK(set);
  EXPECT_EQ(set->ids, (std::vector<Label>{1, 2}));
  EXPECT_EQ(set->first_sequence, 3u);
  EXPECT_EQ(set->last_sequence, 4u);
  auto got = store->Get(keys, true, true);
  ASSERT_OK(got);
  EXPECT_EQ((*got)[0].payload_json, R"({"a":1,"b":{"y":2},"c":"z"})");  // top-level merge
  EXPECT_EQ((*got)[1].payload_json, R"({"b":{"y":2},"c":"z"})");
  EXPECT_EQ((*got)[0].vector, VectorFor(PointKey::Int(1), 0, kDim));  // vector untouched

  std::vector<PointKey> one = {PointKey::Int(1)};
  ASSERT_OK(store->OverwritePayload(one, R"({"only":true})"));
  got = store->Get(one, false, true);
  ASSERT_OK(got);
  EXPECT_EQ((*got)[0].payload_json, R"({"only":true})");
  ASSERT_OK(store->ClearPayload(one));
  got = store->Get(one, false, true);
  ASSERT_OK(got);
  EXPECT_EQ((*got)[0].payload_json, "");

  std::vector<Change> changes;
  ASSERT_OK(store->ForEachChange(2, [&](const Change& c) {
    changes.push_back(c);
    return Status::Ok();
  }));
  ASSERT_EQ(changes.size(), 4u);
  for (const Change& c : changes) EXPECT_EQ(c.op, ChangeOp::kPayload);
}

TEST_F(StoreTest, ChangeLogOrderTruncationAndReopen) {
  {
    auto store = OpenNew();
    for (uint64_t b = 0; b < 5; ++b) {
      std::vector<Point> batch = {MakePoint(PointKey::Int(b), b, kDim), MakePoint(PointKey::Int(b + 100), b, kDim)};
      ASSERT_OK(store->Upsert(batch));
    }
    std::vector<PointKey> del = {PointKey::Int(0)};
    ASSERT_OK(store->Delete(del));
    EXPECT_EQ(store->LastSequence(), 11u);
    std::vector<Change> all;
    ASSERT_OK(store->ForEachChange(0, [&](const Change& c) {
      all.push_back(c);
      return Status::Ok();
    }));
    ASSERT_EQ(all.size(), 11u);
    for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].sequence, i + 1);
    EXPECT_EQ(all[10].op, ChangeOp::kDelete);
    EXPECT_EQ(all[10].id, 1u);

    EXPECT_STATUS(store->TruncateChangesUpTo(12), StatusCode::kInvalidArgument);
    ASSERT_OK(store->TruncateChangesUpTo(6));
    EXPECT_STATUS(store->ForEachChange(3, [](const Change&) { return Status::Ok(); }),
                  StatusCode::kFailedPrecondition);
    size_t tail = 0;
    ASSERT_OK(store->ForEachChange(6, [&](const Change& c) {
      EXPECT_EQ(c.sequence, 7 + tail++);
      return Status::Ok();
    }));
    EXPECT_EQ(tail, 5u);
    // A callback error stops the scan and comes back.
    EXPECT_STATUS(store->ForEachChange(6, [](const Change&) { return Status::Internal("stop"); }),
                  StatusCode::kInternal);
    ASSERT_OK(store->TruncateChangesUpTo(11));  // everything: sequences must still continue
    std::vector<MetaEntry> meta = {{"index.generation", "7"}};
    ASSERT_OK(store->PutMeta(meta));
  }
  auto store = Reopen(kDim);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->LastSequence(), 11u);
  EXPECT_EQ(*store->Count(), 9u);
  EXPECT_EQ(*store->GetMeta("index.generation"), "7");
  EXPECT_STATUS(store->GetMeta("nope"), StatusCode::kNotFound);
  std::vector<MetaEntry> meta = {{"index.generation", "8"}};
  std::vector<Point> batch = {MakePoint(PointKey::String("new"), 0, kDim)};
  auto r = store->Upsert(batch, meta);
  ASSERT_OK(r);
  EXPECT_EQ(r->first_sequence, 12u);
  EXPECT_EQ(r->ids, std::vector<Label>{11});
  EXPECT_EQ(*store->GetMeta("index.generation"), "8");
  size_t seen = 0;
  ASSERT_OK(store->ForEachChange(11, [&](const Change& c) {
    EXPECT_EQ(c.sequence, 12u);
    ++seen;
    return Status::Ok();
  }));
  EXPECT_EQ(seen, 1u);

  auto all = ReadAll(*store, 4);
  ASSERT_OK(all);
  EXPECT_EQ(all->size(), 10u);
  for (const auto& [key, p] : *all) {
    const uint64_t version = key.is_int() ? key.int_value() % 100 : 0;
    EXPECT_EQ(p.vector, VectorFor(key, version, kDim)) << PointKeyToString(key);
  }
  size_t streamed = 0;
  Label previous = 0;
  ASSERT_OK(store->ForEachPoint([&](Label id, const PointKey&, std::span<const float> v) {
    EXPECT_GT(id, previous);
    previous = id;
    EXPECT_EQ(v.size(), kDim);
    ++streamed;
    return Status::Ok();
  }));
  EXPECT_EQ(streamed, 10u);
  auto sizes = store->FileSizes();
  ASSERT_OK(sizes);
  EXPECT_GT(sizes->database_bytes, 0u);
}

TEST_F(StoreTest, IntervalSyncPolicy) {
  StoreOptions options = CreateOptions(kDim, SyncPolicy::kInterval);
  options.sync_interval_ms = 5;
  {
    auto opened = Store::Open(Path("store.db"), options);
    ASSERT_OK(opened);
    auto store = std::move(opened).value();
    std::vector<Point> batch = {MakePoint(PointKey::Int(1), 0, kDim)};
    ASSERT_OK(store->Upsert(batch));
    ASSERT_OK(store->Sync());
    EXPECT_EQ(store->DurableSequence(), 1u);
    for (uint64_t i = 2; i < 50; ++i) {
      std::vector<Point> b = {MakePoint(PointKey::Int(i), 0, kDim)};
      ASSERT_OK(store->Upsert(b));
    }
    // The background thread catches up within an interval; WaitDurable waits for it.
    ASSERT_OK(store->WaitDurable(49));
    EXPECT_EQ(store->DurableSequence(), 49u);
    EXPECT_STATUS(store->WaitDurable(50), StatusCode::kInvalidArgument);
    // Group commit: concurrent writers each wait for durability and share the fsyncs.
    std::vector<std::thread> writers;
    for (uint64_t t = 0; t < 4; ++t) {
      writers.emplace_back([&, t] {
        for (uint64_t i = 0; i < 10; ++i) {
          std::vector<Point> b = {MakePoint(PointKey::Int(1000 + t * 100 + i), 0, kDim)};
          auto r = store->Upsert(b);
          ASSERT_OK(r);
          ASSERT_OK(store->WaitDurable(r->last_sequence));
          EXPECT_GE(store->DurableSequence(), r->last_sequence);
        }
      });
    }
    for (std::thread& w : writers) w.join();
    EXPECT_EQ(store->DurableSequence(), 89u);
    ASSERT_OK(store->Checkpoint());
  }
  options.create = false;
  auto reopened = Store::Open(Path("store.db"), options);
  ASSERT_OK(reopened);
  EXPECT_EQ((*reopened)->LastSequence(), 89u);
  EXPECT_EQ(*(*reopened)->Count(), 89u);
  options.sync_interval_ms = 0;
  EXPECT_STATUS(Store::Open(Path("store.db"), options), StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, ForeignAndNewerFilesAreRefused) {
  {
    auto conn = Connection::Open(Path("other.db"), true, "other.db");
    ASSERT_OK(conn);
    ASSERT_OK((*conn)->Exec("CREATE TABLE t(x); INSERT INTO t VALUES(1);"));
  }
  auto foreign = Store::Open(Path("other.db"), StoreOptions{});
  EXPECT_STATUS(foreign, StatusCode::kCorruption);
  EXPECT_NE(foreign.status().message().find("other.db"), std::string::npos);
  { ASSERT_NE(OpenNew(), nullptr); }
  {
    auto conn = Connection::Open(Path("store.db"), false, "store.db");
    ASSERT_OK(conn);
    ASSERT_OK((*conn)->Exec("PRAGMA user_version=99"));
  }
  auto newer = Store::Open(Path("store.db"), StoreOptions{});
  EXPECT_STATUS(newer, StatusCode::kFailedPrecondition);
  EXPECT_NE(newer.status().message().find("99"), std::string::npos);
}

// Damage SQLite cannot see (well-formed pages, wrong content), made with SQL behind the store's
// back: each layer of checking must name the file and what is wrong.
TEST_F(StoreTest, TamperedRowsAreReportedNotServed) {
  {
    auto store = OpenNew();
    std::vector<Point> batch = {MakePoint(PointKey::Int(1), 0, kDim), MakePoint(PointKey::String("two"), 0, kDim),
                                MakePoint(PointKey::Int(3), 0, kDim)};
    ASSERT_OK(store->Upsert(batch));
  }
  const auto tamper = [&](const std::string& sql) {
    auto conn = Connection::Open(Path("store.db"), false, "store.db");
    ASSERT_OK(conn);
    ASSERT_OK((*conn)->Exec(sql));
  };
  const auto expect_corruption = [](const Status& st, const std::string& needle) {
    EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.ToString();
    EXPECT_NE(st.message().find("store.db"), std::string::npos) << st.ToString();
    EXPECT_NE(st.message().find(needle), std::string::npos) << st.ToString();
  };
  std::vector<PointKey> keys = {PointKey::Int(1)};
  std::vector<PointKey> two = {PointKey::String("two")};

  // A vector changed in place (same size): only the row checksum can tell.
  tamper("UPDATE points SET vector = zeroblob(16) WHERE id = 1");
  {
    auto store = Reopen();
    ASSERT_NE(store, nullptr);
    expect_corruption(store->Get(keys, true, true).status(), "point id 1: row checksum mismatch");
    expect_corruption(store->ForEachPoint([](Label, const PointKey&, std::span<const float>) { return Status::Ok(); }),
                      "point id 1");
    // Payload updates verify before they re-checksum, so damage is not laundered.
    expect_corruption(store->SetPayload(keys, R"({"a":1})").status(), "point id 1");
    auto others = store->Get(two, true, false);  // undamaged rows stay readable
    ASSERT_OK(others);
    EXPECT_EQ(others->size(), 1u);
  }
  tamper("UPDATE points SET vector = zeroblob(12) WHERE id = 2");
  {
    auto store = Reopen();
    expect_corruption(store->Get(two, true, false).status(), "vector has 12 bytes, expected 16");
  }
  // A hole in the change log, and an operation code changed.
  tamper("DELETE FROM changes WHERE seq = 2");
  {
    auto store = Reopen();
    expect_corruption(store->ForEachChange(0, [](const Change&) { return Status::Ok(); }), "jumps from sequence 1 to 3");
  }
  tamper("UPDATE changes SET op = 2 WHERE seq = 3");
  {
    auto store = Reopen();
    expect_corruption(store->ForEachChange(2, [](const Change&) { return Status::Ok(); }), "change 3 is damaged");
  }
  // Counters behind the tables would reuse sequences: refused at open.
  tamper("UPDATE meta SET value = CAST('2' AS BLOB) WHERE key = 'vecdex.next_sequence'");
  auto reopened = Store::Open(Path("store.db"), StoreOptions{});
  expect_corruption(reopened.status(), "meta entry 'vecdex.next_sequence' fails its checksum");
}

}  // namespace
}  // namespace vecdex::store
