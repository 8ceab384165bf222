// `vecdex bench`: recall@k against exact ground truth, single- and multi-thread QPS, build time
// and memory, for vecdex's indexes and for peer libraries run on the same data in the same
// process. Prints a table (and ratios against each peer) and optionally writes one CSV row per
// measured point.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "ann/searcher.h"
#include "vecdex/status.h"

namespace vecdex::bench {

struct BenchOptions {
  // Data: files (fvecs/bvecs/npy base and queries, optional ivecs ground truth) ...
  std::string base_path;
  std::string query_path;
  std::string gt_path;
  size_t max_base_rows = 0;  // 0 = all
  size_t max_queries = 0;    // 0 = all
  // ... or a synthetic clustered-Gaussian set.
  size_t synthetic_rows = 0;
  size_t synthetic_dim = 0;
  size_t synthetic_queries = 0;
  size_t clusters = 100;
  uint64_t seed = 42;

  IndexConfig index;
  std::vector<size_t> ef;  // sweep points; empty = one point with the index default
  size_t k = 10;
  size_t threads = 0;  // the N of qps_nt; 0 = all cores
  std::vector<std::string> peers;
  std::string csv_path;
  // vecdex only: a sweep over filters admitting these shares of the points (hashed labels) ...
  std::vector<double> filter_selectivity;
  // ... and a churn run: delete this share of the points, measure, re-insert them, measure.
  double churn_fraction = 0;
  double max_single_thread_seconds = 5.0;  // budget of the one-query-at-a-time loop per point
  size_t rounds = 3;  // the budget is split into this many slices per library, taken in turn
  bool measure_bandwidth = true;           // flat: STREAM-like read bandwidth next to scan speed
};

// One measured point; the CSV columns.
struct BenchRow {
  std::string library, index, storage, params;
  size_t k = 0;
  size_t ef = 0;  // 0 = not applicable
  double recall = 0, qps_1t = 0, qps_nt = 0;
  size_t threads = 0;
  double build_s = 0;
  size_t memory_bytes = 0;
  bool main_sweep = true;  // false for the filtered and churn runs (kept out of peer ratios)
};

Status RunAnnBench(const BenchOptions& options, std::ostream& out);

// Parses "10,20,40" into sizes, "0.001,0.5" into shares in (0, 1]. Errors: InvalidArgument
// naming the bad item.
Result<std::vector<size_t>> ParseSizeList(const std::string& text);
Result<std::vector<double>> ParseShareList(const std::string& text);

}  // namespace vecdex::bench
