// Helpers of `vecdex bench-filter` (tools/vecdex/bench_filter_command.cc): label fields derived
// from a point's word by hashing, the filters of the sweep (as filter JSON for the engine and as
// a predicate over the labels for the checks), exact filtered ground truth computed by brute force
// independently of vecdex's indexes, and QPS at a given recall on a measured curve.
//
// Everything here is a pure function of its inputs; concurrent calls are safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/dataset.h"
#include "vecdex/status.h"
#include "vecdex/types.h"

namespace vecdex::bench {

// A fixed 64-bit hash of a word: FNV-1a over its bytes from a seed-dependent start, then the
// splitmix64 finaliser (FNV's low bits alone are too regular for small moduli). Different seeds
// give independent fields.
uint64_t HashWord(std::string_view word, uint64_t seed);

// The label fields of one point. b1000 = h1 % 1000, b100 = h2 % 100, b10 = h3 % 10, b2 = h4 % 2,
// tag = h5 % 20 (the payload holds "t<tag>"); seeds 1..5.
struct WordLabels {
  uint16_t b1000 = 0;
  uint16_t b100 = 0;
  uint16_t b10 = 0;
  uint16_t b2 = 0;
  uint16_t tag = 0;
};
WordLabels LabelsOfWord(std::string_view word);

// {"word":"...","b1000":n,"b100":n,"b10":n,"b2":n,"tag":"tN"}. Bytes of the word that are not
// valid UTF-8 are replaced (JSON text must be UTF-8); the labels hash the raw bytes.
std::string PayloadJsonOf(std::string_view word, const WordLabels& labels);

// A data set with a word per base vector.
struct LabelledData {
  std::string name;  // the base file, or "synthetic N x DIM (seed S)"
  io::FloatDataset base;
  io::FloatDataset queries;
  std::vector<std::string> words;  // words[row]: the label of base row `row`
};

struct LabelledDataSpec {
  // Files: vectors (.fvecs, .bvecs, .npy) and a TSV with header "id\tsource_row\tlabel" and one
  // line per base vector, ids 0, 1, 2, ... (glove-100-angular's base.meta.tsv) ...
  std::string base_path, query_path, meta_path;
  // ... or, when synthetic_rows > 0, clustered Gaussian vectors (io/synthetic.h) with words "w<i>".
  size_t synthetic_rows = 0;
  size_t synthetic_dim = 0;
  uint64_t seed = 1;
  size_t limit = 0;      // only the first `limit` base vectors (0: all)
  size_t queries = 0;    // only the first `queries` queries (0: all; synthetic: required)
};

// Errors: InvalidArgument (missing paths, dimensions that differ, a malformed or short label
// file), and the readers' errors.
Result<LabelledData> LoadLabelledData(const LabelledDataSpec& spec);

// One filter of the sweep.
struct BenchFilter {
  std::string name;         // "b100", "b10+tag", "none"; what --filters names
  std::string description;  // "b100 == 0"
  double nominal = 1.0;     // the share of points expected to match
  std::string json;         // the filter for vecdex::ParseFilter; empty for "none"
  bool (*matches)(const WordLabels& labels) = nullptr;
};

// none (100%), b1000 (0.1%), b100 (1%), b10 (10%), b2 (50%), and two ANDs of independent fields:
// b10+tag (b10 == 0 AND tag in {t0, t1}: 10% x 10% = 1%) and b2+b100 (b2 == 0 AND b100 < 10:
// 50% x 10% = 5%). "none" comes first.
const std::vector<BenchFilter>& StandardBenchFilters();

// Exact filtered top-k: for every filter f (bit f of masks[row] says whether base row `row`
// matches it) and every query q, result[f][q] holds the ids (row numbers) of the min(k, matches)
// nearest matching rows, nearest first, equal distances by the smaller id. Distances in double
// over the float32 values (cosine: both sides normalised in double; a zero vector is at distance
// 1 from everything). At most 32 filters. `threads` workers split the queries.
using FilteredTruth = std::vector<std::vector<std::vector<uint32_t>>>;
Result<FilteredTruth> ExactFilteredTopK(MatrixView base, MatrixView queries, Metric metric,
                                        std::span<const uint32_t> masks, size_t num_filters, size_t k,
                                        size_t threads);

// One measured point of a recall/QPS curve.
struct CurvePoint {
  double recall = 0;
  double qps = 0;
};

// The QPS the curve achieves at `recall`: interpolated linearly between the fastest point at or
// above it and the nearest point below it (when that one is faster), or the fastest point at or
// above it when no point lies below. nullopt when no point reaches `recall`.
std::optional<double> CurveQpsAtRecall(std::span<const CurvePoint> curve, double recall);

}  // namespace vecdex::bench
