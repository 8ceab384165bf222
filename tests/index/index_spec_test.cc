#include "index/index_spec.h"

#include <gtest/gtest.h>

#include "index/ground_truth.h"
#include "testutil/test_util.h"
#include "vecdex/index.h"

namespace vecdex {
namespace {

TEST(IndexSpecTest, ParsesKindAndOptions) {
  auto spec = IndexSpec::Parse(" HNSW : m=16, ef_construction = 200 ,storage=int8");
  ASSERT_OK(spec);
  EXPECT_EQ(spec->kind(), "hnsw");
  auto m = spec->TakeSize("m", 0, 2, 100);
  ASSERT_OK(m);
  EXPECT_EQ(*m, 16u);
  EXPECT_EQ(*spec->TakeSize("ef_construction", 0, 1, 10000), 200u);
  EXPECT_EQ(*spec->TakeSize("absent", 42, 1, 100), 42u);
  EXPECT_EQ(*spec->TakeString("storage", "f32"), "int8");
  EXPECT_OK(spec->CheckAllConsumed());
}

TEST(IndexSpecTest, MalformedSpecsAreClearErrors) {
  EXPECT_STATUS(IndexSpec::Parse(""), StatusCode::kInvalidArgument);
  EXPECT_STATUS(IndexSpec::Parse(":m=3"), StatusCode::kInvalidArgument);
  EXPECT_STATUS(IndexSpec::Parse("hnsw:m"), StatusCode::kInvalidArgument);
  EXPECT_STATUS(IndexSpec::Parse("hnsw:m="), StatusCode::kInvalidArgument);
  EXPECT_STATUS(IndexSpec::Parse("hnsw:m=1,m=2"), StatusCode::kInvalidArgument);
  auto spec = IndexSpec::Parse("hnsw:m=abc,x=1,flag=maybe,big=99999999999999999999999");
  ASSERT_OK(spec);
  EXPECT_STATUS(spec->TakeSize("m", 16, 2, 100), StatusCode::kInvalidArgument);
  EXPECT_STATUS(spec->TakeBool("flag", false), StatusCode::kInvalidArgument);
  EXPECT_STATUS(spec->TakeSize("big", 1, 0, 100), StatusCode::kInvalidArgument);
  const Status unknown = spec->CheckAllConsumed();
  EXPECT_EQ(unknown.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.message().find("x"), std::string::npos);
}

TEST(IndexRegistryTest, CreatesKnownKindsAndRejectsOthers) {
  auto flat = CreateIndex("flat", 8, Metric::kL2);
  ASSERT_OK(flat);
  EXPECT_EQ((*flat)->dim(), 8u);
  EXPECT_EQ((*flat)->spec(), "flat");
  EXPECT_STATUS(CreateIndex("flat:m=3", 8, Metric::kL2), StatusCode::kInvalidArgument);
  EXPECT_STATUS(CreateIndex("annoy", 8, Metric::kL2), StatusCode::kInvalidArgument);
  EXPECT_STATUS(CreateIndex("flat", 0, Metric::kL2), StatusCode::kInvalidArgument);
  EXPECT_STATUS(CreateIndex("flat", kMaxDimension + 1, Metric::kL2), StatusCode::kInvalidArgument);
}

TEST(GroundTruthTest, ExactNeighboursAndRecall) {
  const size_t n = 400, dim = 10, num_queries = 30, k = 5;
  const auto base = testutil::RandomVectors(n, dim, 1);
  const auto queries = testutil::RandomVectors(num_queries, dim, 2);
  auto truth = ComputeGroundTruth({base.data(), n, dim}, {queries.data(), num_queries, dim}, Metric::kL2, k);
  ASSERT_OK(truth);
  ASSERT_EQ(truth->k, k);
  for (size_t q = 0; q < num_queries; ++q) {
    const auto want = testutil::ReferenceTopK(Metric::kL2, base.data(), n, dim, queries.data() + q * dim, k);
    for (size_t i = 0; i < k; ++i) EXPECT_EQ(truth->row(q)[i], static_cast<int32_t>(want[i]));
  }
  // Recall of the truth against itself is 1; of a shifted answer, less.
  SearchResults found;
  found.Resize(num_queries, k);
  for (size_t i = 0; i < found.labels.size(); ++i) found.labels[i] = static_cast<Label>(truth->ids[i]);
  EXPECT_DOUBLE_EQ(RecallAtK(found, *truth, k), 1.0);
  for (size_t q = 0; q < num_queries; ++q) found.labels_of(q)[0] = kNoLabel;
  EXPECT_NEAR(RecallAtK(found, *truth, k), 0.8, 1e-12);
}

}  // namespace
}  // namespace vecdex
