#include "io/synthetic.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "testutil/test_util.h"

namespace vecdex::io {
namespace {

bool SameBits(const FloatDataset& a, const FloatDataset& b) {
  return a.rows == b.rows && a.dim == b.dim && a.values.size() == b.values.size() &&
         std::memcmp(a.values.data(), b.values.data(), a.values.size() * sizeof(float)) == 0;
}

double SquaredDistance(const float* a, const float* b, size_t dim) {
  double sum = 0;
  for (size_t j = 0; j < dim; ++j) sum += (double{a[j]} - b[j]) * (double{a[j]} - b[j]);
  return sum;
}

size_t NearestRow(const FloatDataset& rows, const float* x) {
  size_t best = 0;
  double best_distance = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < rows.rows; ++i) {
    const double d = SquaredDistance(rows.row(i), x, rows.dim);
    if (d < best_distance) best_distance = d, best = i;
  }
  return best;
}

TEST(SyntheticTest, ShapeAndDeterminism) {
  SyntheticSpec spec;
  spec.rows = 3000;  // not a multiple of the chunk size
  spec.dim = 19;
  spec.clusters = 7;
  spec.seed = 42;
  auto a = GenerateClusteredGaussian(spec);
  auto b = GenerateClusteredGaussian(spec);
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_EQ(a->rows, 3000u);
  EXPECT_EQ(a->dim, 19u);
  EXPECT_EQ(a->values.size(), 3000u * 19u);
  EXPECT_TRUE(SameBits(*a, *b));
  for (float v : a->values) ASSERT_TRUE(std::isfinite(v));

  spec.seed = 43;
  auto other = GenerateClusteredGaussian(spec);
  ASSERT_OK(other);
  EXPECT_FALSE(SameBits(*a, *other));
}

TEST(SyntheticTest, ThreadCountDoesNotChangeOutput) {
  SyntheticSpec spec;
  spec.rows = 5000;
  spec.dim = 8;
  spec.seed = 9;
  spec.threads = 1;
  auto one = GenerateClusteredGaussian(spec);
  spec.threads = 5;
  auto five = GenerateClusteredGaussian(spec);
  spec.threads = 0;
  auto all = GenerateClusteredGaussian(spec);
  ASSERT_OK(one);
  ASSERT_OK(five);
  ASSERT_OK(all);
  EXPECT_TRUE(SameBits(*one, *five));
  EXPECT_TRUE(SameBits(*one, *all));
}

TEST(SyntheticTest, FewerRowsGiveAPrefix) {
  SyntheticSpec spec;
  spec.rows = 2500;
  spec.dim = 6;
  auto full = GenerateClusteredGaussian(spec);
  spec.rows = 1500;
  auto part = GenerateClusteredGaussian(spec);
  ASSERT_OK(full);
  ASSERT_OK(part);
  ASSERT_EQ(part->values.size(), 1500u * 6u);
  EXPECT_EQ(std::memcmp(part->values.data(), full->values.data(), part->values.size() * 4), 0);
}

TEST(SyntheticTest, PointsClusterAroundTheirCenters) {
  SyntheticSpec spec;
  spec.rows = 2000;
  spec.dim = 32;
  spec.clusters = 10;
  spec.spread = 0.5f;
  auto labeled = GenerateLabeledClusteredGaussian(spec);
  ASSERT_OK(labeled);
  ASSERT_EQ(labeled->cluster_of.size(), 2000u);
  ASSERT_EQ(labeled->centers.rows, 10u);
  auto plain = GenerateClusteredGaussian(spec);
  ASSERT_OK(plain);
  EXPECT_TRUE(SameBits(labeled->points, *plain));

  size_t own_nearest = 0;
  std::vector<size_t> cluster_sizes(10, 0);
  double sum = 0, sum_squares = 0;
  for (size_t i = 0; i < 2000; ++i) {
    const uint32_t cluster = labeled->cluster_of[i];
    ASSERT_LT(cluster, 10u);
    ++cluster_sizes[cluster];
    own_nearest += NearestRow(labeled->centers, labeled->points.row(i)) == cluster;
    for (size_t j = 0; j < spec.dim; ++j) {
      const double offset = labeled->points.row(i)[j] - labeled->centers.row(cluster)[j];
      sum += offset;
      sum_squares += offset * offset;
    }
  }
  EXPECT_GE(own_nearest, 1990u);
  for (size_t size : cluster_sizes) EXPECT_GT(size, 100u);  // uniform: about 200 each
  // Offsets from the center are N(0, spread^2) per component.
  const double n = 2000.0 * 32.0;
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(std::sqrt(sum_squares / n), 0.5, 0.01);
}

TEST(SyntheticTest, QueriesComeFromTheSameMixture) {
  SyntheticSpec spec;
  spec.rows = 1000;
  spec.dim = 24;
  spec.clusters = 5;
  auto pair = GenerateClusteredGaussianPair(spec, 200);
  auto labeled = GenerateLabeledClusteredGaussian(spec);
  ASSERT_OK(pair);
  ASSERT_OK(labeled);
  EXPECT_TRUE(SameBits(pair->base, labeled->points));
  EXPECT_EQ(pair->queries.rows, 200u);
  EXPECT_EQ(pair->queries.dim, 24u);
  EXPECT_NE(std::memcmp(pair->queries.values.data(), pair->base.values.data(), 200 * 24 * 4), 0);
  // Every query sits as close to some base center as base points do: about dim * spread^2.
  double total = 0;
  for (size_t q = 0; q < 200; ++q) {
    const float* query = pair->queries.row(q);
    total += SquaredDistance(labeled->centers.row(NearestRow(labeled->centers, query)), query, 24);
  }
  EXPECT_NEAR(total / 200, 24 * 0.25, 1.0);
}

TEST(SyntheticTest, EmptyAndInvalidSpecs) {
  SyntheticSpec spec;
  spec.dim = 4;
  auto empty = GenerateClusteredGaussian(spec);
  ASSERT_OK(empty);
  EXPECT_EQ(empty->rows, 0u);
  EXPECT_TRUE(empty->values.empty());

  spec.rows = 10;
  SyntheticSpec bad = spec;
  bad.dim = 0;
  EXPECT_STATUS(GenerateClusteredGaussian(bad), StatusCode::kInvalidArgument);
  bad.dim = kMaxDim + 1;
  EXPECT_STATUS(GenerateClusteredGaussian(bad), StatusCode::kInvalidArgument);
  bad = spec;
  bad.clusters = 0;
  EXPECT_STATUS(GenerateClusteredGaussian(bad), StatusCode::kInvalidArgument);
  bad = spec;
  bad.spread = -1.0f;
  EXPECT_STATUS(GenerateClusteredGaussian(bad), StatusCode::kInvalidArgument);
  bad.spread = std::numeric_limits<float>::quiet_NaN();
  EXPECT_STATUS(GenerateLabeledClusteredGaussian(bad), StatusCode::kInvalidArgument);
  bad = spec;
  bad.rows = std::numeric_limits<size_t>::max() / 2;
  EXPECT_STATUS(GenerateClusteredGaussian(bad), StatusCode::kInvalidArgument);
  EXPECT_STATUS(GenerateClusteredGaussianPair(spec, std::numeric_limits<size_t>::max()),
                StatusCode::kInvalidArgument);

  // Spread 0 puts every point on its center.
  spec.spread = 0.0f;
  spec.clusters = 1;
  auto collapsed = GenerateLabeledClusteredGaussian(spec);
  ASSERT_OK(collapsed);
  for (size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(std::memcmp(collapsed->points.row(i), collapsed->centers.row(0), 16), 0);
  }
}

}  // namespace
}  // namespace vecdex::io
