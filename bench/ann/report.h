// Printing what the ANN bench measured: the table, ratios against peers, the CSV.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "ann/ann_bench.h"

namespace vecdex::bench {

std::string FormatSeconds(double seconds);
std::string FormatBytes(size_t bytes);

void PrintTable(const std::vector<BenchRow>& rows, std::ostream& out);

// For each peer: our figures over theirs. Single points (flat) compare directly; sweeps compare
// QPS at matched recall, interpolated between measured points.
void PrintPeerRatios(const std::vector<BenchRow>& rows, std::ostream& out);

// QPS (single- or multi-thread) at `recall` on the curve of `library`'s rows, linearly
// interpolated between the two measured points around it; nullopt when the curve does not
// reach that recall.
std::optional<double> QpsAtRecall(const std::vector<BenchRow>& rows, const std::string& library, double recall,
                                  bool single_thread);

// Columns: library,index,storage,params,k,ef,recall,qps_1t,qps_nt,threads,build_s,memory_bytes.
Status WriteCsv(const std::vector<BenchRow>& rows, const std::string& path);

}  // namespace vecdex::bench
