#include "index/flat/flat_index.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "testutil/test_util.h"

namespace vecdex {
namespace {

using testutil::Iota;
using testutil::RandomVectors;
using testutil::ReferenceDistance;

class FlatIndexMetricTest : public ::testing::TestWithParam<Metric> {};

// Both search paths (per-query scan and sgemm tiles) must return the exact neighbours, with
// distances matching a double-precision reference.
TEST_P(FlatIndexMetricTest, MatchesReferenceOnBothPaths) {
  const Metric metric = GetParam();
  const size_t n = 3000, dim = 37, num_queries = 40, k = 10;
  const std::vector<float> base = RandomVectors(n, dim, 1);
  const std::vector<float> queries = RandomVectors(num_queries, dim, 2);
  FlatIndex index(dim, metric);
  ASSERT_OK(index.Add(Iota(n), {base.data(), n, dim}));

  SearchParams params;
  params.k = k;
  SearchResults batch, single;
  ASSERT_OK(index.Search({queries.data(), num_queries, dim}, params, &batch));  // sgemm path
  ASSERT_GE(num_queries, FlatIndex::kGemmMinQueries);
  for (size_t q = 0; q < num_queries; ++q) {
    const float* query = queries.data() + q * dim;
    ASSERT_OK(index.Search({query, 1, dim}, params, &single));  // scan path
    const auto truth = testutil::ReferenceTopK(metric, base.data(), n, dim, query, k);
    for (size_t i = 0; i < k; ++i) {
      const double want = ReferenceDistance(metric, query, base.data() + truth[i] * dim, dim);
      const double tolerance = 1e-4 * (1.0 + std::abs(want));
      EXPECT_NEAR(single.distances_of(0)[i], want, tolerance) << "query " << q << " rank " << i;
      EXPECT_NEAR(batch.distances_of(q)[i], want, tolerance) << "query " << q << " rank " << i;
      // Labels may differ from the reference only where distances tie within rounding.
      if (single.labels_of(0)[i] != truth[i]) {
        const double got = ReferenceDistance(metric, query, base.data() + single.labels_of(0)[i] * dim, dim);
        EXPECT_NEAR(got, want, tolerance);
      }
      EXPECT_EQ(batch.labels_of(q)[i], single.labels_of(0)[i]) << "query " << q << " rank " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Metrics, FlatIndexMetricTest,
                         ::testing::Values(Metric::kL2, Metric::kInnerProduct, Metric::kCosine),
                         [](const auto& info) { return std::string(MetricName(info.param)); });

TEST(FlatIndexTest, TiesAreOrderedBySmallerLabel) {
  const size_t dim = 4;
  std::vector<float> same(5 * dim, 1.0f);
  FlatIndex index(dim, Metric::kL2);
  const std::vector<Label> labels = {50, 7, 30, 9, 1000};
  ASSERT_OK(index.Add(labels, {same.data(), 5, dim}));
  SearchParams params;
  params.k = 3;
  SearchResults out;
  const std::vector<float> query(dim, 0.0f);
  ASSERT_OK(index.Search({query.data(), 1, dim}, params, &out));
  EXPECT_EQ(out.labels_of(0)[0], 7u);
  EXPECT_EQ(out.labels_of(0)[1], 9u);
  EXPECT_EQ(out.labels_of(0)[2], 30u);
  // The sgemm path breaks ties the same way.
  std::vector<float> many(FlatIndex::kGemmMinQueries * dim, 0.0f);
  ASSERT_OK(index.Search({many.data(), FlatIndex::kGemmMinQueries, dim}, params, &out));
  EXPECT_EQ(out.labels_of(FlatIndex::kGemmMinQueries - 1)[0], 7u);
  EXPECT_EQ(out.labels_of(FlatIndex::kGemmMinQueries - 1)[2], 30u);
}

TEST(FlatIndexTest, KIsClampedAndEmptyIndexGivesEmptyRows) {
  const size_t dim = 8;
  FlatIndex index(dim, Metric::kL2);
  const std::vector<float> query(dim, 0.5f);
  SearchParams params;
  params.k = 100;
  SearchResults out;
  ASSERT_OK(index.Search({query.data(), 1, dim}, params, &out));
  EXPECT_EQ(out.num_queries, 1u);
  EXPECT_EQ(out.k, 0u);
  const std::vector<float> base = RandomVectors(5, dim, 3);
  ASSERT_OK(index.Add(Iota(5), {base.data(), 5, dim}));
  ASSERT_OK(index.Search({query.data(), 1, dim}, params, &out));
  EXPECT_EQ(out.k, 5u);
  EXPECT_EQ(out.count_of(0), 5u);
}

TEST(FlatIndexTest, BadInputIsAnErrorThatChangesNothing) {
  const size_t dim = 8;
  FlatIndex index(dim, Metric::kCosine);
  std::vector<float> base = RandomVectors(4, dim, 4);
  ASSERT_OK(index.Add(Iota(4), {base.data(), 4, dim}));
  const size_t memory = index.memory_bytes();

  std::vector<float> bad = RandomVectors(2, dim, 5);
  bad[dim + 3] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_STATUS(index.Add(Iota(2, 10), {bad.data(), 2, dim}), StatusCode::kInvalidArgument);
  bad[dim + 3] = std::numeric_limits<float>::infinity();
  EXPECT_STATUS(index.Add(Iota(2, 10), {bad.data(), 2, dim}), StatusCode::kInvalidArgument);
  EXPECT_STATUS(index.Add(Iota(2, 10), {bad.data(), 2, dim - 1}), StatusCode::kInvalidArgument);
  EXPECT_STATUS(index.Add(Iota(1, 10), {bad.data(), 2, dim}), StatusCode::kInvalidArgument);
  const std::vector<Label> twice = {20, 20};
  EXPECT_STATUS(index.Add(twice, {base.data(), 2, dim}), StatusCode::kInvalidArgument);
  const std::vector<Label> reserved = {kNoLabel};
  EXPECT_STATUS(index.Add(reserved, {base.data(), 1, dim}), StatusCode::kInvalidArgument);
  EXPECT_EQ(index.size(), 4u);
  EXPECT_EQ(index.memory_bytes(), memory);
  EXPECT_EQ(index.Find(10), nullptr);

  SearchParams params;
  SearchResults out;
  EXPECT_STATUS(index.Search({bad.data(), 2, dim}, params, &out), StatusCode::kInvalidArgument);
  EXPECT_STATUS(index.Search({base.data(), 1, dim + 1}, params, &out), StatusCode::kInvalidArgument);
  params.k = 0;
  EXPECT_STATUS(index.Search({base.data(), 1, dim}, params, &out), StatusCode::kInvalidArgument);
}

TEST(FlatIndexTest, RemoveAndReplace) {
  const size_t dim = 16, n = 200;
  const std::vector<float> base = RandomVectors(n, dim, 6);
  FlatIndex index(dim, Metric::kL2);
  ASSERT_OK(index.Add(Iota(n), {base.data(), n, dim}));

  // Remove every third label (and one that does not exist).
  std::vector<Label> gone;
  for (Label l = 0; l < n; l += 3) gone.push_back(l);
  gone.push_back(99999);
  auto removed = index.Remove(gone);
  ASSERT_OK(removed);
  EXPECT_EQ(*removed, gone.size() - 1);
  EXPECT_EQ(index.size(), n - (gone.size() - 1));

  SearchParams params;
  params.k = n;
  SearchResults out;
  for (size_t q = 0; q < n; q += 17) {
    ASSERT_OK(index.Search({base.data() + q * dim, 1, dim}, params, &out));
    for (size_t i = 0; i < out.count_of(0); ++i) EXPECT_NE(out.labels_of(0)[i] % 3, 0u);
    if (q % 3 != 0) {
      EXPECT_EQ(out.labels_of(0)[0], q);  // a live vector finds itself
    }
  }

  // Re-adding an existing label replaces its vector.
  const std::vector<Label> one = {1};
  ASSERT_OK(index.Add(one, {base.data() + 100 * dim, 1, dim}));
  EXPECT_EQ(index.size(), n - (gone.size() - 1));
  params.k = 2;
  ASSERT_OK(index.Search({base.data() + 100 * dim, 1, dim}, params, &out));
  EXPECT_EQ(out.labels_of(0)[0], 1u);
  EXPECT_EQ(out.labels_of(0)[1], 100u);
  EXPECT_EQ(out.distances_of(0)[0], 0.0f);
}

TEST(FlatIndexTest, FilterIsAppliedDuringTheScan) {
  struct EvenOnly : LabelFilter {
    bool Matches(Label label) const override { return label % 2 == 0; }
  } even;
  const size_t dim = 12, n = 500;
  const std::vector<float> base = RandomVectors(n, dim, 7);
  FlatIndex index(dim, Metric::kInnerProduct);
  ASSERT_OK(index.Add(Iota(n), {base.data(), n, dim}));
  SearchParams params;
  params.k = 10;
  params.filter = &even;
  SearchResults out;
  const std::vector<float> queries = RandomVectors(FlatIndex::kGemmMinQueries, dim, 8);
  for (size_t rows : {size_t{1}, FlatIndex::kGemmMinQueries}) {
    ASSERT_OK(index.Search({queries.data(), rows, dim}, params, &out));
    for (size_t q = 0; q < rows; ++q) {
      ASSERT_EQ(out.count_of(q), 10u);
      for (size_t i = 0; i < 10; ++i) EXPECT_EQ(out.labels_of(q)[i] % 2, 0u);
    }
  }
}

// A zero vector under cosine is orthogonal to everything: distance exactly 1.
TEST(FlatIndexTest, CosineZeroVectorHasDistanceOne) {
  const size_t dim = 6;
  std::vector<float> base(2 * dim, 0.0f);
  base[dim] = 3.0f;  // row 1 = (3, 0, ...)
  FlatIndex index(dim, Metric::kCosine);
  ASSERT_OK(index.Add(Iota(2), {base.data(), 2, dim}));
  std::vector<float> query(dim, 0.0f);
  query[0] = -2.0f;
  SearchParams params;
  params.k = 2;
  SearchResults out;
  ASSERT_OK(index.Search({query.data(), 1, dim}, params, &out));
  EXPECT_EQ(out.labels_of(0)[0], 0u);  // zero vector: distance 1 beats the opposite vector's 2
  EXPECT_FLOAT_EQ(out.distances_of(0)[0], 1.0f);
  EXPECT_FLOAT_EQ(out.distances_of(0)[1], 2.0f);
  EXPECT_FLOAT_EQ(DistanceToScore(Metric::kCosine, out.distances_of(0)[1]), -1.0f);
}

TEST(FlatIndexTest, BatchUsesSeveralThreadsWithSameAnswer) {
  const size_t dim = 24, n = 1000, num_queries = 300;
  const std::vector<float> base = RandomVectors(n, dim, 9);
  const std::vector<float> queries = RandomVectors(num_queries, dim, 10);
  FlatIndex index(dim, Metric::kL2);
  ASSERT_OK(index.Add(Iota(n), {base.data(), n, dim}));
  SearchParams params;
  params.k = 5;
  SearchResults one, two;
  params.threads = 1;
  ASSERT_OK(index.Search({queries.data(), num_queries, dim}, params, &one));
  params.threads = 2;
  ASSERT_OK(index.Search({queries.data(), num_queries, dim}, params, &two));
  EXPECT_EQ(one.labels, two.labels);
  EXPECT_EQ(one.distances, two.distances);
}

}  // namespace
}  // namespace vecdex
