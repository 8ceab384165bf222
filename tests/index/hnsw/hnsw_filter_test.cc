// Filtered search: k results whenever k points match, good recall, by graph walk or exact scan.
#include <algorithm>

#include "index/hnsw/hnsw_index.h"
#include "index/hnsw/hnsw_test_util.h"

namespace vecdex {
namespace {

using hnsw_test::ClusteredVectors;
using hnsw_test::Iota;
using hnsw_test::MakeIndex;

constexpr size_t kDim = 24;
constexpr size_t kPoints = 5000;

// Matches labels whose hash falls below `fraction` (spread evenly over the clusters).
class FractionFilter final : public LabelFilter {
 public:
  explicit FractionFilter(double fraction) : threshold_(static_cast<uint64_t>(fraction * 1'000'000)) {}
  bool Matches(Label label) const override { return Hash(label) % 1'000'000 < threshold_; }

 private:
  static uint64_t Hash(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
  }
  uint64_t threshold_;
};

TEST(HnswFilterTest, ReturnsKMatchesAtEverySelectivity) {
  auto index = MakeIndex(kDim, Metric::kL2);
  const auto base = ClusteredVectors(kPoints, kDim, 25, 21);
  ASSERT_OK(index->Add(Iota(kPoints), MatrixView{base.data(), kPoints, kDim}));
  const auto queries = ClusteredVectors(40, kDim, 25, 22);
  const size_t nq = 40, k = 10;
  for (double fraction : {0.001, 0.005, 0.02, 0.1, 0.5}) {
    const FractionFilter filter(fraction);
    std::vector<float> matching;
    std::vector<Label> matching_labels;
    for (Label l = 0; l < kPoints; ++l) {
      if (!filter.Matches(l)) continue;
      matching.insert(matching.end(), base.begin() + l * kDim, base.begin() + (l + 1) * kDim);
      matching_labels.push_back(l);
    }
    for (auto strategy : {hnsw::FilterStrategy::kAuto, hnsw::FilterStrategy::kGraph, hnsw::FilterStrategy::kExact}) {
      SearchParams params;
      params.k = k;
      params.filter = &filter;
      HnswSearchOptions hnsw_options;
      hnsw_options.filter_strategy = strategy;
      SearchResults results;
      ASSERT_OK(index->SearchWithStats(MatrixView{queries.data(), nq, kDim}, params, hnsw_options, &results, nullptr));
      double recall = 0;
      for (size_t q = 0; q < nq; ++q) {
        const size_t expected = std::min(k, matching_labels.size());
        ASSERT_EQ(results.count_of(q), expected) << "fraction " << fraction << " strategy " << int(strategy);
        std::vector<uint64_t> found(results.labels_of(q), results.labels_of(q) + results.count_of(q));
        for (uint64_t l : found) EXPECT_TRUE(filter.Matches(l));
        auto truth = testutil::ReferenceTopK(Metric::kL2, matching.data(), matching_labels.size(), kDim,
                                             queries.data() + q * kDim, k);
        for (auto& t : truth) t = matching_labels[t];
        recall += testutil::Recall(found, truth);
      }
      EXPECT_GE(recall / nq, 0.95) << "fraction " << fraction << " strategy " << int(strategy);
    }
  }
}

TEST(HnswFilterTest, SelectiveFiltersUseTheExactScan) {
  auto index = MakeIndex(kDim, Metric::kCosine);
  const auto base = ClusteredVectors(kPoints, kDim, 25, 23);
  ASSERT_OK(index->Add(Iota(kPoints), MatrixView{base.data(), kPoints, kDim}));
  const FractionFilter filter(0.002);
  SearchParams params;
  params.filter = &filter;
  SearchResults results;
  HnswSearchStats stats;
  ASSERT_OK(index->SearchWithStats(MatrixView{base.data(), 5, kDim}, params, {}, &results, &stats));
  EXPECT_EQ(stats.exact_scans, 5u);
  // An exact scan scores only the matching points.
  EXPECT_LT(stats.distance_computations, 5u * 100u);
}

TEST(HnswFilterTest, IdBitmapFilterMatchesTheLabelFilter) {
  auto index = MakeIndex(kDim, Metric::kL2);
  const auto base = ClusteredVectors(kPoints, kDim, 25, 25);
  ASSERT_OK(index->Add(Iota(kPoints), MatrixView{base.data(), kPoints, kDim}));
  const auto queries = ClusteredVectors(20, kDim, 25, 26);
  for (double fraction : {0.01, 0.3}) {
    const FractionFilter filter(fraction);
    std::vector<Label> matching;
    for (Label l = 0; l < kPoints; ++l) {
      if (filter.Matches(l)) matching.push_back(l);
    }
    hnsw::IdBitmap bitmap(kPoints);
    for (hnsw::InternalId id : index->InternalIds(matching)) bitmap.Set(id);
    for (auto strategy : {hnsw::FilterStrategy::kGraph, hnsw::FilterStrategy::kExact}) {
      SearchParams by_label;
      by_label.filter = &filter;
      HnswSearchOptions options;
      options.filter_strategy = strategy;
      SearchResults expected, actual;
      ASSERT_OK(index->SearchWithStats(MatrixView{queries.data(), 20, kDim}, by_label, options, &expected, nullptr));
      options.id_filter = &bitmap;
      ASSERT_OK(
          index->SearchWithStats(MatrixView{queries.data(), 20, kDim}, SearchParams{}, options, &actual, nullptr));
      EXPECT_EQ(actual.labels, expected.labels) << fraction;
      EXPECT_EQ(actual.distances, expected.distances) << fraction;
    }
  }
}

TEST(HnswFilterTest, FilterMatchingNothingGivesEmptyRows) {
  auto index = MakeIndex(kDim, Metric::kL2);
  const auto base = ClusteredVectors(500, kDim, 5, 24);
  ASSERT_OK(index->Add(Iota(500), MatrixView{base.data(), 500, kDim}));
  const FractionFilter none(0.0);
  SearchParams params;
  params.filter = &none;
  SearchResults results;
  ASSERT_OK(index->Search(MatrixView{base.data(), 2, kDim}, params, &results));
  EXPECT_EQ(results.count_of(0), 0u);
  EXPECT_EQ(results.count_of(1), 0u);
}

}  // namespace
}  // namespace vecdex
