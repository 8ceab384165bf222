#include "common/top_k.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "common/parallel.h"

namespace vecdex {
namespace {

TEST(TopKTest, KeepsTheNearestInTieOrder) {
  TopK top(3);
  EXPECT_EQ(top.threshold(), std::numeric_limits<float>::infinity());
  // Push says whether the k nearest changed (early termination counts on it).
  EXPECT_TRUE(top.Push(5, 1));
  EXPECT_TRUE(top.Push(1, 9));
  EXPECT_TRUE(top.Push(1, 4));
  EXPECT_FALSE(top.Push(7, 2));
  EXPECT_FALSE(top.Push(5, 3));  // ties with the farthest (5, 1) but has a larger label
  EXPECT_TRUE(top.Push(1, 6));   // ties with 1: label 6 enters ahead of 9
  std::vector<Neighbor> out;
  top.TakeSorted(&out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].label, 4u);
  EXPECT_EQ(out[1].label, 6u);
  EXPECT_EQ(out[2].label, 9u);
  EXPECT_EQ(top.size(), 0u);
}

TEST(TopKTest, MatchesSortOnRandomStreams) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> value(0, 50);  // many ties
  for (size_t k : {1, 5, 64}) {
    std::vector<Neighbor> all;
    TopK top(k);
    for (Label l = 0; l < 500; ++l) {
      const float d = static_cast<float>(value(rng));
      all.push_back({d, l});
      top.Push(d, l);
    }
    std::sort(all.begin(), all.end());
    std::vector<Neighbor> out;
    top.TakeSorted(&out);
    ASSERT_EQ(out.size(), k);
    for (size_t i = 0; i < k; ++i) EXPECT_EQ(out[i].label, all[i].label);
  }
}

TEST(TopKTest, ZeroKeepsNothing) {
  TopK top(0);
  EXPECT_FALSE(top.Push(1, 1));
  EXPECT_EQ(top.size(), 0u);
}

TEST(ParallelForTest, CoversEveryItemOnce) {
  for (size_t threads : {1, 2, 7}) {
    std::vector<int> hits(1001, 0);
    ParallelFor(hits.size(), 10, threads, [&](size_t begin, size_t end, size_t worker) {
      EXPECT_LT(worker, threads);
      for (size_t i = begin; i < end; ++i) ++hits[i];
    });
    EXPECT_EQ(std::count(hits.begin(), hits.end(), 1), 1001);
  }
  ParallelFor(0, 10, 2, [](size_t, size_t, size_t) { FAIL(); });
}

}  // namespace
}  // namespace vecdex
