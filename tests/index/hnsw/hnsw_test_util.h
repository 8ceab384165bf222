// Shared helpers of the HNSW tests: clustered data, index construction, recall measurement.
#pragma once

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "index/hnsw/hnsw_index.h"
#include "testutil/test_util.h"

namespace vecdex::hnsw_test {

// n points around `clusters` gaussian centres (spread 1 around centres of spread 3), seeded.
inline std::vector<float> ClusteredVectors(size_t n, size_t dim, size_t clusters, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> centres(clusters * dim);
  for (float& c : centres) c = 3.0f * normal(rng);
  std::vector<float> out(n * dim);
  for (size_t i = 0; i < n; ++i) {
    const float* c = centres.data() + (i % clusters) * dim;
    for (size_t j = 0; j < dim; ++j) out[i * dim + j] = c[j] + normal(rng);
  }
  return out;
}

using testutil::Iota;

inline std::unique_ptr<HnswIndex> MakeIndex(size_t dim, Metric metric, hnsw::HnswOptions options = {}) {
  auto created = HnswIndex::Create(dim, metric, options);
  EXPECT_TRUE(created.ok()) << created.status().ToString();
  return created.ok() ? std::move(created).value() : nullptr;
}

// Mean recall@k of `index` over `queries` against exact answers on `base` (labels = row index).
inline double MeanRecall(const Index& index, Metric metric, const std::vector<float>& base, size_t dim,
                         const std::vector<float>& queries, size_t k, SearchParams params = {}) {
  const size_t n = base.size() / dim, nq = queries.size() / dim;
  params.k = k;
  SearchResults results;
  EXPECT_OK(index.Search(MatrixView{queries.data(), nq, dim}, params, &results));
  double sum = 0;
  for (size_t q = 0; q < nq; ++q) {
    const auto truth = testutil::ReferenceTopK(metric, base.data(), n, dim, queries.data() + q * dim, k);
    std::vector<uint64_t> found(results.labels_of(q), results.labels_of(q) + results.count_of(q));
    sum += testutil::Recall(found, truth);
  }
  return sum / static_cast<double>(nq);
}

}  // namespace vecdex::hnsw_test
