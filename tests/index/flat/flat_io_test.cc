// FlatIndex Save / Load: round trips for every metric, and truncated, bit-flipped, crafted or
// newer files giving a clean error that names the file, never a crash.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "common/coding.h"
#include "common/crc32c.h"
#include "index/flat/flat_index.h"
#include "testutil/temp_dir.h"
#include "testutil/test_util.h"

namespace vecdex {
namespace {

using testutil::Iota;
using testutil::RandomVectors;

std::vector<Label> Sorted(std::vector<Label> labels) {
  std::sort(labels.begin(), labels.end());
  return labels;
}

// Searches both indexes with one query (scan path) and a batch (sgemm path): bit-identical.
void ExpectSameResults(const Index& a, const Index& b, size_t dim) {
  const size_t num_queries = FlatIndex::kGemmMinQueries + 4;
  const std::vector<float> queries = RandomVectors(num_queries, dim, 99);
  SearchParams params;
  params.k = 7;
  for (size_t rows : {size_t{1}, num_queries}) {
    SearchResults ra, rb;
    ASSERT_OK(a.Search({queries.data(), rows, dim}, params, &ra));
    ASSERT_OK(b.Search({queries.data(), rows, dim}, params, &rb));
    EXPECT_EQ(ra.labels, rb.labels) << rows << " queries";
    EXPECT_EQ(ra.distances, rb.distances) << rows << " queries";
  }
}

// Rewrites the header checksum after a test edited header fields (a well-formed, crafted file).
void ResealHeader(std::vector<uint8_t>* bytes) {
  coding::Put<uint32_t>(bytes->data() + 60, Crc32c(bytes->data(), 60));
}

class FlatIoTest : public testutil::TempDirTest {
 protected:
  // A small index of `n` rows, saved; returns the path.
  std::string SaveSmall(size_t n, size_t dim, Metric metric = Metric::kL2) {
    FlatIndex index(dim, metric);
    const std::vector<float> base = RandomVectors(n, dim, 5);
    EXPECT_OK(index.Add(Iota(n, 100), {base.data(), n, dim}));
    const std::string path = Path("small.flat");
    EXPECT_OK(index.Save(path));
    return path;
  }
};

class FlatIoMetricTest : public testutil::TempDirTest, public ::testing::WithParamInterface<Metric> {};

TEST_P(FlatIoMetricTest, RoundTripGivesIdenticalIndex) {
  const Metric metric = GetParam();
  const size_t n = 700, dim = 19;
  FlatIndex index(dim, metric);
  const std::vector<float> base = RandomVectors(n, dim, 11);
  ASSERT_OK(index.Add(Iota(n, 1000), {base.data(), n, dim}));
  std::vector<Label> removed;
  for (Label l = 1000; l < 1000 + n; l += 13) removed.push_back(l);  // holes refilled from the end
  ASSERT_OK(index.Remove(removed));
  const std::string path = Path("index.flat");
  ASSERT_OK(index.Save(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

  auto loaded = FlatIndex::Load(path);
  ASSERT_OK(loaded);
  const FlatIndex& copy = **loaded;
  EXPECT_EQ(copy.dim(), dim);
  EXPECT_EQ(copy.metric(), metric);
  EXPECT_EQ(copy.size(), index.size());
  EXPECT_EQ(copy.spec(), "flat");
  EXPECT_EQ(Sorted(copy.Labels()), Sorted(index.Labels()));
  for (Label l : index.Labels()) {
    ASSERT_NE(copy.Find(l), nullptr);
    EXPECT_EQ(std::memcmp(copy.Find(l), index.Find(l), dim * sizeof(float)), 0) << "label " << l;
  }
  ExpectSameResults(index, copy, dim);

  // The loaded index is an ordinary writable index.
  const std::vector<float> more = RandomVectors(3, dim, 12);
  ASSERT_OK((*loaded)->Add(Iota(3, 1), {more.data(), 3, dim}));
  EXPECT_EQ(copy.size(), index.size() + 3);
}

INSTANTIATE_TEST_SUITE_P(Metrics, FlatIoMetricTest,
                         ::testing::Values(Metric::kL2, Metric::kInnerProduct, Metric::kCosine));

TEST_F(FlatIoTest, EmptyIndexRoundTrips) {
  FlatIndex index(8, Metric::kCosine);
  const std::string path = Path("empty.flat");
  ASSERT_OK(index.Save(path));
  EXPECT_EQ(std::filesystem::file_size(path), 64u);  // the header alone
  auto loaded = FlatIndex::Load(path);
  ASSERT_OK(loaded);
  EXPECT_EQ((*loaded)->size(), 0u);
  EXPECT_EQ((*loaded)->dim(), 8u);
  EXPECT_EQ((*loaded)->metric(), Metric::kCosine);
  EXPECT_TRUE((*loaded)->Labels().empty());
  const std::vector<float> query(8, 1.0f);
  SearchParams params;
  params.k = 3;
  SearchResults results;
  ASSERT_OK((*loaded)->Search({query.data(), 1, 8}, params, &results));
  EXPECT_EQ(results.k, 0u);
}

TEST_F(FlatIoTest, SaveReplacesAnExistingFile) {
  const std::string path = SaveSmall(4, 3);
  FlatIndex bigger(3, Metric::kL2);
  const std::vector<float> base = RandomVectors(9, 3, 1);
  ASSERT_OK(bigger.Add(Iota(9), {base.data(), 9, 3}));
  ASSERT_OK(bigger.Save(path));
  auto loaded = FlatIndex::Load(path);
  ASSERT_OK(loaded);
  EXPECT_EQ((*loaded)->size(), 9u);
}

TEST_F(FlatIoTest, SaveIntoAMissingDirectoryIsIOErrorNamingThePath) {
  FlatIndex index(3, Metric::kL2);
  const std::string path = Path("no/such/dir/x.flat");
  const Status s = index.Save(path);
  EXPECT_EQ(s.code(), StatusCode::kIOError);
  EXPECT_NE(s.message().find(path), std::string::npos) << s.ToString();
}

TEST_F(FlatIoTest, MissingFileIsIOErrorNamingThePath) {
  const std::string path = Path("absent.flat");
  auto r = FlatIndex::Load(path);
  EXPECT_STATUS(r, StatusCode::kIOError);
  EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().ToString();
}

TEST_F(FlatIoTest, EveryTruncationIsCorruptionNamingTheFile) {
  const std::string path = SaveSmall(5, 3);
  const std::vector<uint8_t> bytes = testutil::ReadFileBytes(path);
  ASSERT_EQ(bytes.size(), 192u);  // header 64, labels 40 -> 128, rows 60 -> 192
  for (size_t length = 0; length < bytes.size(); ++length) {
    const std::string bad =
        WriteBytes("cut.flat", std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<long>(length)));
    auto r = FlatIndex::Load(bad);
    ASSERT_FALSE(r.ok()) << "length " << length;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
    EXPECT_NE(r.status().message().find(bad), std::string::npos) << r.status().ToString();
  }
  // Bytes appended after the last section are rejected too.
  std::vector<uint8_t> longer = bytes;
  longer.resize(bytes.size() + 64, 0);
  EXPECT_STATUS(FlatIndex::Load(WriteBytes("long.flat", longer)), StatusCode::kCorruption);
}

TEST_F(FlatIoTest, EverySingleBitFlipIsCorruptionNamingTheFile) {
  const std::string path = SaveSmall(5, 3, Metric::kCosine);
  const std::vector<uint8_t> bytes = testutil::ReadFileBytes(path);
  size_t sections_named = 0;
  for (size_t offset = 0; offset < bytes.size(); ++offset) {
    for (size_t bit : {offset % 8, (offset + 3) % 8}) {
      std::vector<uint8_t> copy = bytes;
      copy[offset] = static_cast<uint8_t>(copy[offset] ^ (1u << bit));
      const std::string bad = WriteBytes("flip.flat", copy);
      auto r = FlatIndex::Load(bad);
      ASSERT_FALSE(r.ok()) << "offset " << offset << " bit " << bit;
      EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
      EXPECT_NE(r.status().message().find(bad), std::string::npos) << r.status().ToString();
      sections_named += r.status().message().find("section") != std::string::npos;
    }
  }
  EXPECT_GT(sections_named, 0u);
}

TEST_F(FlatIoTest, AnotherVersionIsFailedPrecondition) {
  std::vector<uint8_t> bytes = testutil::ReadFileBytes(SaveSmall(5, 3));
  coding::Put<uint32_t>(bytes.data() + 8, 2);
  ResealHeader(&bytes);
  const std::string bad = WriteBytes("v2.flat", bytes);
  auto r = FlatIndex::Load(bad);
  EXPECT_STATUS(r, StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find(bad), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("version 2"), std::string::npos) << r.status().ToString();
}

TEST_F(FlatIoTest, WellSealedButInvalidContentIsCorruption) {
  const std::vector<uint8_t> bytes = testutil::ReadFileBytes(SaveSmall(5, 3));
  const auto reseal_section = [](std::vector<uint8_t>* b, size_t crc_at, size_t offset, size_t length) {
    coding::Put<uint32_t>(b->data() + crc_at, Crc32c(b->data() + offset, length));
    ResealHeader(b);
  };
  {  // a repeated label
    std::vector<uint8_t> copy = bytes;
    std::memcpy(copy.data() + 64 + 8, copy.data() + 64, 8);
    reseal_section(&copy, 48, 64, 40);
    auto r = FlatIndex::Load(WriteBytes("dup.flat", copy));
    EXPECT_STATUS(r, StatusCode::kCorruption);
    EXPECT_NE(r.status().message().find("repeats"), std::string::npos) << r.status().ToString();
  }
  {  // kNoLabel
    std::vector<uint8_t> copy = bytes;
    coding::Put<uint64_t>(copy.data() + 64, kNoLabel);
    reseal_section(&copy, 48, 64, 40);
    EXPECT_STATUS(FlatIndex::Load(WriteBytes("nolabel.flat", copy)), StatusCode::kCorruption);
  }
  {  // a NaN component
    std::vector<uint8_t> copy = bytes;
    coding::Put<float>(copy.data() + 128 + 4, std::numeric_limits<float>::quiet_NaN());
    reseal_section(&copy, 52, 128, 60);
    auto r = FlatIndex::Load(WriteBytes("nan.flat", copy));
    EXPECT_STATUS(r, StatusCode::kCorruption);
    EXPECT_NE(r.status().message().find("rows section"), std::string::npos) << r.status().ToString();
  }
  {  // a row count too large for the file (the size check must come before any allocation)
    std::vector<uint8_t> copy = bytes;
    coding::Put<uint64_t>(copy.data() + 24, uint64_t{1} << 62);
    ResealHeader(&copy);
    EXPECT_STATUS(FlatIndex::Load(WriteBytes("huge.flat", copy)), StatusCode::kCorruption);
  }
  {  // an unknown metric
    std::vector<uint8_t> copy = bytes;
    copy[16] = 3;
    ResealHeader(&copy);
    EXPECT_STATUS(FlatIndex::Load(WriteBytes("metric.flat", copy)), StatusCode::kCorruption);
  }
}

// The format documents CRC-32C by its check value; the shared implementation must match it.
TEST(FlatIoChecksumTest, IsCrc32c) {
  EXPECT_EQ(Crc32c("123456789", 9), 0xE3069283u);
  EXPECT_EQ(Crc32c(nullptr, 0), 0u);
}

TEST_F(FlatIoTest, OtherFilesAreBadMagic) {
  auto r = FlatIndex::Load(WriteBytes("other.bin", std::vector<uint8_t>(200, 'x')));
  EXPECT_STATUS(r, StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find("bad magic"), std::string::npos) << r.status().ToString();
}

}  // namespace
}  // namespace vecdex
