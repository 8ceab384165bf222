// Points in a collection: upsert (insert and replace), delete, get, count, scroll in key order,
// payload updates, key rules; for every index kind, because each write must reach the index too.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "db/db_test_util.h"

namespace vecdex::dbtest {
namespace {

constexpr size_t kDim = 12;

class CollectionTest : public DbTest, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    auto db = Database::Open(DbDir(), Options());
    ASSERT_OK(db);
    db_ = std::move(db).value();
    auto c = db_->CreateCollection("points", Config(kDim, Metric::kCosine, GetParam()));
    ASSERT_OK(c);
    c_ = std::move(c).value();
  }
  void TearDown() override {
    c_.reset();
    db_.reset();
    DbTest::TearDown();
  }

  bool exact() const { return GetParam() == "flat"; }
  uint64_t LastSequence() {
    auto info = c_->Info();
    EXPECT_SUCCESS(info);
    return info.ok() ? info->last_sequence : 0;
  }
  // Upserts `points` and records them in model_.
  void Put(const std::vector<Point>& points) {
    auto r = c_->Upsert(points);
    ASSERT_OK(r);
    EXPECT_EQ(r->changed, points.size());
    ApplyUpserts(model_, points);
  }

  std::unique_ptr<Database> db_;
  std::shared_ptr<Collection> c_;
  Model model_;
};

std::vector<Point> MixedPoints(uint64_t first, uint64_t n, uint64_t version) {
  std::vector<Point> points;
  for (uint64_t i = first; i < first + n; ++i) {
    PointKey key = i % 3 == 0 ? StrKey("s-" + std::to_string(i)) : IntKey(i);
    std::string payload = i % 2 == 0 ? R"({"i":)" + std::to_string(i) + R"(,"tag":"t)" + std::to_string(i % 5) + R"("})" : "";
    points.push_back(MakePoint(std::move(key), version, kDim, std::move(payload)));
  }
  return points;
}

TEST_P(CollectionTest, UpsertThenGetReturnsExactlyWhatWasWritten) {
  const std::vector<Point> points = MixedPoints(0, 60, 1);
  auto r = c_->Upsert(points);
  ASSERT_OK(r);
  EXPECT_EQ(r->changed, 60u);
  EXPECT_EQ(r->sequence, 60u) << "a new collection's first batch takes sequences 1..60";
  EXPECT_EQ(LastSequence(), r->sequence);
  ApplyUpserts(model_, points);
  EXPECT_TRUE(Holds(*c_, model_));

  // Asked order, missing keys skipped, flags honoured; cosine vectors come back as written.
  const std::vector<PointKey> ask = {points[7].key, IntKey(999999), points[3].key, StrKey("absent"), points[0].key};
  ASSERT_OK_AND_ASSIGN(auto full, c_->Get(ask, true, true));
  ASSERT_EQ(full.size(), 3u);
  const size_t want[] = {7, 3, 0};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(full[i].key, points[want[i]].key);
    EXPECT_EQ(full[i].vector, points[want[i]].vector);
    EXPECT_TRUE(SameJson(full[i].payload_json, points[want[i]].payload_json)) << full[i].payload_json;
  }
  ASSERT_OK_AND_ASSIGN(auto bare, c_->Get(ask, false, false));
  ASSERT_EQ(bare.size(), 3u);
  for (const PointRecord& p : bare) EXPECT_TRUE(p.vector.empty() && p.payload_json.empty());
  ASSERT_OK_AND_ASSIGN(auto payload_only, c_->Get(ask, false, true));
  ASSERT_EQ(payload_only.size(), 3u);
  EXPECT_TRUE(payload_only[0].vector.empty());
  EXPECT_TRUE(SameJson(payload_only[2].payload_json, points[0].payload_json));
  ASSERT_OK_AND_ASSIGN(auto vector_only, c_->Get(ask, true, false));
  ASSERT_EQ(vector_only.size(), 3u);
  EXPECT_EQ(vector_only[1].vector, points[3].vector);
  EXPECT_TRUE(vector_only[2].payload_json.empty());
  ASSERT_OK_AND_ASSIGN(auto none, c_->Get(std::vector<PointKey>{IntKey(424242)}, true, true));
  EXPECT_TRUE(none.empty());

  for (const Point& p : points) EXPECT_TRUE(IndexFinds(*c_, p.key, p.vector, true, exact()));
  ASSERT_OK_AND_ASSIGN(CollectionInfo info, c_->Info());
  EXPECT_EQ(info.points, 60u);
  EXPECT_EQ(info.indexed, 60u);
  EXPECT_EQ(info.indexed_sequence, info.last_sequence);
}

