// Vocabulary types shared by every index and client: metrics, scalar kinds, matrix views,
// search parameters and result buffers.
//
// Distance convention (one for every index, so results always sort ascending, nearest first):
//   kL2            distance = squared euclidean distance  sum (q_i - x_i)^2
//   kInnerProduct  distance = -dot(q, x)                  similarity = dot(q, x) = -distance
//   kCosine        distance = 1 - cos(q, x)               similarity = cos(q, x) = 1 - distance
// Cosine with a zero vector (either side) is defined as cos = 0, i.e. distance 1: a zero vector
// is "orthogonal to everything". Indexes store cosine vectors normalized, so a zero vector stays
// zero and scores distance 1 against every query.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

namespace vecdex {

// Persisted in file headers: values are never renumbered.
enum class Metric : uint8_t {
  kL2 = 0,
  kInnerProduct = 1,
  kCosine = 2,
};

// How vector components are stored. Persisted: values are never renumbered.
enum class Scalar : uint8_t {
  kF32 = 0,
  kF16 = 1,
  kInt8 = 2,
};

// "l2", "ip", "cosine"; parsing also accepts "euclid"/"dot"/"angular" aliases.
std::string_view MetricName(Metric metric);
std::optional<Metric> ParseMetric(std::string_view name);
std::string_view ScalarName(Scalar scalar);  // "f32", "f16", "int8"
std::optional<Scalar> ParseScalar(std::string_view name);

// Converts an index distance into the user-facing similarity described above (L2: the distance).
float DistanceToScore(Metric metric, float distance);

// The label an index reports for a vector; chosen by the caller on Add.
using Label = uint64_t;
inline constexpr Label kNoLabel = std::numeric_limits<Label>::max();

// A read-only row-major matrix of float32: `rows` vectors of `dim` components, row i at
// data + i * dim. Does not own the memory.
struct MatrixView {
  const float* data = nullptr;
  size_t rows = 0;
  size_t dim = 0;

  const float* row(size_t i) const { return data + i * dim; }
};

// Decides which labels a search may return. Evaluated during the search (never after it).
// Implementations must be safe to call from several threads at once.
class LabelFilter {
 public:
  virtual ~LabelFilter() = default;
  virtual bool Matches(Label label) const = 0;
};

// Per-call knobs; 0 / false / nullptr means "the index default".
struct SearchParams {
  size_t k = 10;
  size_t ef = 0;       // HNSW beam width (clamped to at least k)
  size_t nprobe = 0;   // IVF lists to visit
  bool rerank = false; // quantized storage: re-score final candidates with float32
  const LabelFilter* filter = nullptr;
  size_t threads = 0;  // batch searches: worker threads (0 = all cores)
};

// Caller-owned output of a batch search: `num_queries` rows of `k` slots each, nearest first.
// A query with fewer than k results pads its row with label kNoLabel and distance +inf.
// Reusable across calls: Resize only reallocates when it must grow.
struct SearchResults {
  size_t num_queries = 0;
  size_t k = 0;
  std::vector<Label> labels;
  std::vector<float> distances;

  void Resize(size_t queries, size_t k_per_query) {
    num_queries = queries;
    k = k_per_query;
    labels.assign(queries * k_per_query, kNoLabel);
    distances.assign(queries * k_per_query, std::numeric_limits<float>::infinity());
  }
  const Label* labels_of(size_t query) const { return labels.data() + query * k; }
  const float* distances_of(size_t query) const { return distances.data() + query * k; }
  Label* labels_of(size_t query) { return labels.data() + query * k; }
  float* distances_of(size_t query) { return distances.data() + query * k; }
  // Results actually found for `query` (the non-padded prefix).
  size_t count_of(size_t query) const;
};

}  // namespace vecdex
