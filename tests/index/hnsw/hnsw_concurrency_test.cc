// Concurrent inserts, deletes, replaces and searches (run under ThreadSanitizer too).
#include <atomic>
#include <chrono>
#include <thread>

#include "index/hnsw/hnsw_index.h"
#include "index/hnsw/hnsw_test_util.h"

namespace vecdex {
namespace {

using hnsw_test::ClusteredVectors;
using hnsw_test::Iota;
using hnsw_test::MakeIndex;

constexpr size_t kDim = 16;

void Hammer(Scalar storage) {
  hnsw::HnswOptions options;
  options.m = 8;
  options.ef_construction = 40;
  options.storage = storage;
  options.rerank = storage != Scalar::kF32;
  auto index = MakeIndex(kDim, Metric::kL2, options);
  const size_t n = 2000;
  const auto base = ClusteredVectors(n, kDim, 10, 31);
  // A first batch (calibrates int8), then writers churn labels [0, n) while readers search.
  ASSERT_OK(index->Add(Iota(500), MatrixView{base.data(), 500, kDim}));
  std::atomic<bool> stop{false};
  std::atomic<size_t> searches{0}, bad{0}, dup{0};
  auto writer = [&](size_t seed) {
    std::mt19937_64 rng(seed);
    for (size_t round = 0; round < 60 && !stop.load(); ++round) {
      const size_t begin = rng() % (n - 20);
      const std::vector<Label> labels = Iota(20, begin);
      if (!index->Add(labels, MatrixView{base.data() + begin * kDim, 20, kDim}).ok()) bad.fetch_add(1);
      const std::vector<Label> removed = {static_cast<Label>(rng() % n), static_cast<Label>(rng() % n)};
      if (!index->Remove(removed).ok()) bad.fetch_add(1);
      if (round % 20 == 19 && seed == 1 && !index->Compact().ok()) bad.fetch_add(1);
    }
  };
  auto reader = [&](size_t seed) {
    std::mt19937_64 rng(seed);
    SearchParams params;
    params.k = 5;
    SearchResults results;
    while (!stop.load()) {
      const size_t q = rng() % n;
      if (!index->Search(MatrixView{base.data() + q * kDim, 1, kDim}, params, &results).ok()) bad.fetch_add(1);
      for (size_t i = 0; i < results.count_of(0); ++i) {
        if (results.labels_of(0)[i] >= n) bad.fetch_add(1);
        // A replaced label is never live twice, not even for an instant.
        for (size_t j = 0; j < i; ++j) dup.fetch_add(results.labels_of(0)[j] == results.labels_of(0)[i]);
        if (i > 0 && results.distances_of(0)[i] < results.distances_of(0)[i - 1] - 1e-3f) bad.fetch_add(1);
      }
      searches.fetch_add(1);
    }
  };
  std::thread w1(writer, 1), w2(writer, 2), r1(reader, 3), r2(reader, 4);
  w1.join();
  w2.join();
  stop.store(true);
  r1.join();
  r2.join();
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_EQ(dup.load(), 0u);
  EXPECT_GT(searches.load(), 0u);

  // Quiescent: every live label is found by its own vector, and sizes agree.
  const HnswStats st = index->stats();
  EXPECT_EQ(st.count, index->size());
  EXPECT_EQ(st.count + st.deleted + st.free_slots, st.slots);
  EXPECT_GT(st.consolidations, 0u);  // slots were reclaimed while searches ran
  SearchParams params;
  params.k = 1;
  SearchResults results;
  ASSERT_OK(index->Search(MatrixView{base.data(), n, kDim}, params, &results));
  const std::vector<hnsw::InternalId> ids = index->InternalIds(Iota(n));
  size_t live = 0, found = 0;
  for (size_t i = 0; i < n; ++i) {
    if (hnsw::ToRaw(ids[i]) == hnsw::kNoNode) continue;
    ++live;
    found += results.labels_of(i)[0] == i;
  }
  EXPECT_EQ(live, index->size());
  // Normally all but 0-3 of ~1,460 (m = 8, ef_construction = 40). Once, in a CI run (int8,
  // release build under parallel ctest), 1,332 of 1,460 were found; that was not reproduced
  // in 250 local runs (3-4 copies in parallel, or pinned to one core), so the state is printed.
  EXPECT_GE(found, live * 95 / 100) << found << " of " << live << " live; slots " << st.slots << ", deleted "
                                    << st.deleted << ", free " << st.free_slots << ", consolidations "
                                    << st.consolidations << ", levels " << st.nodes_per_level.size();
}

TEST(HnswConcurrencyTest, InsertDeleteSearchF32) { Hammer(Scalar::kF32); }
TEST(HnswConcurrencyTest, InsertDeleteSearchInt8) { Hammer(Scalar::kInt8); }

TEST(HnswConcurrencyTest, BatchSearchUsesThreadsAndMatchesSingle) {
  auto index = MakeIndex(kDim, Metric::kL2);
  const auto base = ClusteredVectors(2000, kDim, 10, 32);
  ASSERT_OK(index->Add(Iota(2000), MatrixView{base.data(), 2000, kDim}));
  SearchParams params;
  params.k = 10;
  SearchResults batch, single;
  params.threads = 0;
  ASSERT_OK(index->Search(MatrixView{base.data(), 64, kDim}, params, &batch));
  params.threads = 1;
  ASSERT_OK(index->Search(MatrixView{base.data(), 64, kDim}, params, &single));
  EXPECT_EQ(batch.labels, single.labels);
  EXPECT_EQ(batch.distances, single.distances);
}

}  // namespace
}  // namespace vecdex