TEST_P(CollectionTest, UpsertReplacesVectorAndPayloadOfExistingKey) {
  Put(MixedPoints(0, 40, 1));
  const PointKey key = IntKey(1);
  const Point v2 = MakePoint(key, 2, kDim, R"({"version":2})");
  // A batch mixing a replacement and a new key.
  const Point fresh = MakePoint(IntKey(5000), 1, kDim, R"({"new":true})");
  auto r = c_->Upsert(std::vector<Point>{v2, fresh});
  ASSERT_OK(r);
  EXPECT_EQ(r->changed, 2u);
  ApplyUpserts(model_, {v2, fresh});
  EXPECT_TRUE(Holds(*c_, model_));
  EXPECT_EQ(*c_->Count(), 41u);

  // The index holds the new vector only: the old one is not found near itself any more.
  EXPECT_TRUE(IndexFinds(*c_, key, v2.vector, true, exact()));
  const std::vector<float> v1 = VectorFor(key, 1, kDim);
  SearchRequest request;
  request.k = 41;
  ASSERT_OK_AND_ASSIGN(auto hits, c_->Search(v1, request));
  EXPECT_EQ(std::count_if(hits.begin(), hits.end(), [&](const ScoredPoint& h) { return h.key == key; }), 1)
      << "a replaced point is returned exactly once";
  for (const ScoredPoint& h : hits) {
    if (h.key == key) {
      EXPECT_NEAR(h.distance, testutil::ReferenceDistance(Metric::kCosine, v1.data(), v2.vector.data(), kDim), 0.02)
          << "the distance is to the new vector";
    }
  }

  // Replacing without a payload clears it.
  const Point v3 = MakePoint(key, 3, kDim);
  ASSERT_OK(c_->Upsert(std::vector<Point>{v3}));
  ApplyUpserts(model_, {v3});
  EXPECT_TRUE(Holds(*c_, model_));
  ASSERT_OK_AND_ASSIGN(CollectionInfo info, c_->Info());
  EXPECT_EQ(info.indexed, 41u);
  EXPECT_VERIFIED(*c_);
}

