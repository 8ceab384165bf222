// Save / Load / View round trips, and corrupt or truncated files giving clear errors.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "index/hnsw/hnsw_index.h"
#include "index/hnsw/hnsw_test_util.h"

namespace vecdex {
namespace {

using hnsw_test::ClusteredVectors;
using hnsw_test::Iota;
using hnsw_test::MakeIndex;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/vecdex_hnsw_" + std::to_string(::getpid()) + "_" + name;
}

void ExpectSameResults(const Index& a, const Index& b, const std::vector<float>& queries, size_t dim) {
  SearchParams params;
  params.k = 10;
  SearchResults ra, rb;
  ASSERT_OK(a.Search(MatrixView{queries.data(), queries.size() / dim, dim}, params, &ra));
  ASSERT_OK(b.Search(MatrixView{queries.data(), queries.size() / dim, dim}, params, &rb));
  EXPECT_EQ(ra.labels, rb.labels);
  EXPECT_EQ(ra.distances, rb.distances);
}

struct IoCase {
  Metric metric;
  Scalar storage;
};

class HnswIoRoundTrip : public ::testing::TestWithParam<IoCase> {};

TEST_P(HnswIoRoundTrip, LoadAndViewGiveIdenticalResults) {
  const size_t dim = 20, n = 1500;
  hnsw::HnswOptions options;
  options.storage = GetParam().storage;
  options.rerank = options.storage != Scalar::kF32;
  auto index = MakeIndex(dim, GetParam().metric, options);
  const auto base = ClusteredVectors(n, dim, 10, 41);
  ASSERT_OK(index->Add(Iota(n), MatrixView{base.data(), n, dim}));
  std::vector<Label> removed;
  for (Label l = 0; l < n; l += 37) removed.push_back(l);  // a few tombstones survive the save
  ASSERT_OK(index->Remove(removed));
  const std::string path = TempPath("roundtrip");
  ASSERT_OK(index->Save(path));
  const auto queries = ClusteredVectors(30, dim, 10, 42);

  auto loaded = HnswIndex::Load(path);
  ASSERT_OK(loaded);
  EXPECT_EQ((*loaded)->size(), index->size());
  EXPECT_EQ((*loaded)->spec(), index->spec());
  EXPECT_EQ((*loaded)->stats().deleted, index->stats().deleted);
  ExpectSameResults(*index, **loaded, queries, dim);
  for (bool verify : {true, false}) {
    auto view = HnswIndex::View(path, verify);
    ASSERT_OK(view);
    EXPECT_EQ((*view)->size(), index->size());
    ExpectSameResults(*index, **view, queries, dim);
    EXPECT_STATUS((*view)->Add(Iota(1, 99'999), MatrixView{base.data(), 1, dim}), StatusCode::kFailedPrecondition);
    EXPECT_STATUS((*view)->Remove(Iota(1)), StatusCode::kFailedPrecondition);
    EXPECT_STATUS((*view)->Compact(), StatusCode::kFailedPrecondition);
  }
  // A loaded index keeps working: adds, removes (label map and free list were rebuilt).
  ASSERT_OK((*loaded)->Add(Iota(10, 50'000), MatrixView{base.data(), 10, dim}));
  auto gone = (*loaded)->Remove(Iota(5, 100));
  ASSERT_OK(gone);
  EXPECT_EQ(*gone, 5u);
  std::remove(path.c_str());
}

INSTANTIATE_TEST_SUITE_P(Storages, HnswIoRoundTrip,
                         ::testing::Values(IoCase{Metric::kL2, Scalar::kF32}, IoCase{Metric::kCosine, Scalar::kF16},
                                           IoCase{Metric::kInnerProduct, Scalar::kInt8}),
                         [](const auto& info) {
                           return std::string(MetricName(info.param.metric)) + "_" +
                                  std::string(ScalarName(info.param.storage));
                         });

TEST(HnswIoTest, EmptyIndexRoundTrips) {
  auto index = MakeIndex(8, Metric::kL2);
  const std::string path = TempPath("empty");
  ASSERT_OK(index->Save(path));
  auto loaded = HnswIndex::Load(path);
  ASSERT_OK(loaded);
  EXPECT_EQ((*loaded)->size(), 0u);
  const auto base = ClusteredVectors(50, 8, 2, 43);
  ASSERT_OK((*loaded)->Add(Iota(50), MatrixView{base.data(), 50, 8}));
  EXPECT_EQ((*loaded)->size(), 50u);
  std::remove(path.c_str());
}

TEST(HnswIoTest, MissingFileIsIOError) {
  EXPECT_STATUS(HnswIndex::Load(TempPath("does_not_exist")), StatusCode::kIOError);
  EXPECT_STATUS(HnswIndex::View(TempPath("does_not_exist")), StatusCode::kIOError);
}

// A small index file with every section present (int8 ranges, upper links, raw vectors).
std::string SmallIndexFile(const std::string& name) {
  hnsw::HnswOptions options;
  options.m = 4;  // more upper layers in few points
  options.storage = Scalar::kInt8;
  options.rerank = true;
  auto index = MakeIndex(4, Metric::kInnerProduct, options);
  const auto base = ClusteredVectors(60, 4, 3, 44);
  EXPECT_OK(index->Add(Iota(60), MatrixView{base.data(), 60, 4}));
  EXPECT_OK(index->Remove(Iota(2)));
  const std::string path = TempPath(name);
  EXPECT_OK(index->Save(path));
  return path;
}

TEST(HnswIoTest, TruncatedFilesAreCorruption) {
  const std::string path = SmallIndexFile("truncate");
  const std::vector<uint8_t> bytes = testutil::ReadFileBytes(path);
  const std::string cut = path + ".cut";
  for (size_t size = 0; size < bytes.size(); size += (size < 400 ? 1 : 7)) {
    testutil::WriteFileBytes(cut, bytes.data(), size);
    for (bool map : {false, true}) {
      auto r = map ? HnswIndex::View(cut) : HnswIndex::Load(cut);
      ASSERT_FALSE(r.ok()) << "size " << size;
      EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
      if (size >= 300) {
        EXPECT_NE(r.status().message().find("truncated"), std::string::npos) << r.status().ToString();
      }
    }
  }
  std::remove(cut.c_str());
  std::remove(path.c_str());
}

TEST(HnswIoTest, FlippedBytesAreCorruptionNamingTheSection) {
  const std::string path = SmallIndexFile("flip");
  const std::vector<uint8_t> bytes = testutil::ReadFileBytes(path);
  const std::string bad = path + ".bad";
  std::vector<uint8_t> copy = bytes;
  size_t sections_named = 0;
  for (size_t offset = 0; offset < bytes.size(); offset += 3) {
    copy[offset] = static_cast<uint8_t>(copy[offset] ^ (1 << (offset % 8)));
    testutil::WriteFileBytes(bad, copy.data(), copy.size());
    copy[offset] = bytes[offset];
    for (bool map : {false, true}) {
      auto r = map ? HnswIndex::View(bad) : HnswIndex::Load(bad);
      ASSERT_FALSE(r.ok()) << "offset " << offset;
      EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
      sections_named += r.status().message().find("section") != std::string::npos;
    }
  }
  EXPECT_GT(sections_named, 0u);
  std::remove(bad.c_str());
  std::remove(path.c_str());
}

}  // namespace
}  // namespace vecdex
