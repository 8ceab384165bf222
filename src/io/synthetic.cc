#include "io/synthetic.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <numbers>
#include <random>
#include <string>
#include <thread>
#include <utility>

#include "io/file_util.h"

namespace vecdex::io {
namespace {

// Rows per independently seeded chunk. Part of the output's definition: changing it changes
// every generated dataset, so it is fixed rather than derived from the thread count.
constexpr size_t kRowsPerChunk = 1024;

// Independent RNG streams derived from one seed.
constexpr uint64_t kCenterStream = 0;
constexpr uint64_t kBaseStream = 1;
constexpr uint64_t kQueryStream = 2;

// SplitMix64's finalizer: turns nearby inputs (seed, seed + 1, chunk 0, chunk 1) into unrelated
// 64-bit seeds, so neighboring chunks' mt19937_64 states do not start correlated.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t StreamSeed(uint64_t seed, uint64_t stream, uint64_t chunk) {
  return Mix(Mix(Mix(seed) ^ stream) ^ chunk);
}

// Box–Muller: two independent N(0, 1) values from one 64-bit draw, 24 bits per uniform (float
// precision; the tail is cut at about 5.8 sigma, irrelevant for benchmark data).
struct NormalPair {
  float first;
  float second;
};
NormalPair DrawNormalPair(std::mt19937_64& rng) {
  constexpr float kScale = 1.0f / 16777216.0f;  // 2^-24
  const uint64_t bits = rng();
  const float u1 = static_cast<float>((bits >> 40) + 1) * kScale;  // (0, 1]: log(u1) is finite
  const float u2 = static_cast<float>((bits >> 16) & 0xFFFFFF) * kScale;
  const float radius = std::sqrt(-2.0f * std::log(u1));
  const float angle = 2.0f * std::numbers::pi_v<float> * u2;
  return {radius * std::cos(angle), radius * std::sin(angle)};
}

// out[j] = center[j] + scale * N(0, 1), for j < dim.
void FillGaussianRow(std::mt19937_64& rng, const float* center, float scale, size_t dim,
                     float* out) {
  size_t j = 0;
  for (; j + 1 < dim; j += 2) {
    const NormalPair z = DrawNormalPair(rng);
    out[j] = center[j] + scale * z.first;
    out[j + 1] = center[j + 1] + scale * z.second;
  }
  if (j < dim) out[j] = center[j] + scale * DrawNormalPair(rng).first;
}

// Runs fn(chunk) for every chunk < num_chunks on up to `threads` threads (0 = all cores).
template <typename Fn>
void ForEachChunk(size_t num_chunks, size_t threads, const Fn& fn) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = std::min(threads, num_chunks);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t chunk; (chunk = next.fetch_add(1, std::memory_order_relaxed)) < num_chunks;) {
      fn(chunk);
    }
  };
  std::vector<std::thread> pool;
  try {
    pool.reserve(threads);
    for (size_t i = 1; i < threads; ++i) pool.emplace_back(work);
  } catch (const std::exception&) {
    // Could not start more threads: fine, this thread takes whatever chunks remain, and the
    // output does not depend on who generated which chunk.
  }
  work();
  for (std::thread& thread : pool) thread.join();
}

Status CheckSpec(const SyntheticSpec& spec) {
  if (spec.dim == 0 || spec.dim > kMaxDim) {
    return Status::InvalidArgument("synthetic spec: dimension " + std::to_string(spec.dim) +
                                   " is outside 1.." + std::to_string(kMaxDim));
  }
  if (spec.clusters == 0 || spec.clusters > std::numeric_limits<uint32_t>::max()) {
    return Status::InvalidArgument("synthetic spec: clusters " + std::to_string(spec.clusters) +
                                   " is outside 1.." +
                                   std::to_string(std::numeric_limits<uint32_t>::max()));
  }
  if (!std::isfinite(spec.spread) || spec.spread < 0.0f) {
    return Status::InvalidArgument("synthetic spec: spread " + std::to_string(spec.spread) +
                                   " must be finite and >= 0");
  }
  const size_t max_rows = std::numeric_limits<size_t>::max() / sizeof(float) / spec.dim;
  if (spec.rows > max_rows || spec.clusters > max_rows) {
    return Status::InvalidArgument("synthetic spec: " + std::to_string(spec.rows) + " rows or " +
                                   std::to_string(spec.clusters) + " clusters of dimension " +
                                   std::to_string(spec.dim) + " overflow the address space");
  }
  return Status::Ok();
}

