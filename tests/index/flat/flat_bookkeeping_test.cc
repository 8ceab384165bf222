// FlatIndex bookkeeping that memory budgets and verification rely on: EstimateAddBytes against
// the real growth of memory_bytes(), Labels(), and the concurrency/read-only flags.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "index/flat/flat_index.h"
#include "testutil/test_util.h"

namespace vecdex {
namespace {

using testutil::Iota;
using testutil::RandomVectors;

TEST(FlatBookkeepingTest, EstimateAddBytesMatchesTheGrowthOfABatch) {
  for (size_t dim : {size_t{1}, size_t{32}, size_t{129}}) {
    for (size_t n : {size_t{1000}, size_t{20000}}) {
      FlatIndex index(dim, Metric::kL2);
      const size_t before = index.memory_bytes();
      const std::vector<float> base = RandomVectors(n, dim, 3);
      ASSERT_OK(index.Add(Iota(n), {base.data(), n, dim}));
      const double grown = static_cast<double>(index.memory_bytes() - before);
      const double estimate = static_cast<double>(index.EstimateAddBytes(n));
      // The only slack: the bucket count rounds up to a prime (a few pointers).
      EXPECT_NEAR(estimate / grown, 1.0, 0.01) << "dim " << dim << " n " << n;
    }
  }
}

TEST(FlatBookkeepingTest, EstimateAddBytesIsLinear) {
  FlatIndex index(16, Metric::kCosine);
  EXPECT_EQ(index.EstimateAddBytes(0), 0u);
  EXPECT_EQ(index.EstimateAddBytes(10), 10 * index.EstimateAddBytes(1));
  EXPECT_GE(index.EstimateAddBytes(1), 16 * sizeof(float) + sizeof(Label));
}

TEST(FlatBookkeepingTest, LabelsAreTheLiveLabels) {
  const size_t n = 300, dim = 4;
  FlatIndex index(dim, Metric::kInnerProduct);
  EXPECT_TRUE(index.Labels().empty());
  const std::vector<float> base = RandomVectors(n, dim, 8);
  ASSERT_OK(index.Add(Iota(n, 50), {base.data(), n, dim}));
  std::vector<Label> removed;
  for (Label l = 50; l < 50 + n; l += 7) removed.push_back(l);
  ASSERT_OK(index.Remove(removed));
  std::vector<Label> expected;
  for (Label l = 50; l < 50 + n; ++l) {
    if (std::find(removed.begin(), removed.end(), l) == removed.end()) expected.push_back(l);
  }
  std::vector<Label> labels = index.Labels();
  std::sort(labels.begin(), labels.end());
  EXPECT_EQ(labels, expected);
  EXPECT_EQ(labels.size(), index.size());
}

TEST(FlatBookkeepingTest, WritersNeedExternalSynchronisation) {
  FlatIndex index(4, Metric::kL2);
  EXPECT_FALSE(index.concurrent_writes());
  EXPECT_FALSE(index.read_only());
}

}  // namespace
}  // namespace vecdex
