// Searching a collection, for every index kind and metric: empty collections, argument checks
// (dimension, NaN/Inf, k), the distance/score convention, batch search, the key filter.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "db/db_test_util.h"

namespace vecdex::dbtest {
namespace {

constexpr size_t kDim = 16;
constexpr uint64_t kPoints = 400;

using Param = std::tuple<std::string, Metric>;

class SearchTest : public DbTest, public ::testing::WithParamInterface<Param> {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    auto db = Database::Open(DbDir(), Options());
    ASSERT_OK(db);
    db_ = std::move(db).value();
    auto c = db_->CreateCollection("search", Config(kDim, metric(), spec()));
    ASSERT_OK(c);
    c_ = std::move(c).value();
  }
  void TearDown() override {
    c_.reset();
    db_.reset();
    DbTest::TearDown();
  }

  const std::string& spec() const { return std::get<0>(GetParam()); }
  Metric metric() const { return std::get<1>(GetParam()); }
  bool flat() const { return spec() == "flat"; }
  // Distances are exact f32 (flat, hnsw f32, re-ranked int8) or approximate (f16 codes).
  double tolerance() const { return spec() == "hnsw:storage=f16" ? 2e-2 : 1e-3; }

  // kPoints points; key i is an integer for even i, a string for odd i (keys_[i], base_ row i).
  void Fill() {
    std::vector<Point> points;
    for (uint64_t i = 0; i < kPoints; ++i) {
      PointKey key = i % 2 == 0 ? IntKey(i) : StrKey("doc-" + std::to_string(i));
      points.push_back(MakePoint(key, 1, kDim, R"({"i":)" + std::to_string(i) + "}"));
      keys_.push_back(points.back().key);
      base_.insert(base_.end(), points.back().vector.begin(), points.back().vector.end());
    }
    // Two batches: int8 calibrates on the first.
    ASSERT_OK(c_->Upsert(std::span<const Point>(points).first(300)));
    ASSERT_OK(c_->Upsert(std::span<const Point>(points).subspan(300)));
    ApplyUpserts(model_, points);
  }
  // Exact top-k keys among the points whose indices pass `allowed`.
  std::vector<PointKey> TruthTopK(const std::vector<float>& query, size_t k,
                                  const std::function<bool(size_t)>& allowed = [](size_t) { return true; }) {
    std::vector<std::pair<double, size_t>> all;
    for (size_t i = 0; i < keys_.size(); ++i) {
      if (allowed(i)) all.push_back({testutil::ReferenceDistance(metric(), query.data(), &base_[i * kDim], kDim), i});
    }
    std::sort(all.begin(), all.end());
    std::vector<PointKey> out;
    for (size_t i = 0; i < std::min(k, all.size()); ++i) out.push_back(keys_[all[i].second]);
    return out;
  }
  static double Overlap(const std::vector<PointKey>& found, const std::vector<PointKey>& truth) {
    if (truth.empty()) return 1.0;
    size_t hits = 0;
    for (const PointKey& t : truth) hits += std::find(found.begin(), found.end(), t) != found.end();
    return static_cast<double>(hits) / static_cast<double>(truth.size());
  }

