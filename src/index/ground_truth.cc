#include "index/ground_truth.h"

#include <algorithm>
#include <numeric>
#include <unordered_set>

#include "index/flat/flat_index.h"

namespace vecdex {

Result<GroundTruth> ComputeGroundTruth(MatrixView base, MatrixView queries, Metric metric, size_t k,
                                       size_t threads, const LabelFilter* filter) {
  if (base.rows > static_cast<size_t>(INT32_MAX)) {
    return Status::InvalidArgument("ground truth ids are int32: too many base rows");
  }
  FlatIndex index(base.dim, metric);
  std::vector<Label> labels(base.rows);
  std::iota(labels.begin(), labels.end(), Label{0});
  VECDEX_RETURN_IF_ERROR(index.Add(labels, base).WithContext("ground truth base"));
  SearchParams params;
  params.k = k;
  params.threads = threads;
  params.filter = filter;
  SearchResults results;
  VECDEX_RETURN_IF_ERROR(index.Search(queries, params, &results).WithContext("ground truth queries"));
  GroundTruth truth;
  truth.num_queries = results.num_queries;
  truth.k = results.k;
  truth.ids.resize(results.labels.size());
  for (size_t i = 0; i < results.labels.size(); ++i) {
    truth.ids[i] = results.labels[i] == kNoLabel ? -1 : static_cast<int32_t>(results.labels[i]);
  }
  return truth;
}

double RecallAtK(const SearchResults& found, const GroundTruth& truth, size_t k) {
  k = std::min(k, truth.k);
  if (found.num_queries == 0 || k == 0) return 1.0;
  size_t hits = 0;
  for (size_t q = 0; q < found.num_queries && q < truth.num_queries; ++q) {
    const int32_t* expected = truth.row(q);
    const Label* got = found.labels_of(q);
    const size_t width = std::min(k, found.k);
    for (size_t i = 0; i < k; ++i) {
      if (expected[i] < 0) continue;  // fewer than k matches: nothing to find
      for (size_t j = 0; j < width; ++j) {
        if (got[j] != kNoLabel && got[j] == static_cast<Label>(expected[i])) {
          ++hits;
          break;
        }
      }
    }
  }
  size_t wanted = 0;
  for (size_t q = 0; q < found.num_queries && q < truth.num_queries; ++q) {
    for (size_t i = 0; i < k; ++i) wanted += truth.row(q)[i] >= 0;
  }
  return wanted == 0 ? 1.0 : static_cast<double>(hits) / static_cast<double>(wanted);
}

}  // namespace vecdex
