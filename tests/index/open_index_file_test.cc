// OpenIndexFile: dispatch on the magic to the kind that wrote the file, in both open modes, and
// clean errors naming the file for anything else. Also the bookkeeping both kinds offer through
// the Index interface (Labels, EstimateAddBytes) that collections rely on.
#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "common/coding.h"
#include "common/crc32c.h"
#include "testutil/temp_dir.h"
#include "testutil/test_util.h"
#include "vecdex/index.h"

namespace vecdex {
namespace {

using testutil::Iota;
using testutil::RandomVectors;

constexpr size_t kDim = 12;

std::unique_ptr<Index> Build(const std::string& spec, size_t n, Metric metric = Metric::kL2) {
  auto created = CreateIndex(spec, kDim, metric);
  EXPECT_TRUE(created.ok()) << created.status().ToString();
  const std::vector<float> base = RandomVectors(n, kDim, 21);
  EXPECT_OK((*created)->Add(Iota(n), {base.data(), n, kDim}));
  return std::move(created).value();
}

void ExpectSameResults(const Index& a, const Index& b) {
  const std::vector<float> queries = RandomVectors(20, kDim, 22);
  SearchParams params;
  params.k = 5;
  SearchResults ra, rb;
  ASSERT_OK(a.Search({queries.data(), 20, kDim}, params, &ra));
  ASSERT_OK(b.Search({queries.data(), 20, kDim}, params, &rb));
  EXPECT_EQ(ra.labels, rb.labels);
  EXPECT_EQ(ra.distances, rb.distances);
}

std::vector<Label> Sorted(std::vector<Label> labels) {
  std::sort(labels.begin(), labels.end());
  return labels;
}

struct KindCase {
  const char* spec;
  size_t header_bytes;  // where the header checksum sits: header_bytes - 4
};

class OpenIndexFileTest : public testutil::TempDirTest, public ::testing::WithParamInterface<KindCase> {};

TEST_P(OpenIndexFileTest, OpensBothModes) {
  const auto index = Build(GetParam().spec, 400);
  const std::string path = Path("index.vdx");
  ASSERT_OK(index->Save(path));
  const bool is_hnsw = std::string(GetParam().spec).rfind("hnsw", 0) == 0;
  for (IndexOpenMode mode : {IndexOpenMode::kRead, IndexOpenMode::kMap}) {
    auto opened = OpenIndexFile(path, mode);
    ASSERT_OK(opened);
    Index& copy = **opened;
    EXPECT_EQ(copy.spec(), index->spec());
    EXPECT_EQ(copy.size(), index->size());
    EXPECT_EQ(copy.dim(), kDim);
    EXPECT_EQ(Sorted(copy.Labels()), Sorted(index->Labels()));
    ExpectSameResults(*index, copy);
    // Only an HNSW file is mapped; a flat file is read in either mode.
    const bool mapped = is_hnsw && mode == IndexOpenMode::kMap;
    EXPECT_EQ(copy.read_only(), mapped);
    const std::vector<float> more = RandomVectors(2, kDim, 23);
    const Status added = copy.Add(Iota(2, 10000), {more.data(), 2, kDim});
    const std::vector<Label> one = {0};
    auto removed = copy.Remove(one);
    if (mapped) {
      EXPECT_EQ(added.code(), StatusCode::kFailedPrecondition) << added.ToString();
      EXPECT_STATUS(removed, StatusCode::kFailedPrecondition);
    } else {
      EXPECT_OK(added);
      ASSERT_OK(removed);
      EXPECT_EQ(*removed, 1u);
    }
  }
}

TEST_P(OpenIndexFileTest, AnotherVersionIsFailedPreconditionInBothModes) {
  const auto index = Build(GetParam().spec, 50);
  const std::string path = Path("index.vdx");
  ASSERT_OK(index->Save(path));
  std::vector<uint8_t> bytes = testutil::ReadFileBytes(path);
  coding::Put<uint32_t>(bytes.data() + 8, 7);
  const size_t crc_at = GetParam().header_bytes - 4;
  coding::Put<uint32_t>(bytes.data() + crc_at, Crc32c(bytes.data(), crc_at));
  const std::string newer = WriteBytes("newer.vdx", bytes);
  for (IndexOpenMode mode : {IndexOpenMode::kRead, IndexOpenMode::kMap}) {
    auto r = OpenIndexFile(newer, mode);
    EXPECT_STATUS(r, StatusCode::kFailedPrecondition);
    EXPECT_NE(r.status().message().find(newer), std::string::npos) << r.status().ToString();
  }
  // The same edit without resealing the header is damage, not a newer file.
  coding::Put<uint32_t>(bytes.data() + crc_at, 0);
  const std::string damaged = WriteBytes("damaged.vdx", bytes);
  EXPECT_STATUS(OpenIndexFile(damaged, IndexOpenMode::kRead), StatusCode::kCorruption);
}

TEST_P(OpenIndexFileTest, DamageIsCorruptionNamingTheFile) {
  const auto index = Build(GetParam().spec, 60);
  const std::string path = Path("index.vdx");
  ASSERT_OK(index->Save(path));
  const std::vector<uint8_t> bytes = testutil::ReadFileBytes(path);
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 60; ++trial) {
    std::vector<uint8_t> copy = bytes;
    const size_t offset = rng() % copy.size();
    copy[offset] = static_cast<uint8_t>(copy[offset] ^ (1u << (rng() % 8)));
    if (trial % 3 == 0) copy.resize(rng() % copy.size());
    const std::string bad = WriteBytes("bad.vdx", copy);
    for (IndexOpenMode mode : {IndexOpenMode::kRead, IndexOpenMode::kMap}) {
      auto r = OpenIndexFile(bad, mode);
      ASSERT_FALSE(r.ok()) << "trial " << trial;
      EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
      EXPECT_NE(r.status().message().find(bad), std::string::npos) << r.status().ToString();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, OpenIndexFileTest,
                         ::testing::Values(KindCase{"flat", 64}, KindCase{"hnsw:m=8,ef_construction=40", 128},
                                           KindCase{"hnsw:m=8,storage=int8,rerank=true", 128}),
                         [](const ::testing::TestParamInfo<KindCase>& info) {
                           return std::string(info.index == 0 ? "flat" : info.index == 1 ? "hnsw" : "hnsw_int8");
                         });

class OpenIndexFileErrorTest : public testutil::TempDirTest {};

TEST_F(OpenIndexFileErrorTest, UnknownMagicIsCorruptionNamingTheFile) {
  for (size_t size : {size_t{0}, size_t{3}, size_t{8}, size_t{500}}) {
    const std::string path = WriteBytes("other.bin", std::vector<uint8_t>(size, 'Q'));
    for (IndexOpenMode mode : {IndexOpenMode::kRead, IndexOpenMode::kMap}) {
      auto r = OpenIndexFile(path, mode);
      EXPECT_STATUS(r, StatusCode::kCorruption);
      EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().ToString();
    }
  }
}

TEST_F(OpenIndexFileErrorTest, MissingFileOrDirectoryIsIOErrorNamingIt) {
  const std::string missing = Path("absent.vdx");
  auto r = OpenIndexFile(missing, IndexOpenMode::kRead);
  EXPECT_STATUS(r, StatusCode::kIOError);
  EXPECT_NE(r.status().message().find(missing), std::string::npos) << r.status().ToString();
  auto dir = OpenIndexFile(dir_.string(), IndexOpenMode::kMap);
  EXPECT_FALSE(dir.ok());
  EXPECT_NE(dir.status().message().find(dir_.string()), std::string::npos) << dir.status().ToString();
}

// What a memory budget is told before an Add, against what the Add then cost.
TEST(IndexBookkeepingTest, EstimateAddBytesTracksMemoryGrowth) {
  struct Case {
    const char* spec;
    double low, high;  // allowed estimate / growth
  };
  for (const Case& c : {Case{"flat", 0.99, 1.01}, Case{"hnsw:m=16", 0.5, 2.0},
                        Case{"hnsw:m=16,storage=int8,rerank=true", 0.5, 2.0}}) {
    // A first batch calibrates (int8) and sets up the regions; the second is measured.
    auto index = Build(c.spec, 1000);
    const size_t n = 4000;
    const std::vector<float> more = RandomVectors(n, kDim, 31);
    const size_t before = index->memory_bytes();
    const size_t estimate = index->EstimateAddBytes(n);
    ASSERT_OK(index->Add(Iota(n, 100000), {more.data(), n, kDim}));
    const double grown = static_cast<double>(index->memory_bytes() - before);
    ASSERT_GT(grown, 0) << c.spec;
    const double ratio = static_cast<double>(estimate) / grown;
    EXPECT_GE(ratio, c.low) << c.spec << " estimate " << estimate << " grown " << grown;
    EXPECT_LE(ratio, c.high) << c.spec << " estimate " << estimate << " grown " << grown;
  }
}

TEST(IndexBookkeepingTest, LabelsExcludeRemovedOnes) {
  for (const char* spec : {"flat", "hnsw:m=8"}) {
    auto index = Build(spec, 200);
    std::vector<Label> removed = {0, 5, 199, 77};
    ASSERT_OK(index->Remove(removed));
    std::vector<Label> expected;
    for (Label l = 0; l < 200; ++l) {
      if (std::find(removed.begin(), removed.end(), l) == removed.end()) expected.push_back(l);
    }
    EXPECT_EQ(Sorted(index->Labels()), expected) << spec;
  }
}

}  // namespace
}  // namespace vecdex
