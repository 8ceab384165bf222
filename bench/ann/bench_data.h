// The data one bench run works on, and the timing loop every measured point goes through.
#pragma once

#include <functional>
#include <string>

#include "ann/ann_bench.h"
#include "index/ground_truth.h"
#include "io/dataset.h"

namespace vecdex::bench {

struct BenchData {
  std::string name;
  io::FloatDataset base;
  io::FloatDataset queries;
  GroundTruth truth;
  double truth_seconds = 0;  // 0 when read from a file
};

// Searches a query matrix with `threads` workers (1 for the single-thread figure).
using SearchFn = std::function<Status(MatrixView queries, size_t threads, SearchResults* out)>;

// Fills row->recall (against `truth`), row->qps_nt (the whole query set as one batch with
// row->threads workers, best of a few runs) and row->qps_1t (one query per call, within the
// options' time budget).
Status MeasurePoint(const SearchFn& search, const BenchData& data, const GroundTruth& truth,
                    const BenchOptions& options, BenchRow* row);
// The two halves of MeasurePoint: recall and qps_nt; single-thread QPS within `budget_seconds`.
Status MeasureMultiThread(const SearchFn& search, const BenchData& data, const GroundTruth& truth,
                          const BenchOptions& options, BenchRow* row);
Status MeasureSingleThread(const SearchFn& search, const BenchData& data, double budget_seconds, double* qps);

// The runs only vecdex supports, on its built index (in this order: the churn run changes it).
// Each appends its rows (library "vecdex", params tagged "filter=..." / "churn=...") and prints
// a table of its own.
Status RunFilteredSweep(Index& index, const BenchData& data, const BenchOptions& options, const BenchRow& base_row,
                        std::vector<BenchRow>* rows, std::ostream& out);
Status RunChurn(Index& index, const BenchData& data, const BenchOptions& options, const BenchRow& base_row,
                std::vector<BenchRow>* rows, std::ostream& out);

}  // namespace vecdex::bench
