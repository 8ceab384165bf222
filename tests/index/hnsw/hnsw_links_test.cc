// Link lists: 24-bit and 32-bit packing, the seqlock that keeps lock-free readers from mixing two
// states of a list, the link width chosen from max_elements, and files whose lists are damaged.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <random>
#include <thread>

#include "common/coding.h"
#include "common/crc32c.h"
#include "index/hnsw/hnsw_graph.h"
#include "index/hnsw/hnsw_index.h"
#include "index/hnsw/hnsw_test_util.h"

namespace vecdex {
namespace {

using hnsw::Graph;
using hnsw_test::ClusteredVectors;
using hnsw_test::Iota;
using hnsw_test::MakeIndex;

std::unique_ptr<Graph> MakeGraph(size_t m, uint32_t link_bytes) {
  hnsw::HnswOptions options;
  options.m = m;
  options.max_elements = 64;
  auto g = Graph::Create(8, Metric::kL2, options, nullptr, link_bytes);
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_OK((*g)->EnsureSlots(4));
  return std::move(g).value();
}

TEST(HnswLinksTest, LinkWidthFollowsMaxElements) {
  EXPECT_EQ(hnsw::LinkBytesFor(0), 3u);
  EXPECT_EQ(hnsw::LinkBytesFor(hnsw::kMaxSlots24), 3u);
  EXPECT_EQ(hnsw::LinkBytesFor(hnsw::kMaxSlots24 + 1), 4u);
  // m = 16, f32 of dim 100: 4 + 32 * 3 + 4 + 400 bytes with 24-bit links, 4 + 32 * 4 + 4 + 400 without.
  EXPECT_EQ(hnsw::BlockLayout::Make(16, 400, 3).stride, 504u);
  EXPECT_EQ(hnsw::BlockLayout::Make(16, 400, 4).stride, 536u);
  // 24-bit links are stored in groups of four: 5 links take 2 groups (6 words) plus the head.
  EXPECT_EQ(hnsw::BlockLayout::Make(5, 8, 3).upper_words, 7u);
  EXPECT_EQ(hnsw::BlockLayout::Make(5, 8, 3).list0_words, 1u + 9u);
}

TEST(HnswLinksTest, DefaultGraphCapsAt24BitSlots) {
  auto g = Graph::Create(8, Metric::kL2, hnsw::HnswOptions{}, nullptr);
  ASSERT_OK(g);
  EXPECT_EQ((*g)->layout.link_bytes, 3u);
  EXPECT_LE((*g)->capacity, hnsw::kMaxSlots24);
  const Status full = (*g)->EnsureSlots((*g)->capacity + 1);
  EXPECT_EQ(full.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(full.message().find("max_elements"), std::string::npos) << full.ToString();
}

TEST(HnswLinksTest, ListsRoundTripAtEveryLengthAndBothWidths) {
  std::mt19937 rng(7);
  for (uint32_t link_bytes : {3u, 4u}) {
    for (size_t m : {2u, 5u, 16u}) {
      auto g = MakeGraph(m, link_bytes);
      const uint32_t top = link_bytes == 3 ? 0xFFFFFFu : 0xFFFFFFFEu;
      std::vector<uint32_t> upper(g->layout.upper_words, 0);
      for (int level : {0, 1}) {
        uint32_t* list = level == 0 ? g->links0(1) : upper.data();
        uint32_t previous_head = list[0];
        for (uint32_t n = 0; n <= g->max_links(level); ++n) {
          std::vector<uint32_t> ids(n);
          for (uint32_t i = 0; i < n; ++i) ids[i] = i % 3 == 0 ? top - i : i % 3 == 1 ? i : rng() % (top + 1);
          g->WriteList(list, ids.data(), n);
          uint32_t out[hnsw::kLinkBuffer];
          ASSERT_EQ(g->ReadList(list, level, out), n);
          EXPECT_EQ(std::vector<uint32_t>(out, out + n), ids) << "width " << link_bytes << " m " << m << " n " << n;
          // Each write advances the sequence by two (even: no writer inside).
          EXPECT_EQ((list[0] >> 9) - (previous_head >> 9), 2u);
          EXPECT_EQ(list[0] & hnsw::kListWriting, 0u);
          previous_head = list[0];
        }
      }
      // The block around the list is untouched: the meta word follows the layer-0 list.
      EXPECT_EQ(g->meta(1), 0u);
    }
  }
}

// Readers racing one writer that flips a list between two states must only ever see one of
// them whole. With 24-bit links a link straddles words, so a torn read would mix the two.
TEST(HnswLinksTest, ConcurrentReadersSeeWholeStates) {
  auto g = MakeGraph(16, 3);
  uint32_t* list = g->links0(2);
  std::vector<uint32_t> a(32), b(27);
  for (uint32_t i = 0; i < a.size(); ++i) a[i] = 0x10101u * (i + 1);
  for (uint32_t i = 0; i < b.size(); ++i) b[i] = 0xFFFFFFu - 0x20202u * i;
  g->WriteList(list, a.data(), static_cast<uint32_t>(a.size()));
  std::atomic<bool> stop{false};
  std::atomic<size_t> torn{0}, reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      uint32_t out[hnsw::kLinkBuffer];
      while (!stop.load(std::memory_order_relaxed)) {
        const uint32_t n = g->ReadList(list, 0, out);
        const std::vector<uint32_t> got(out, out + n);
        torn += got != a && got != b;
        ++reads;
      }
    });
  }
  hnsw::LinkLocks& locks = g->locks;
  for (int i = 0; i < 200'000 || reads.load() < 1000; ++i) {
    hnsw::LinkGuard guard(locks, 2);
    const auto& next = i % 2 == 0 ? b : a;
    g->WriteList(list, next.data(), static_cast<uint32_t>(next.size()));
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(torn.load(), 0u) << "of " << reads.load() << " reads";
}

TEST(HnswLinksTest, WideLinksIndexSavesLoadsAndSearches) {
  const size_t dim = 8, n = 600;
  hnsw::HnswOptions options;
  options.max_elements = hnsw::kMaxSlots24 + 1;  // address space only: pages are committed as used
  auto index = MakeIndex(dim, Metric::kL2, options);
  ASSERT_NE(index, nullptr);
  const auto base = ClusteredVectors(n, dim, 6, 51);
  ASSERT_OK(index->Add(Iota(n), MatrixView{base.data(), n, dim}));
  const double recall = hnsw_test::MeanRecall(*index, Metric::kL2, base, dim, ClusteredVectors(20, dim, 6, 52), 10);
  EXPECT_GE(recall, 0.95);
  const std::string path = ::testing::TempDir() + "/wide_links_" + std::to_string(::getpid());
  ASSERT_OK(index->Save(path));
  for (bool map : {false, true}) {
    auto loaded = map ? HnswIndex::View(path) : HnswIndex::Load(path);
    ASSERT_OK(loaded);
    EXPECT_EQ((*loaded)->spec(), index->spec());
    SearchParams params;
    params.k = 5;
    SearchResults a, b;
    ASSERT_OK(index->Search(MatrixView{base.data(), 3, dim}, params, &a));
    ASSERT_OK((*loaded)->Search(MatrixView{base.data(), 3, dim}, params, &b));
    EXPECT_EQ(a.labels, b.labels);
  }
  std::remove(path.c_str());
}

// ---- damaged lists in a file whose checksums were recomputed (so only the graph check can
// catch them)

struct IndexFile {
  std::string path;
  std::vector<uint8_t> bytes;
  uint64_t blocks_offset = 0;
  uint32_t stride = 0;

