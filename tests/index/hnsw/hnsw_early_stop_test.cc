// Early termination (the `patience` and `slack` options): fewer distances for nearly the same
// recall with every metric, still k sorted results (filtered too), the options' validation, and
// their place in the file header.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <utility>

#include "common/coding.h"
#include "common/crc32c.h"
#include "index/hnsw/hnsw_index.h"
#include "index/hnsw/hnsw_test_util.h"
#include "index/index_spec.h"

namespace vecdex {
namespace {

using hnsw_test::ClusteredVectors;
using hnsw_test::Iota;
using hnsw_test::MakeIndex;
using hnsw_test::MeanRecall;

class OneIn50 final : public LabelFilter {
 public:
  bool Matches(Label label) const override { return label % 50 == 7; }
};

constexpr size_t kDim = 16;
constexpr size_t kPoints = 4000;
constexpr size_t kQueries = 200;

struct Measured {
  double recall = 0;
  size_t distances = 0;
};

Measured Measure(size_t patience, size_t slack, size_t ef, Metric metric = Metric::kL2) {
  hnsw::HnswOptions options;
  options.patience = patience;
  options.slack = slack;
  options.build_threads = 1;
  auto index = MakeIndex(kDim, metric, options);
  const auto base = ClusteredVectors(kPoints, kDim, 40, 11);
  const auto queries = ClusteredVectors(kQueries, kDim, 40, 12);
  EXPECT_OK(index->Add(Iota(kPoints), MatrixView{base.data(), kPoints, kDim}));
  SearchParams params;
  params.k = 10;
  params.ef = ef;
  SearchResults results;
  HnswSearchStats stats;
  EXPECT_OK(index->SearchWithStats(MatrixView{queries.data(), kQueries, kDim}, params, {}, &results, &stats));
  Measured m;
  m.distances = stats.distance_computations;
  m.recall = MeanRecall(*index, metric, base, kDim, queries, 10, params);
  return m;
}

TEST(HnswEarlyStopTest, PatienceStopsEarlyWithNearlyTheSameRecall) {
  // A wide beam on easy data: the k nearest settle long before the beam is exhausted.
  const Measured full = Measure(0, 0, 400);
  const Measured early = Measure(30, 0, 400);
  EXPECT_LT(early.distances, full.distances * 3 / 4) << early.distances << " vs " << full.distances;
  EXPECT_GE(early.recall, full.recall - 0.02) << early.recall << " vs " << full.recall;
  EXPECT_GE(early.recall, 0.95);
}

// Slack compares squared distances by ratio, so each metric must first be brought to them (the
// inner product is shifted): a wrong shift either stops every query at once (recall falls) or
// never (no saving).
class HnswSlackTest : public ::testing::TestWithParam<Metric> {};

TEST_P(HnswSlackTest, StopsEarlyWithNearlyTheSameRecall) {
  const Measured full = Measure(0, 0, 400, GetParam());
  const Measured early = Measure(0, 20, 400, GetParam());
  // Measured: L2 and cosine 0.31x the distances, inner product 0.71x (its squared distances
  // live in the augmented space, where the k-th nearest is relatively farther).
  EXPECT_LT(early.distances, full.distances * 4 / 5) << early.distances << " vs " << full.distances;
  EXPECT_GE(early.recall, full.recall - 0.02) << early.recall << " vs " << full.recall;
}

INSTANTIATE_TEST_SUITE_P(Metrics, HnswSlackTest,
                         ::testing::Values(Metric::kL2, Metric::kCosine, Metric::kInnerProduct));

TEST(HnswEarlyStopTest, FilteredSearchStillReturnsKSortedMatches) {
  hnsw::HnswOptions options;
  options.patience = 10;  // aggressive: both rules stop as soon as they may
  options.slack = 1;
  auto index = MakeIndex(kDim, Metric::kL2, options);
  const auto base = ClusteredVectors(kPoints, kDim, 40, 13);
  ASSERT_OK(index->Add(Iota(kPoints), MatrixView{base.data(), kPoints, kDim}));
  // One label in 50 matches, spread over every cluster.
  const OneIn50 filter;
  SearchParams params;
  params.k = 10;
  params.ef = 64;
  params.filter = &filter;
  SearchResults results;
  HnswSearchOptions graph_only;
  graph_only.filter_strategy = hnsw::FilterStrategy::kGraph;
  for (size_t q = 0; q < 20; ++q) {
    ASSERT_OK(index->SearchWithStats(MatrixView{base.data() + q * 97 * kDim, 1, kDim}, params, graph_only, &results,
                                     nullptr));
    ASSERT_EQ(results.count_of(0), 10u);
    for (size_t i = 0; i < 10; ++i) {
      EXPECT_EQ(results.labels_of(0)[i] % 50, 7u);
      if (i > 0) {
        EXPECT_LE(results.distances_of(0)[i - 1], results.distances_of(0)[i]);
      }
    }
  }
}

Result<std::unique_ptr<Index>> FromSpec(const std::string& text) {
  VECDEX_ASSIGN_OR_RETURN(IndexSpec spec, IndexSpec::Parse(text));
  return CreateHnswIndex(spec, kDim, Metric::kCosine);
}

TEST(HnswEarlyStopTest, SpecParsesValidatesAndPrintsTheOptions) {
  const std::pair<std::string, size_t hnsw::HnswOptions::*> fields[] = {{"patience", &hnsw::HnswOptions::patience},
                                                                        {"slack", &hnsw::HnswOptions::slack}};
  for (const auto& [name, field] : fields) {
    auto ok = FromSpec("hnsw:" + name + "=30");
    ASSERT_OK(ok.status());
    const hnsw::HnswOptions& parsed = static_cast<HnswIndex*>(ok->get())->options();
    EXPECT_EQ(parsed.*field, 30u) << name;
    EXPECT_NE(parsed.ToSpec().find("," + name + "=30"), std::string::npos) << parsed.ToSpec();
    auto bad = FromSpec("hnsw:" + name + "=1001");
    ASSERT_FALSE(bad.ok()) << name;
    EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(bad.status().message().find(name), std::string::npos) << bad.status().ToString();
    hnsw::HnswOptions options;
    options.*field = 1001;
    EXPECT_EQ(options.Validate().code(), StatusCode::kInvalidArgument) << name;
  }
}

TEST(HnswEarlyStopTest, FileKeepsTheOptionAndRejectsABadValue) {
  hnsw::HnswOptions options;
  options.patience = 25;
  options.slack = 15;
  auto index = MakeIndex(4, Metric::kL2, options);
  const auto base = ClusteredVectors(100, 4, 2, 14);
  ASSERT_OK(index->Add(Iota(100), MatrixView{base.data(), 100, 4}));
  const std::string path = ::testing::TempDir() + "/early_stop_" + std::to_string(::getpid());
  ASSERT_OK(index->Save(path));
  for (bool map : {false, true}) {
    auto loaded = map ? HnswIndex::View(path) : HnswIndex::Load(path);
    ASSERT_OK(loaded.status());
    EXPECT_EQ((*loaded)->options().patience, 25u);
    EXPECT_EQ((*loaded)->options().slack, 15u);
  }
  // Out of range, with the header checksum recomputed: the parameter check must catch it.
  const std::vector<uint8_t> saved = testutil::ReadFileBytes(path);
  for (const auto& [offset, name] : {std::pair<size_t, std::string>{112, "patience"}, {116, "slack"}}) {
    std::vector<uint8_t> bytes = saved;
    coding::Put<uint32_t>(bytes.data() + offset, 5000);
    coding::Put<uint32_t>(bytes.data() + 124, Crc32c(bytes.data(), 124));
    testutil::WriteFileBytes(path, bytes);
    auto damaged = HnswIndex::Load(path);
    ASSERT_FALSE(damaged.ok());
    EXPECT_EQ(damaged.status().code(), StatusCode::kCorruption);
    EXPECT_NE(damaged.status().message().find(name), std::string::npos) << damaged.status().ToString();
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace vecdex
