// Exact ground truth for recall measurements, computed with the flat index.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "vecdex/status.h"
#include "vecdex/types.h"

namespace vecdex {

// Row i holds the ids (0-based base rows) of query i's k nearest base rows, nearest first.
struct GroundTruth {
  size_t num_queries = 0;
  size_t k = 0;
  std::vector<int32_t> ids;

  const int32_t* row(size_t query) const { return ids.data() + query * k; }
};

// Exact top-k of every query among the base rows (labels = row numbers), using all cores when
// threads == 0. Errors: InvalidArgument for mismatched dimensions, NaN/Inf, k == 0.
Result<GroundTruth> ComputeGroundTruth(MatrixView base, MatrixView queries, Metric metric, size_t k,
                                       size_t threads = 0);

// Mean over queries of |found_q ∩ truth_q[:k]| / k, where found rows hold labels (= base row
// numbers) and `k` <= truth.k. kNoLabel entries count as misses.
double RecallAtK(const SearchResults& found, const GroundTruth& truth, size_t k);

}  // namespace vecdex