  std::unique_ptr<Database> db_;
  std::shared_ptr<Collection> c_;
  Model model_;
  std::vector<PointKey> keys_;
  std::vector<float> base_;
};

TEST_P(SearchTest, EmptyCollectionGivesEmptyResults) {
  const std::vector<float> query = VectorFor(IntKey(1), 1, kDim);
  SearchRequest request;
  ASSERT_OK_AND_ASSIGN(auto hits, c_->Search(query, request));
  EXPECT_TRUE(hits.empty());
  const std::vector<float> queries = testutil::RandomVectors(3, kDim, 5);
  ASSERT_OK_AND_ASSIGN(auto rows, c_->SearchBatch(MatrixView{queries.data(), 3, kDim}, request));
  ASSERT_EQ(rows.size(), 3u);
  for (const auto& row : rows) EXPECT_TRUE(row.empty());
  // Argument checks still apply to an empty collection.
  EXPECT_CODE(c_->Search(std::vector<float>(kDim + 1, 1.0f), request), StatusCode::kInvalidArgument);
  request.k = 0;
  EXPECT_CODE(c_->Search(query, request), StatusCode::kInvalidArgument);

  // Emptied by deletes: the same.
  const Point p = MakePoint(IntKey(1), 1, kDim);
  ASSERT_OK(c_->Upsert(std::vector<Point>{p}));
  ASSERT_OK(c_->Delete(std::vector<PointKey>{p.key}));
  request.k = 10;
  ASSERT_OK_AND_ASSIGN(auto after_delete, c_->Search(p.vector, request));
  EXPECT_TRUE(after_delete.empty());
}

TEST_P(SearchTest, InvalidQueriesAreRejected) {
  Fill();
  const std::vector<float> good = VectorFor(IntKey(3), 9, kDim);
  SearchRequest request;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_CODE(c_->Search(std::vector<float>(kDim - 1, 1.0f), request), StatusCode::kInvalidArgument);
  EXPECT_CODE(c_->Search(std::vector<float>(kDim + 1, 1.0f), request), StatusCode::kInvalidArgument);
  EXPECT_CODE(c_->Search(std::span<const float>(), request), StatusCode::kInvalidArgument);
  for (float bad : {nan, inf, -inf}) {
    std::vector<float> q = good;
    q[kDim / 2] = bad;
    EXPECT_CODE(c_->Search(q, request), StatusCode::kInvalidArgument) << bad;
  }
  // Batch: a wrong dimension, and one bad row among good ones.
  std::vector<float> rows = testutil::RandomVectors(4, kDim, 11);
  EXPECT_CODE(c_->SearchBatch(MatrixView{rows.data(), 2, kDim * 2}, request), StatusCode::kInvalidArgument);
  EXPECT_CODE(c_->SearchBatch(MatrixView{rows.data(), 4, kDim - 1}, request), StatusCode::kInvalidArgument);
  rows[2 * kDim + 3] = nan;
  EXPECT_CODE(c_->SearchBatch(MatrixView{rows.data(), 4, kDim}, request), StatusCode::kInvalidArgument);

  // k: 0 and beyond kMaxK are errors; kMaxK and anything above the size are clamped.
  request.k = 0;
  EXPECT_CODE(c_->Search(good, request), StatusCode::kInvalidArgument);
  request.k = Collection::kMaxK + 1;
  EXPECT_CODE(c_->Search(good, request), StatusCode::kInvalidArgument);
  EXPECT_CODE(c_->SearchBatch(MatrixView{good.data(), 1, kDim}, request), StatusCode::kInvalidArgument);
  request.k = Collection::kMaxK;
  ASSERT_OK_AND_ASSIGN(auto all, c_->Search(good, request));
  EXPECT_EQ(all.size(), kPoints);
  const std::vector<PointKey> all_keys = KeysOf(all);
  const std::set<PointKey> distinct(all_keys.begin(), all_keys.end());
  EXPECT_EQ(distinct.size(), kPoints) << "every point exactly once";
  request.k = kPoints + 1;
  ASSERT_OK_AND_ASSIGN(auto above, c_->Search(good, request));
  EXPECT_EQ(above.size(), kPoints);
  // ef below k is raised to k.
  request.k = 10;
  request.ef = 1;
  ASSERT_OK_AND_ASSIGN(auto small_ef, c_->Search(good, request));
  EXPECT_EQ(small_ef.size(), 10u);

  // None of this changed anything.
  EXPECT_TRUE(Holds(*c_, model_));
  ASSERT_OK_AND_ASSIGN(CollectionInfo info, c_->Info());
  EXPECT_EQ(info.last_sequence, kPoints);
}

TEST_P(SearchTest, DistancesScoresAndReturnedFieldsFollowTheConvention) {
  Fill();
  const std::vector<float> queries = testutil::RandomVectors(20, kDim, 77);
  for (size_t q = 0; q < 20; ++q) {
    const std::vector<float> query(queries.begin() + q * kDim, queries.begin() + (q + 1) * kDim);
    SearchRequest request;
    request.k = 10;
    request.with_vector = q % 2 == 0;
    request.with_payload = q % 3 == 0;
    ASSERT_OK_AND_ASSIGN(auto hits, c_->Search(query, request));
    ASSERT_EQ(hits.size(), 10u);
    for (size_t i = 0; i < hits.size(); ++i) {
      const ScoredPoint& h = hits[i];
      if (i > 0) {
        EXPECT_LE(hits[i - 1].distance, h.distance) << "nearest first";
      }
      const Expected& want = model_.at(h.key);
      const double truth = testutil::ReferenceDistance(metric(), query.data(), want.vector.data(), kDim);
      EXPECT_NEAR(h.distance, truth, tolerance() * std::max(1.0, std::abs(truth))) << PointKeyToString(h.key);
      EXPECT_FLOAT_EQ(h.score, DistanceToScore(metric(), h.distance));
      switch (metric()) {
        case Metric::kL2: EXPECT_FLOAT_EQ(h.score, h.distance); break;
        case Metric::kInnerProduct: EXPECT_FLOAT_EQ(h.score, -h.distance); break;
        case Metric::kCosine:
          EXPECT_FLOAT_EQ(h.score, 1.0f - h.distance);
          EXPECT_GE(h.score, -1.001f);
          EXPECT_LE(h.score, 1.001f);
          break;
      }
      // Vectors as written (cosine ones not normalised), payloads when asked.
      if (request.with_vector) {
        EXPECT_EQ(h.vector, want.vector);
      } else {
        EXPECT_TRUE(h.vector.empty());
      }
      if (request.with_payload) {
        EXPECT_TRUE(SameJson(h.payload_json, want.payload));
      } else {
        EXPECT_TRUE(h.payload_json.empty());
      }
    }
    // The result is right: exact for flat, a high overlap for HNSW.
    const std::vector<PointKey> truth = TruthTopK(query, 10);
    if (flat()) {
      EXPECT_EQ(KeysOf(hits), truth);
    } else {
      EXPECT_GE(Overlap(KeysOf(hits), truth), 0.7) << "query " << q;
    }
  }
}

TEST_P(SearchTest, SearchBatchMatchesSingleSearches) {
  Fill();
  const size_t n = 12;
  const std::vector<float> queries = testutil::RandomVectors(n, kDim, 5150);
  SearchRequest request;
  request.k = 7;
  request.with_payload = true;
  ASSERT_OK_AND_ASSIGN(auto rows, c_->SearchBatch(MatrixView{queries.data(), n, kDim}, request));
  ASSERT_EQ(rows.size(), n);
  for (size_t q = 0; q < n; ++q) {
    ASSERT_OK_AND_ASSIGN(auto single, c_->Search(std::span<const float>(queries.data() + q * kDim, kDim), request));
    EXPECT_EQ(KeysOf(rows[q]), KeysOf(single)) << "query " << q;
    ASSERT_EQ(rows[q].size(), 7u);
    for (size_t i = 0; i < single.size() && i < rows[q].size(); ++i) {
      EXPECT_NEAR(rows[q][i].distance, single[i].distance, 1e-4 * std::max(1.0f, std::abs(single[i].distance)));
      EXPECT_TRUE(SameJson(rows[q][i].payload_json, model_.at(rows[q][i].key).payload));
    }
  }
  ASSERT_OK_AND_ASSIGN(auto none, c_->SearchBatch(MatrixView{queries.data(), 0, kDim}, request));
  EXPECT_TRUE(none.empty());
}

TEST_P(SearchTest, OnlyKeysRestrictsResults) {
  Fill();
  // 30 allowed points (both key kinds), plus keys that do not exist.
  std::vector<PointKey> allowed;
  std::vector<bool> is_allowed(kPoints, false);
  for (size_t i = 5; i < kPoints && allowed.size() < 30; i += 13) {
    allowed.push_back(keys_[i]);
    is_allowed[i] = true;
  }
  std::vector<PointKey> request_keys = allowed;
  request_keys.push_back(IntKey(999999));
  request_keys.push_back(StrKey("missing"));
  request_keys.push_back(allowed[0]);  // a duplicate is harmless
  const std::vector<float> queries = testutil::RandomVectors(10, kDim, 31337);
  for (size_t q = 0; q < 10; ++q) {
    const std::vector<float> query(queries.begin() + q * kDim, queries.begin() + (q + 1) * kDim);
    SearchRequest request;
    request.k = 10;
    request.only_keys = request_keys;
    ASSERT_OK_AND_ASSIGN(auto hits, c_->Search(query, request));
    ASSERT_EQ(hits.size(), 10u) << "10 of the allowed points match: the search returns k";
    std::set<PointKey> seen;
    for (const ScoredPoint& h : hits) {
      EXPECT_NE(std::find(allowed.begin(), allowed.end(), h.key), allowed.end()) << PointKeyToString(h.key);
      EXPECT_TRUE(seen.insert(h.key).second) << "duplicate " << PointKeyToString(h.key);
    }
    const auto truth = TruthTopK(query, 10, [&](size_t i) { return is_allowed[i]; });
    if (flat()) {
      EXPECT_EQ(KeysOf(hits), truth);
    } else {
      EXPECT_GE(Overlap(KeysOf(hits), truth), 0.8) << "query " << q;
    }
  }
  // Fewer allowed points than k: all of them.
  SearchRequest few;
  few.k = 10;
  few.only_keys = std::vector<PointKey>(allowed.begin(), allowed.begin() + 4);
  ASSERT_OK_AND_ASSIGN(auto four, c_->Search(VectorFor(IntKey(0), 3, kDim), few));
  EXPECT_EQ(four.size(), 4u);
  few.only_keys->push_back(IntKey(424242));
  ASSERT_OK_AND_ASSIGN(auto still_four, c_->Search(VectorFor(IntKey(0), 3, kDim), few));
  EXPECT_EQ(still_four.size(), 4u);
  // An empty list allows nothing; a list of absent keys too.
  few.only_keys = std::vector<PointKey>{};
  ASSERT_OK_AND_ASSIGN(auto nothing, c_->Search(VectorFor(IntKey(0), 3, kDim), few));
  EXPECT_TRUE(nothing.empty());
  few.only_keys = std::vector<PointKey>{IntKey(1), StrKey("doc-0")};  // odd ints / even strings: absent
  ASSERT_OK_AND_ASSIGN(auto absent, c_->Search(VectorFor(IntKey(0), 3, kDim), few));
  EXPECT_TRUE(absent.empty());
  // Deleted points are never returned, even when allowed.
  ASSERT_OK(c_->Delete(std::span<const PointKey>(allowed).first(2)));
  few.only_keys = std::vector<PointKey>(allowed.begin(), allowed.begin() + 3);
  ASSERT_OK_AND_ASSIGN(auto one, c_->Search(VectorFor(IntKey(0), 3, kDim), few));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].key, allowed[2]);
  // The batch form honours the filter too.
  ASSERT_OK_AND_ASSIGN(auto rows, c_->SearchBatch(MatrixView{queries.data(), 2, kDim}, few));
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& row : rows) {
    ASSERT_EQ(row.size(), 1u);
    EXPECT_EQ(row[0].key, allowed[2]);
  }
}

