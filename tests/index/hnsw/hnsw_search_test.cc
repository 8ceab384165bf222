// Build and search: recall against exact answers, determinism, argument errors, edge cases.
#include <cmath>
#include <limits>

#include "index/hnsw/hnsw_index.h"
#include "index/hnsw/hnsw_test_util.h"

namespace vecdex {
namespace {

using hnsw_test::ClusteredVectors;
using hnsw_test::Iota;
using hnsw_test::MakeIndex;
using hnsw_test::MeanRecall;

constexpr size_t kDim = 32;
constexpr size_t kPoints = 3000;
constexpr size_t kQueries = 100;

struct RecallCase {
  Metric metric;
  Scalar storage;
  bool rerank;
  double min_recall = 0.95;  // int8 without re-ranking ranks by approximate distances
};

class HnswRecallTest : public ::testing::TestWithParam<RecallCase> {};

TEST_P(HnswRecallTest, RecallAt10AboveTarget) {
  const RecallCase c = GetParam();
  hnsw::HnswOptions options;
  options.storage = c.storage;
  options.rerank = c.rerank;
  auto index = MakeIndex(kDim, c.metric, options);
  ASSERT_NE(index, nullptr);
  const auto base = ClusteredVectors(kPoints, kDim, 20, 1);
  const auto queries = ClusteredVectors(kQueries, kDim, 20, 2);
  ASSERT_OK(index->Add(Iota(kPoints), MatrixView{base.data(), kPoints, kDim}));
  EXPECT_EQ(index->size(), kPoints);
  // Maximum inner product search is harder for every graph index (hnswlib reaches 0.89 at
  // ef=200 on this data): the inner-product cases search with a wider beam.
  SearchParams params;
  params.ef = c.metric == Metric::kInnerProduct ? 200 : 0;
  const double recall = MeanRecall(*index, c.metric, base, kDim, queries, 10, params);
  EXPECT_GE(recall, c.min_recall) << MetricName(c.metric) << " " << ScalarName(c.storage);
}

INSTANTIATE_TEST_SUITE_P(AllMetricsAndStorages, HnswRecallTest,
                         ::testing::Values(RecallCase{Metric::kL2, Scalar::kF32, false},
                                           RecallCase{Metric::kInnerProduct, Scalar::kF32, false},
                                           RecallCase{Metric::kCosine, Scalar::kF32, false},
                                           RecallCase{Metric::kL2, Scalar::kF16, false},
                                           RecallCase{Metric::kInnerProduct, Scalar::kF16, false},
                                           RecallCase{Metric::kCosine, Scalar::kF16, false},
                                           RecallCase{Metric::kL2, Scalar::kInt8, true},
                                           RecallCase{Metric::kInnerProduct, Scalar::kInt8, true},
                                           RecallCase{Metric::kCosine, Scalar::kInt8, true},
                                           RecallCase{Metric::kL2, Scalar::kInt8, false, 0.9},
                                           RecallCase{Metric::kInnerProduct, Scalar::kInt8, false, 0.9},
                                           RecallCase{Metric::kCosine, Scalar::kInt8, false, 0.9}),
                         [](const auto& info) {
                           return std::string(MetricName(info.param.metric)) + "_" +
                                  std::string(ScalarName(info.param.storage)) + (info.param.rerank ? "_rerank" : "");
                         });

TEST(HnswSearchTest, DistancesAreExactAndSortedForF32) {
  auto index = MakeIndex(kDim, Metric::kInnerProduct);
  const auto base = ClusteredVectors(500, kDim, 5, 3);
  ASSERT_OK(index->Add(Iota(500), MatrixView{base.data(), 500, kDim}));
  SearchParams params;
  params.k = 10;
  SearchResults results;
  ASSERT_OK(index->Search(MatrixView{base.data(), 1, kDim}, params, &results));
  ASSERT_EQ(results.count_of(0), 10u);
  for (size_t i = 0; i < 10; ++i) {
    const Label l = results.labels_of(0)[i];
    const double truth = testutil::ReferenceDistance(Metric::kInnerProduct, base.data(), base.data() + l * kDim, kDim);
    EXPECT_NEAR(results.distances_of(0)[i], truth, 1e-3 * std::abs(truth) + 1e-3);
    if (i > 0) {
      EXPECT_LE(results.distances_of(0)[i - 1], results.distances_of(0)[i]);
    }
  }
  // The similarity of inner product is the negated distance.
  EXPECT_FLOAT_EQ(DistanceToScore(Metric::kInnerProduct, results.distances_of(0)[0]), -results.distances_of(0)[0]);
}

TEST(HnswSearchTest, SingleThreadBuildWithSeedIsDeterministic) {
  hnsw::HnswOptions options;
  options.build_threads = 1;
  options.seed = 7;
  const auto base = ClusteredVectors(1500, kDim, 10, 4);
  const auto queries = ClusteredVectors(20, kDim, 10, 5);
  SearchResults first, second;
  SearchParams params;
  params.k = 10;
  params.ef = 20;  // small beam: differences in the graph would show
  for (SearchResults* out : {&first, &second}) {
    auto index = MakeIndex(kDim, Metric::kL2, options);
    ASSERT_OK(index->Add(Iota(1500), MatrixView{base.data(), 1500, kDim}));
    ASSERT_OK(index->Search(MatrixView{queries.data(), 20, kDim}, params, out));
    EXPECT_EQ(index->stats().nodes_per_level, index->stats().nodes_per_level);
  }
  EXPECT_EQ(first.labels, second.labels);
  EXPECT_EQ(first.distances, second.distances);
}

TEST(HnswSearchTest, EmptyIndexGivesEmptyRows) {
  auto index = MakeIndex(kDim, Metric::kL2);
  const auto q = ClusteredVectors(3, kDim, 1, 6);
  SearchResults results;
  ASSERT_OK(index->Search(MatrixView{q.data(), 3, kDim}, SearchParams{}, &results));
  EXPECT_EQ(results.num_queries, 3u);
  EXPECT_EQ(results.k, 0u);
}

TEST(HnswSearchTest, KIsClampedToSize) {
  auto index = MakeIndex(kDim, Metric::kL2);
  const auto base = ClusteredVectors(7, kDim, 2, 7);
  ASSERT_OK(index->Add(Iota(7), MatrixView{base.data(), 7, kDim}));
  SearchParams params;
  params.k = 50;
  SearchResults results;
  ASSERT_OK(index->Search(MatrixView{base.data(), 2, kDim}, params, &results));
  EXPECT_EQ(results.k, 7u);
  EXPECT_EQ(results.count_of(0), 7u);
  EXPECT_EQ(results.labels_of(0)[0], 0u);
  EXPECT_EQ(results.labels_of(1)[0], 1u);
}

TEST(HnswSearchTest, ArgumentErrorsLeaveIndexUnchanged) {
  auto index = MakeIndex(kDim, Metric::kL2);
  const auto base = ClusteredVectors(100, kDim, 2, 8);
  ASSERT_OK(index->Add(Iota(100), MatrixView{base.data(), 100, kDim}));
  const size_t memory = index->memory_bytes();

  std::vector<float> bad(base.begin(), base.begin() + 2 * kDim);
  bad[kDim + 3] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_STATUS(index->Add(Iota(2, 1000), MatrixView{bad.data(), 2, kDim}), StatusCode::kInvalidArgument);
  bad[kDim + 3] = std::numeric_limits<float>::infinity();
  EXPECT_STATUS(index->Add(Iota(2, 1000), MatrixView{bad.data(), 2, kDim}), StatusCode::kInvalidArgument);
  EXPECT_STATUS(index->Add(Iota(2, 1000), MatrixView{base.data(), 2, kDim - 1}), StatusCode::kInvalidArgument);
  EXPECT_STATUS(index->Add(Iota(3, 1000), MatrixView{base.data(), 2, kDim}), StatusCode::kInvalidArgument);
  const std::vector<Label> twice = {5000, 5000};
  EXPECT_STATUS(index->Add(twice, MatrixView{base.data(), 2, kDim}), StatusCode::kInvalidArgument);
  const std::vector<Label> reserved = {kNoLabel};
  EXPECT_STATUS(index->Add(reserved, MatrixView{base.data(), 1, kDim}), StatusCode::kInvalidArgument);
  EXPECT_EQ(index->size(), 100u);
  EXPECT_EQ(index->memory_bytes(), memory);

  SearchResults results;
  results.Resize(1, 1);
  results.labels[0] = 42;
  SearchParams params;
  params.k = 0;
  EXPECT_STATUS(index->Search(MatrixView{base.data(), 1, kDim}, params, &results), StatusCode::kInvalidArgument);
  params.k = 5;
  EXPECT_STATUS(index->Search(MatrixView{base.data(), 1, kDim + 1}, params, &results), StatusCode::kInvalidArgument);
  std::vector<float> nan_query(base.begin(), base.begin() + kDim);
  nan_query[0] = std::nanf("");
  EXPECT_STATUS(index->Search(MatrixView{nan_query.data(), 1, kDim}, params, &results), StatusCode::kInvalidArgument);
  EXPECT_EQ(results.labels[0], 42u);  // untouched
}

TEST(HnswSearchTest, InvalidParametersAreClearErrors) {
  hnsw::HnswOptions options;
  options.m = 1;
  auto r = HnswIndex::Create(kDim, Metric::kL2, options);
  EXPECT_STATUS(r, StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("m must be"), std::string::npos) << r.status().ToString();
  options = {};
  options.ef_construction = 0;
  EXPECT_STATUS(HnswIndex::Create(kDim, Metric::kL2, options), StatusCode::kInvalidArgument);
  options = {};
  options.rerank = true;  // f32 is exact already
  EXPECT_STATUS(HnswIndex::Create(kDim, Metric::kL2, options), StatusCode::kInvalidArgument);
  EXPECT_STATUS(HnswIndex::Create(0, Metric::kL2, {}), StatusCode::kInvalidArgument);
}

TEST(HnswSearchTest, SpecOptionsAreParsed) {
  auto spec = IndexSpec::Parse("hnsw:m=8,ef_construction=64,ef_search=32,storage=int8,rerank=true,seed=3");
  ASSERT_OK(spec);
  auto index = CreateHnswIndex(*spec, 16, Metric::kCosine);
  ASSERT_OK(index);
  EXPECT_EQ((*index)->spec(), "hnsw:m=8,ef_construction=64,ef_search=32,storage=int8,rerank=true,seed=3");
  auto bad = IndexSpec::Parse("hnsw:m=8,colour=blue");
  ASSERT_OK(bad);
  EXPECT_STATUS(CreateHnswIndex(*bad, 16, Metric::kL2), StatusCode::kInvalidArgument);
  auto bad_storage = IndexSpec::Parse("hnsw:storage=f64");
  ASSERT_OK(bad_storage);
  EXPECT_STATUS(CreateHnswIndex(*bad_storage, 16, Metric::kL2), StatusCode::kInvalidArgument);
}

TEST(HnswSearchTest, StatsCountLevelsAndDistances) {
  auto index = MakeIndex(kDim, Metric::kL2);
  const auto base = ClusteredVectors(2000, kDim, 10, 9);
  ASSERT_OK(index->Add(Iota(2000), MatrixView{base.data(), 2000, kDim}));
  const HnswStats st = index->stats();
  EXPECT_EQ(st.count, 2000u);
  EXPECT_EQ(st.deleted, 0u);
  size_t total = 0;
  for (size_t c : st.nodes_per_level) total += c;
  EXPECT_EQ(total, 2000u);
  ASSERT_GE(st.nodes_per_level.size(), 2u);
  // Level multiplier 1/ln(16): about 1/16 of the nodes reach layer 1.
  EXPECT_GT(st.nodes_per_level[0], 1700u);
  EXPECT_GE(st.memory_bytes, 2000u * (kDim * 4 + 32 * 4));
  SearchParams params;
  SearchResults results;
  HnswSearchStats search_stats;
  ASSERT_OK(index->SearchWithStats(MatrixView{base.data(), 4, kDim}, params, {}, &results, &search_stats));
  EXPECT_GT(search_stats.distance_computations, 4u * 100u);
  EXPECT_LT(search_stats.distance_computations, 4u * 2000u);
}

}  // namespace
}  // namespace vecdex
