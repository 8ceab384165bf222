// Synthetic datasets for tests and benchmarks when no real data set is at hand: a mixture of
// isotropic Gaussian clusters, which (unlike uniform noise) has the neighborhood structure that
// graph and IVF indexes exploit, so recall/QPS numbers on it are meaningful.
//
// Model: `clusters` centers drawn from N(0, 1) per component; each point picks a center
// uniformly at random and adds N(0, spread^2) noise per component.
//
// Output is a pure function of the spec minus `threads`: the rows are generated in fixed chunks,
// each with its own RNG seeded from (seed, stream, chunk index), so any number of threads gives
// the same bits, and a dataset of n rows is the first n rows of any larger one with the same
// spec otherwise. The Gaussian sampler is our own Box–Muller over std::mt19937_64 (not
// std::normal_distribution), so the values do not depend on the standard library either, only
// on libm's logf/sinf/cosf to the last bit.
//
// All functions are safe to call concurrently. Errors: InvalidArgument for a bad spec (dimension
// outside 1..kMaxDim, zero clusters, spread negative or not finite, a size overflowing memory
// arithmetic), ResourceExhausted when the result does not fit in memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "io/dataset.h"
#include "vecdex/status.h"

namespace vecdex::io {

struct SyntheticSpec {
  size_t rows = 0;
  size_t dim = 0;
  size_t clusters = 64;
  uint64_t seed = 1;
  // Standard deviation of points around their center, relative to that of the centers (1.0).
  // At 0.5 clusters stay distinct (in high dimension a point is about 3x closer to its own center
  // than to any other: squared distances d * 0.25 vs d * 2.25) while the points inside a cluster
  // are as hard to search as Gaussian noise.
  float spread = 0.5f;
  // Worker threads, 0 = all cores. Never changes the output.
  size_t threads = 0;
};

// `spec.rows` points of dimension `spec.dim`.
Result<FloatDataset> GenerateClusteredGaussian(const SyntheticSpec& spec);

// A base set and queries from the same mixture (same centers, an independent stream of points),
// so that queries resemble the base the way held-out real queries do.
struct SyntheticPair {
  FloatDataset base;
  FloatDataset queries;
};
Result<SyntheticPair> GenerateClusteredGaussianPair(const SyntheticSpec& spec, size_t num_queries);

// The same points as GenerateClusteredGaussian(spec), with the mixture that made them: the
// centers (clusters x dim) and each point's cluster. For tests of clustering and IVF quality.
struct LabeledClusters {
  FloatDataset points;
  FloatDataset centers;
  std::vector<uint32_t> cluster_of;  // cluster_of[i] = the center row point i was drawn around
};
Result<LabeledClusters> GenerateLabeledClusteredGaussian(const SyntheticSpec& spec);

}  // namespace vecdex::io
