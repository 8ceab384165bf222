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

// Exact top-k of every query among the base rows (labels = row numbers) that `filter` admits
// (all when null), using all cores when threads == 0. Rows with fewer than k matches are padded
// with -1. Errors: InvalidArgument for mismatched dimensions, NaN/Inf, k == 0.
Result<GroundTruth> ComputeGroundTruth(MatrixView base, MatrixView queries, Metric metric, size_t k,
                                       size_t threads = 0, const LabelFilter* filter = nullptr);

// |found ∩ truth[:k]| summed over queries, over the number of truth ids (-1 padding excluded),
// where found rows hold labels (= base row numbers). kNoLabel entries count as misses.
double RecallAtK(const SearchResults& found, const GroundTruth& truth, size_t k);

}  // namespace vecdex