TEST_P(CollectionTest, InvalidUpsertIsRejectedAndChangesNothing) {
  Put(MixedPoints(0, 20, 1));
  const uint64_t sequence = LastSequence();
  const Point good = MakePoint(IntKey(777), 1, kDim, R"({"ok":1})");
  const Point existing = MakePoint(IntKey(1), 9, kDim, R"({"changed":1})");
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  struct Case {
    std::string what;
    Point bad;
    bool invalid_alone = true;  // also rejected as a batch of its own
  };
  std::vector<Case> cases = {
      {"dimension - 1", Point{IntKey(900), std::vector<float>(kDim - 1, 1.0f), ""}},
      {"dimension + 1", Point{IntKey(900), std::vector<float>(kDim + 1, 1.0f), ""}},
      {"empty vector", Point{IntKey(900), {}, ""}},
      {"NaN", Point{IntKey(900), std::vector<float>(kDim, nan), ""}},
      {"+Inf", Point{IntKey(900), std::vector<float>(kDim, inf), ""}},
      {"-Inf", Point{IntKey(900), std::vector<float>(kDim, -inf), ""}},
      {"payload array", MakePoint(IntKey(900), 1, kDim, "[1,2]")},
      {"payload number", MakePoint(IntKey(900), 1, kDim, "3")},
      {"payload not JSON", MakePoint(IntKey(900), 1, kDim, "{nope")},
      {"payload with trailing garbage", MakePoint(IntKey(900), 1, kDim, R"({"a":1} x)")},
      {"empty string key", MakePoint(StrKey(""), 1, kDim)},
      {"257-byte key", MakePoint(StrKey(std::string(257, 'k')), 1, kDim)},
      {"invalid UTF-8 key", MakePoint(StrKey("bad\xff"), 1, kDim)},
      {"key with NUL", MakePoint(PointKey::String(std::string("a\0b", 3)), 1, kDim)},
      {"a key twice", good, false},
  };
  cases.back().bad.vector = VectorFor(good.key, 5, kDim);
  cases[3].bad.vector.assign(kDim, 1.0f);  // a single NaN component is enough
  cases[3].bad.vector.back() = nan;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    EXPECT_CODE(c_->Upsert(std::vector<Point>{good, existing, c.bad}), StatusCode::kInvalidArgument);
    if (c.invalid_alone) {
      EXPECT_CODE(c_->Upsert(std::vector<Point>{c.bad}), StatusCode::kInvalidArgument);
    }
    EXPECT_EQ(LastSequence(), sequence);
  }
  EXPECT_CODE(c_->Upsert(std::span<const Point>()), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Holds(*c_, model_)) << "neither the new key nor the replacement was written";
  EXPECT_TRUE(IndexLacks(*c_, {good.key, IntKey(900)}, kDim));
  EXPECT_TRUE(IndexFinds(*c_, IntKey(1), model_[IntKey(1)].vector, true, exact())) << "old vector still indexed";
  ASSERT_OK_AND_ASSIGN(CollectionInfo info, c_->Info());
  EXPECT_EQ(info.indexed, model_.size());
  EXPECT_EQ(info.last_sequence, sequence);
  EXPECT_VERIFIED(*c_);
}

TEST_P(CollectionTest, DeleteRemovesPointsFromStoreAndIndex) {
  Put(MixedPoints(0, 50, 1));
  const std::vector<PointKey> gone = {IntKey(1), StrKey("s-3"), IntKey(4), IntKey(49)};
  std::vector<PointKey> request = gone;
  request.push_back(IntKey(123456));  // absent keys are ignored
  request.push_back(StrKey("nope"));
  auto r = c_->Delete(request);
  ASSERT_OK(r);
  EXPECT_EQ(r->changed, gone.size());
  EXPECT_EQ(r->sequence, 50u + gone.size());
  for (const PointKey& k : gone) model_.erase(k);
  EXPECT_TRUE(Holds(*c_, model_));
  ASSERT_OK_AND_ASSIGN(auto got, c_->Get(gone, true, true));
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(IndexLacks(*c_, gone, kDim));
  SearchRequest all;
  all.k = 100;
  ASSERT_OK_AND_ASSIGN(auto hits, c_->Search(VectorFor(IntKey(1), 1, kDim), all));
  EXPECT_EQ(hits.size(), model_.size());
  for (const PointKey& k : gone) EXPECT_FALSE(Contains(hits, k)) << PointKeyToString(k);

  // Deleting nothing changes nothing.
  auto again = c_->Delete(gone);
  ASSERT_OK(again);
  EXPECT_EQ(again->changed, 0u);
  EXPECT_EQ(again->sequence, 0u);
  EXPECT_EQ(LastSequence(), 50u + gone.size());
  EXPECT_CODE(c_->Delete(std::vector<PointKey>{StrKey("")}), StatusCode::kInvalidArgument);

  // A deleted key can come back, with a new vector.
  const Point back = MakePoint(IntKey(1), 7, kDim, R"({"back":true})");
  Put({back});
  EXPECT_TRUE(Holds(*c_, model_));
  EXPECT_TRUE(IndexFinds(*c_, back.key, back.vector, true, exact()));
  ASSERT_OK_AND_ASSIGN(CollectionInfo info, c_->Info());
  EXPECT_EQ(info.points, model_.size());
  EXPECT_EQ(info.indexed, model_.size());
  EXPECT_VERIFIED(*c_);

  // Deleting everything leaves an empty, searchable collection.
  std::vector<PointKey> every;
  for (const auto& [k, v] : model_) every.push_back(k);
  ASSERT_OK(c_->Delete(every));
  model_.clear();
  EXPECT_TRUE(Holds(*c_, model_));
  ASSERT_OK_AND_ASSIGN(auto empty, c_->Search(VectorFor(IntKey(1), 1, kDim), all));
  EXPECT_TRUE(empty.empty());
}