Result<FloatDataset> MakeCenters(const SyntheticSpec& spec) {
  FloatDataset centers;
  centers.rows = spec.clusters;
  centers.dim = spec.dim;
  VECDEX_RETURN_IF_ERROR(
      internal::AllocateValues("synthetic centers", spec.clusters * spec.dim, centers.values));
  // Sequential: clusters x dim is small next to the points.
  std::mt19937_64 rng(StreamSeed(spec.seed, kCenterStream, 0));
  const std::vector<float> origin(spec.dim, 0.0f);
  for (size_t c = 0; c < spec.clusters; ++c) {
    FillGaussianRow(rng, origin.data(), 1.0f, spec.dim, centers.values.data() + c * spec.dim);
  }
  return centers;
}

// `rows` points around `centers` from RNG stream `stream`; each point's cluster goes to
// `cluster_of` when it is not null.
Result<FloatDataset> MakePoints(const SyntheticSpec& spec, const FloatDataset& centers,
                                uint64_t stream, size_t rows, std::vector<uint32_t>* cluster_of) {
  FloatDataset points;
  points.rows = rows;
  points.dim = spec.dim;
  VECDEX_RETURN_IF_ERROR(
      internal::AllocateValues("synthetic points", rows * spec.dim, points.values));
  if (cluster_of != nullptr) {
    VECDEX_RETURN_IF_ERROR(internal::AllocateValues("synthetic labels", rows, *cluster_of));
  }
  const size_t num_chunks = (rows + kRowsPerChunk - 1) / kRowsPerChunk;
  ForEachChunk(num_chunks, spec.threads, [&](size_t chunk) {
    std::mt19937_64 rng(StreamSeed(spec.seed, stream, chunk));
    const size_t end = std::min(rows, (chunk + 1) * kRowsPerChunk);
    for (size_t i = chunk * kRowsPerChunk; i < end; ++i) {
      // Modulo bias is below clusters / 2^64: negligible.
      const size_t cluster = static_cast<size_t>(rng() % spec.clusters);
      if (cluster_of != nullptr) (*cluster_of)[i] = static_cast<uint32_t>(cluster);
      FillGaussianRow(rng, centers.row(cluster), spec.spread, spec.dim,
                      points.values.data() + i * spec.dim);
    }
  });
  return points;
}

}  // namespace

Result<FloatDataset> GenerateClusteredGaussian(const SyntheticSpec& spec) {
  VECDEX_RETURN_IF_ERROR(CheckSpec(spec));
  VECDEX_ASSIGN_OR_RETURN(const FloatDataset centers, MakeCenters(spec));
  return MakePoints(spec, centers, kBaseStream, spec.rows, nullptr);
}

Result<SyntheticPair> GenerateClusteredGaussianPair(const SyntheticSpec& spec,
                                                    size_t num_queries) {
  VECDEX_RETURN_IF_ERROR(CheckSpec(spec));
  if (num_queries > std::numeric_limits<size_t>::max() / sizeof(float) / spec.dim) {
    return Status::InvalidArgument("synthetic spec: " + std::to_string(num_queries) +
                                   " queries overflow the address space");
  }
  VECDEX_ASSIGN_OR_RETURN(const FloatDataset centers, MakeCenters(spec));
  SyntheticPair pair;
  VECDEX_ASSIGN_OR_RETURN(pair.base, MakePoints(spec, centers, kBaseStream, spec.rows, nullptr));
  VECDEX_ASSIGN_OR_RETURN(pair.queries,
                          MakePoints(spec, centers, kQueryStream, num_queries, nullptr));
  return pair;
}

Result<LabeledClusters> GenerateLabeledClusteredGaussian(const SyntheticSpec& spec) {
  VECDEX_RETURN_IF_ERROR(CheckSpec(spec));
  LabeledClusters out;
  VECDEX_ASSIGN_OR_RETURN(out.centers, MakeCenters(spec));
  VECDEX_ASSIGN_OR_RETURN(out.points,
                          MakePoints(spec, out.centers, kBaseStream, spec.rows, &out.cluster_of));
  return out;
}

}  // namespace vecdex::io