// README: a zero vector (stored or query) has cosine 0 with everything, i.e. distance 1.
class ZeroVectorTest : public DbTest {};

TEST_F(ZeroVectorTest, ZeroVectorsUnderCosineAreAtDistanceOne) {
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), Options()));
  for (const std::string spec : {"flat", "hnsw", "hnsw:storage=int8,rerank=true", "hnsw:storage=f16"}) {
    SCOPED_TRACE(spec);
    ASSERT_OK_AND_ASSIGN(auto c, db->CreateCollection(KindName(spec), Config(kDim, Metric::kCosine, spec)));
    std::vector<Point> points;
    for (uint64_t i = 0; i < 100; ++i) points.push_back(MakePoint(IntKey(i), 1, kDim));
    ASSERT_OK(c->Upsert(points));
    const Point zero{IntKey(100000), std::vector<float>(kDim, 0.0f), ""};
    ASSERT_OK(c->Upsert(std::vector<Point>{zero}));
    SearchRequest request;
    request.k = 1;
    request.only_keys = std::vector<PointKey>{zero.key};
    request.with_vector = true;
    ASSERT_OK_AND_ASSIGN(auto hits, c->Search(VectorFor(IntKey(5), 5, kDim), request));
    // Exactly 1 where vectors are stored as f32; quantized codes may be off by their error.
    const float tol = spec == "flat" || spec == "hnsw" ? 0.0f : 1e-2f;
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_NEAR(hits[0].distance, 1.0f, tol);
    EXPECT_NEAR(hits[0].score, 0.0f, tol);
    EXPECT_EQ(hits[0].vector, zero.vector);
    request.only_keys.reset();
    request.k = 5;
    ASSERT_OK_AND_ASSIGN(auto from_zero, c->Search(std::vector<float>(kDim, 0.0f), request));
    ASSERT_EQ(from_zero.size(), 5u);
    for (const ScoredPoint& h : from_zero) EXPECT_NEAR(h.distance, 1.0f, tol);
  }
}

INSTANTIATE_TEST_SUITE_P(
    KindsAndMetrics, SearchTest,
    ::testing::Combine(::testing::Values("flat", "hnsw", "hnsw:storage=int8,rerank=true", "hnsw:storage=f16"),
                       ::testing::Values(Metric::kL2, Metric::kInnerProduct, Metric::kCosine)),
    [](const ::testing::TestParamInfo<Param>& info) {
      return KindName(std::get<0>(info.param)) + "_" + std::string(MetricName(std::get<1>(info.param)));
    });

}  // namespace
}  // namespace vecdex::dbtest