TEST_P(CollectionTest, ScrollPaginatesInKeyOrder) {
  std::vector<PointKey> keys = {IntKey(0), IntKey(1), IntKey(2), IntKey(10), IntKey(255), IntKey(256),
                                IntKey(uint64_t{1} << 32), IntKey(std::numeric_limits<uint64_t>::max()),
                                StrKey("A"), StrKey("Z"), StrKey("a"), StrKey("a0"), StrKey("b"), StrKey("0"),
                                StrKey("10"), StrKey("9"), StrKey("\xc3\xa9"), StrKey("\xe4\xb8\xad"), StrKey("z"),
                                StrKey("~"), StrKey("123e4567-e89b-12d3-a456-426614174000"),
                                StrKey("f47ac10b-58cc-4372-a567-0e02b2c3d479"), StrKey(std::string(256, 'x'))};
  for (uint64_t i = 0; i < 40; ++i) keys.push_back(IntKey(1000 + i * 7));
  std::vector<PointKey> shuffled = keys;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937_64(7));
  std::vector<Point> points;
  for (size_t i = 0; i < shuffled.size(); ++i) {
    points.push_back(MakePoint(shuffled[i], 1, kDim, i % 2 ? R"({"i":)" + std::to_string(i) + "}" : ""));
  }
  // In two batches, so that insertion order is not key order either.
  Put(std::vector<Point>(points.begin(), points.begin() + 30));
  Put(std::vector<Point>(points.begin() + 30, points.end()));
  std::vector<PointKey> expected = keys;
  std::sort(expected.begin(), expected.end());
  // The documented order, spelled out: integers ascending, then strings in byte order.
  EXPECT_TRUE(expected[7].is_int() && expected[7 + 40].is_int() && expected[8 + 40].is_string());
  EXPECT_EQ(expected[8 + 40], StrKey("0"));
  EXPECT_EQ(expected.back(), StrKey("\xe4\xb8\xad"));

  for (size_t limit : {size_t{1}, size_t{3}, size_t{7}, expected.size(), size_t{1000}}) {
    SCOPED_TRACE("limit " + std::to_string(limit));
    std::vector<PointKey> seen;
    ScrollRequest request;
    request.limit = limit;
    request.with_vector = limit == 7;
    request.with_payload = limit == 3;
    for (int pages = 0; pages < 200; ++pages) {
      ASSERT_OK_AND_ASSIGN(ScrollResult page, c_->Scroll(request));
      EXPECT_LE(page.points.size(), limit);
      for (const PointRecord& p : page.points) {
        seen.push_back(p.key);
        const Expected& want = model_.at(p.key);
        if (request.with_vector) {
          EXPECT_EQ(p.vector, want.vector);
        } else {
          EXPECT_TRUE(p.vector.empty());
        }
        if (request.with_payload) {
          EXPECT_TRUE(SameJson(p.payload_json, want.payload));
        } else {
          EXPECT_TRUE(p.payload_json.empty());
        }
      }
      if (!page.next.has_value()) break;
      ASSERT_FALSE(page.points.empty()) << "a page with a next key must not be empty";
      EXPECT_EQ(*page.next, page.points.back().key);
      request.start_after = page.next;
    }
    EXPECT_EQ(seen, expected);
  }

  // start_after need not exist; after the largest integer come the strings; after the last key,
  // nothing.
  ScrollRequest request;
  request.limit = 2;
  request.start_after = IntKey(std::numeric_limits<uint64_t>::max());
  ASSERT_OK_AND_ASSIGN(ScrollResult first_strings, c_->Scroll(request));
  ASSERT_EQ(first_strings.points.size(), 2u);
  EXPECT_EQ(first_strings.points[0].key, StrKey("0"));
  EXPECT_EQ(first_strings.points[1].key, StrKey("10"));
  request.start_after = StrKey("a00");
  ASSERT_OK_AND_ASSIGN(ScrollResult after_gap, c_->Scroll(request));
  ASSERT_FALSE(after_gap.points.empty());
  EXPECT_EQ(after_gap.points[0].key, StrKey("b"));
  request.start_after = IntKey(3);
  ASSERT_OK_AND_ASSIGN(ScrollResult after_int_gap, c_->Scroll(request));
  ASSERT_FALSE(after_int_gap.points.empty());
  EXPECT_EQ(after_int_gap.points[0].key, IntKey(10));
  request.start_after = expected.back();
  ASSERT_OK_AND_ASSIGN(ScrollResult end, c_->Scroll(request));
  EXPECT_TRUE(end.points.empty());
  EXPECT_FALSE(end.next.has_value());
}