  void Write() {
    // Section 2 (blocks) is entry 1 of the table at byte 128; refresh its checksums.
    uint8_t* e = bytes.data() + 128 + 32;
    const uint64_t length = coding::Get<uint64_t>(e + 16);
    coding::Put<uint32_t>(e + 24, Crc32c(bytes.data() + blocks_offset, length));
    coding::Put<uint32_t>(e + 28, Crc32c(e, 28));
    coding::Put<uint32_t>(bytes.data() + 124, Crc32c(bytes.data(), 124));
    testutil::WriteFileBytes(path, bytes);
  }
  uint8_t* block(uint32_t slot) { return bytes.data() + blocks_offset + uint64_t{slot} * stride; }
};

IndexFile SavedFile(const std::string& name) {
  auto index = MakeIndex(4, Metric::kL2);
  const auto base = ClusteredVectors(40, 4, 2, 53);
  EXPECT_OK(index->Add(Iota(40), MatrixView{base.data(), 40, 4}));
  IndexFile f;
  f.path = ::testing::TempDir() + "/links_" + name + "_" + std::to_string(::getpid());
  EXPECT_OK(index->Save(f.path));
  f.bytes = testutil::ReadFileBytes(f.path);
  f.blocks_offset = coding::Get<uint64_t>(f.bytes.data() + 128 + 32 + 8);
  f.stride = coding::Get<uint32_t>(f.bytes.data() + 64);
  return f;
}

void ExpectCorrupt(const std::string& path, const std::string& fragment) {
  for (bool map : {false, true}) {
    auto r = map ? HnswIndex::View(path) : HnswIndex::Load(path);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
    EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().ToString();
  }
  std::remove(path.c_str());
}

TEST(HnswLinksTest, ListMarkedMidRewriteIsCorruption) {
  IndexFile f = SavedFile("odd");
  coding::Put<uint32_t>(f.block(3), coding::Get<uint32_t>(f.block(3)) | hnsw::kListWriting);
  f.Write();
  ExpectCorrupt(f.path, "being rewritten");
}

TEST(HnswLinksTest, LinkBeyondTheSlotsIsCorruption) {
  IndexFile f = SavedFile("far");
  ASSERT_GT(coding::Get<uint32_t>(f.block(5)) & hnsw::kListCountMask, 0u);
  f.block(5)[4] = 0xFF;  // the low byte of the first 24-bit link: now >= 255, past the 40 slots
  f.Write();
  ExpectCorrupt(f.path, "links to a missing node");
}

TEST(HnswLinksTest, CountAboveTheCapIsCorruption) {
  IndexFile f = SavedFile("count");
  coding::Put<uint32_t>(f.block(0), (coding::Get<uint32_t>(f.block(0)) & ~hnsw::kListCountMask) | 33);
  f.Write();
  ExpectCorrupt(f.path, "too many links");
}

TEST(HnswLinksTest, LinkWidthDisagreeingWithMaxElementsIsCorruption) {
  IndexFile f = SavedFile("width");
  coding::Put<uint32_t>(f.bytes.data() + 96, 4);
  f.Write();
  ExpectCorrupt(f.path, "link width");
}

}  // namespace
}  // namespace vecdex
