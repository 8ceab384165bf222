// What `vecdex bench-filter` prints and writes once its sweep is measured: a table per filter,
// the summary with the targets of issue 5 (PASS/FAIL), and the CSV.
//
// Targets, each judged at `target_recall` (0.95):
//   1. recall@k >= target reachable at every selectivity (the best ef of every filter reaches it);
//   2. at 1% selectivity (every filter of nominal share 0.01), QPS at the target recall is at least
//      0.5x the unfiltered QPS at the same recall (both interpolated on their ef curves);
//   3. no filtered query slower than 10x the unfiltered one: at each filter's operating point (its
//      fastest ef with recall >= target) the mean and the p99 latency are at most 10x those of
//      the unfiltered operating point. The max latency ratio is printed, not judged (one query).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ann/filter_bench.h"
#include "vecdex/status.h"

namespace vecdex::bench {

// One measured (filter, ef) point.
struct FilterSweepRow {
  size_t filter = 0;   // index into FilterReport::filters
  size_t ef = 0;
  size_t queries = 0;  // answered (fewer than asked when the point's time budget ran out)
  double recall = 0;   // mean recall@k against the exact filtered top-k
  double qps = 0;      // queries / wall time with `threads` workers
  double mean_s = 0, p99_s = 0, max_s = 0;  // per-query latency
  uint64_t violations = 0;  // broken contract rules
};

struct FilterReport {
  std::vector<const BenchFilter*> filters;  // [0] is the unfiltered baseline ("none")
  std::vector<uint64_t> matches;            // points matching each filter
  std::vector<FilterSweepRow> rows;
  size_t points = 0;
  size_t k = 10;
  size_t queries = 0;  // asked per point
  size_t threads = 1;
  bool payload_index = true;
  double target_recall = 0.95;
};

// A table per filter (on stdout).
void PrintFilterTables(const FilterReport& report);
// The summary per filter and the three targets with PASS/FAIL (on stdout).
void PrintFilterSummary(const FilterReport& report);
// Columns: filter,description,nominal,selectivity,matches,ef,k,queries,recall,qps,mean_latency_s,
// p99_latency_s,max_latency_s,threads,payload_index,violations,qps_over_unfiltered_at_recall.
Status WriteFilterCsv(const FilterReport& report, const std::string& path);

}  // namespace vecdex::bench