TEST_P(CollectionTest, SetPayloadMergesAndOverwritePayloadReplaces) {
  const Point with = MakePoint(IntKey(1), 1, kDim, R"({"a":1,"b":{"x":1},"keep":"yes"})");
  const Point without = MakePoint(StrKey("no-payload"), 1, kDim);
  const Point other = MakePoint(IntKey(2), 1, kDim, R"({"z":0})");
  Put({with, without, other});
  const uint64_t before = LastSequence();

  const std::vector<PointKey> keys = {with.key, without.key, IntKey(99)};  // 99 is absent
  auto set = c_->SetPayload(keys, R"({"b":{"y":2},"c":"\u00e9\u4e2d"})");
  ASSERT_OK(set);
  EXPECT_EQ(set->changed, 2u);
  EXPECT_EQ(set->sequence, before + 2);
  model_[with.key].payload = R"({"a":1,"b":{"y":2},"keep":"yes","c":"é中"})";
  model_[without.key].payload = R"({"b":{"y":2},"c":"é中"})";
  EXPECT_TRUE(Holds(*c_, model_));

  auto overwrite = c_->OverwritePayload(std::vector<PointKey>{with.key, other.key}, R"({"only":[1,2,3]})");
  ASSERT_OK(overwrite);
  EXPECT_EQ(overwrite->changed, 2u);
  model_[with.key].payload = R"({"only":[1,2,3]})";
  model_[other.key].payload = R"({"only":[1,2,3]})";
  EXPECT_TRUE(Holds(*c_, model_));
  const uint64_t after = LastSequence();

  // Not an object: rejected, nothing changes.
  for (const char* bad : {"[1]", "1", "\"s\"", "{", "", "null", R"({"a":1}{"b":2})"}) {
    SCOPED_TRACE(bad);
    EXPECT_CODE(c_->SetPayload(keys, bad), StatusCode::kInvalidArgument);
    if (std::string_view(bad).empty()) continue;  // "" may mean "clear" for OverwritePayload
    EXPECT_CODE(c_->OverwritePayload(keys, bad), StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(LastSequence(), after);
  EXPECT_TRUE(Holds(*c_, model_));

  // Only absent keys: nothing changes.
  auto absent = c_->SetPayload(std::vector<PointKey>{IntKey(12345)}, R"({"q":1})");
  ASSERT_OK(absent);
  EXPECT_EQ(absent->changed, 0u);
  EXPECT_EQ(LastSequence(), after);

  // Payload updates leave the vectors and the index alone.
  for (const Point& p : {with, without, other}) EXPECT_TRUE(IndexFinds(*c_, p.key, p.vector, true, exact()));
  ASSERT_OK_AND_ASSIGN(CollectionInfo info, c_->Info());
  EXPECT_EQ(info.indexed, 3u);
  EXPECT_VERIFIED(*c_);
}

TEST_P(CollectionTest, StringKeysUpToTheDocumentedLength) {
  std::string multibyte;
  while (multibyte.size() < kMaxStringKeyBytes) multibyte += "\xc3\xa9";  // é: 128 x 2 bytes
  ASSERT_EQ(multibyte.size(), kMaxStringKeyBytes);
  const std::vector<PointKey> keys = {StrKey("123e4567-e89b-12d3-a456-426614174000"),
                                      StrKey("F47AC10B-58CC-4372-A567-0E02B2C3D479"),
                                      StrKey(std::string(kMaxStringKeyBytes, 'k')),
                                      StrKey(multibyte),
                                      StrKey("https://example.com/doc?id=1#chunk-2"),
                                      StrKey("1"),  // a string, distinct from the integer key 1
                                      IntKey(1),
                                      StrKey(" "),
                                      StrKey("tab\tand\nnewline")};
  std::vector<Point> points;
  for (size_t i = 0; i < keys.size(); ++i) points.push_back(MakePoint(keys[i], 1, kDim, R"({"i":)" + std::to_string(i) + "}"));
  Put(points);
  EXPECT_TRUE(Holds(*c_, model_));
  EXPECT_EQ(*c_->Count(), keys.size());
  for (const Point& p : points) EXPECT_TRUE(IndexFinds(*c_, p.key, p.vector, true, exact())) << PointKeyToString(p.key);

  // One byte too long, as ASCII and as a multi-byte character cut in half.
  EXPECT_CODE(c_->Upsert(std::vector<Point>{MakePoint(StrKey(std::string(kMaxStringKeyBytes + 1, 'k')), 1, kDim)}),
                StatusCode::kInvalidArgument);
  EXPECT_CODE(c_->Upsert(std::vector<Point>{MakePoint(StrKey(multibyte + "x"), 1, kDim)}), StatusCode::kInvalidArgument);
  EXPECT_CODE(c_->Upsert(std::vector<Point>{MakePoint(StrKey(multibyte.substr(0, 255)), 1, kDim)}),
                StatusCode::kInvalidArgument);
  // Reading an invalid key finds nothing (or is rejected as invalid).
  auto too_long = c_->Get(std::vector<PointKey>{StrKey(std::string(kMaxStringKeyBytes + 1, 'k'))}, false, false);
  if (too_long.ok()) {
    EXPECT_TRUE(too_long->empty());
  } else {
    EXPECT_EQ(too_long.status().code(), StatusCode::kInvalidArgument) << too_long.status().ToString();
  }

  // Delete and search by string key.
  ASSERT_OK(c_->Delete(std::vector<PointKey>{StrKey("1")}));
  model_.erase(StrKey("1"));
  EXPECT_TRUE(Holds(*c_, model_));
  EXPECT_TRUE(IndexLacks(*c_, {StrKey("1")}, kDim));
  EXPECT_TRUE(IndexFinds(*c_, IntKey(1), model_[IntKey(1)].vector, true, exact()));
  SearchRequest only;
  only.k = 10;
  only.only_keys = std::vector<PointKey>{keys[0], keys[3], StrKey("1")};
  ASSERT_OK_AND_ASSIGN(auto hits, c_->Search(VectorFor(keys[3], 1, kDim), only));
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].key, keys[3]);
  EXPECT_EQ(hits[1].key, keys[0]);
}

INSTANTIATE_TEST_SUITE_P(Kinds, CollectionTest,
                         ::testing::Values("flat", "hnsw", "hnsw:storage=int8,rerank=true", "hnsw:storage=f16"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return KindName(info.param); });

}  // namespace
}  // namespace vecdex::dbtest
