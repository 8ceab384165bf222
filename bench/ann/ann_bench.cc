#include "ann/ann_bench.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>

#include "ann/bandwidth.h"
#include "ann/bench_data.h"
#include "ann/report.h"
#include "common/parallel.h"
#include "index/ground_truth.h"
#include "io/npy_io.h"
#include "io/synthetic.h"
#include "io/vecs_io.h"
#include "simd/kernels.h"

namespace vecdex::bench {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Result<io::FloatDataset> LoadMatrix(const std::string& path, size_t max_rows) {
  if (EndsWith(path, ".fvecs")) return io::ReadFvecs(path, max_rows);
  if (EndsWith(path, ".bvecs")) return io::ReadBvecs(path, max_rows);
  if (EndsWith(path, ".npy")) return io::ReadNpy(path, max_rows);
  return Status::InvalidArgument(path + ": unknown format (expected .fvecs, .bvecs or .npy)");
}

Status LoadData(const BenchOptions& options, BenchData* data) {
  if (options.synthetic_rows > 0) {
    io::SyntheticSpec spec;
    spec.rows = options.synthetic_rows;
    spec.dim = options.synthetic_dim;
    spec.clusters = options.clusters;
    spec.seed = options.seed;
    VECDEX_ASSIGN_OR_RETURN(auto pair, io::GenerateClusteredGaussianPair(spec, options.synthetic_queries));
    data->base = std::move(pair.base);
    data->queries = std::move(pair.queries);
    data->name = "synthetic " + std::to_string(spec.rows) + "x" + std::to_string(spec.dim) + " (" +
                 std::to_string(spec.clusters) + " clusters, seed " + std::to_string(spec.seed) + ")";
  } else {
    if (options.base_path.empty() || options.query_path.empty()) {
      return Status::InvalidArgument("give --base and --query files, or --synthetic N,DIM,QUERIES");
    }
    VECDEX_ASSIGN_OR_RETURN(data->base, LoadMatrix(options.base_path, options.max_base_rows));
    VECDEX_ASSIGN_OR_RETURN(data->queries, LoadMatrix(options.query_path, options.max_queries));
    data->name = options.base_path;
  }
  if (data->base.dim != data->queries.dim) {
    return Status::InvalidArgument("base has dimension " + std::to_string(data->base.dim) + " but queries have " +
                                   std::to_string(data->queries.dim));
  }
  // A given ground truth is only valid for the full base set it was computed on.
  if (!options.gt_path.empty() && options.max_base_rows == 0) {
    VECDEX_ASSIGN_OR_RETURN(io::IntDataset gt, io::ReadIvecs(options.gt_path, data->queries.rows));
    if (gt.rows < data->queries.rows || gt.dim < options.k) {
      return Status::InvalidArgument(options.gt_path + ": has " + std::to_string(gt.rows) + " rows of " +
                                     std::to_string(gt.dim) + " ids; need " + std::to_string(data->queries.rows) +
                                     " rows of at least k=" + std::to_string(options.k));
    }
    data->truth.num_queries = gt.rows;
    data->truth.k = gt.dim;
    data->truth.ids = std::move(gt.values);
    return Status::Ok();
  }
  const auto start = Clock::now();
  VECDEX_ASSIGN_OR_RETURN(data->truth, ComputeGroundTruth(data->base.view(), data->queries.view(),
                                                          options.index.metric, options.k, options.threads));
  data->truth_seconds = SecondsSince(start);
  return Status::Ok();
}

// One library of a run: its searcher, build time and measured rows.
struct Library {
  std::unique_ptr<Searcher> searcher;
  double build_seconds = 0;
  std::vector<BenchRow> rows;
};

Status BuildLibrary(Library& lib, const BenchData& data, size_t threads, std::ostream& out) {
  const auto start = Clock::now();
  VECDEX_RETURN_IF_ERROR(lib.searcher->Build(data.base.view(), threads).WithContext(lib.searcher->library() + " build"));
  lib.build_seconds = SecondsSince(start);
  out << "  " << lib.searcher->library() << ": built in " << FormatSeconds(lib.build_seconds) << "\n" << std::flush;
  return Status::Ok();
}

// The main sweep of every library, interleaved. At each ef: the multi-thread runs of each
// library, then options.rounds single-thread slices per library taken in turn (each on the
// same queries from the first), keeping each library's best slice. On a shared machine a burst
// of load then falls on every library alike instead of on whichever one was running: measured
// one library after the other, hnswlib's own QPS at one ef moved by 1.4x between two runs.
Status MeasureSweepInterleaved(std::vector<Library>& libs, const BenchData& data, const BenchOptions& options) {
  const size_t threads = ResolveThreads(options.threads, SIZE_MAX);
  const size_t rounds = std::max<size_t>(options.rounds, 1);
  const std::vector<size_t> sweep = options.ef.empty() ? std::vector<size_t>{0} : options.ef;
  for (size_t ef : sweep) {
    std::vector<SearchFn> searches;
    for (Library& lib : libs) {
      Searcher& searcher = *lib.searcher;
      BenchRow row;
      row.library = searcher.library();
      row.index = options.index.kind;
      row.storage = options.index.storage;
      row.params = searcher.params();
      row.k = options.k;
      row.ef = ef;
      row.threads = threads;
      row.build_s = lib.build_seconds;
      row.memory_bytes = searcher.memory_bytes();
      searches.push_back([&searcher, &options, ef](MatrixView queries, size_t workers, SearchResults* out) {
        return searcher.Search(queries, options.k, ef, workers, out);
      });
      VECDEX_RETURN_IF_ERROR(MeasureMultiThread(searches.back(), data, data.truth, options, &row));
      lib.rows.push_back(row);
    }
    for (size_t round = 0; round < rounds; ++round) {
      for (size_t i = 0; i < libs.size(); ++i) {
        double qps = 0;
        VECDEX_RETURN_IF_ERROR(
            MeasureSingleThread(searches[i], data, options.max_single_thread_seconds / static_cast<double>(rounds), &qps));
        libs[i].rows.back().qps_1t = std::max(libs[i].rows.back().qps_1t, qps);
      }
    }
  }
  return Status::Ok();
}

// vecdex only: the filtered sweep and the churn run, from the last point of its main sweep.
Status MeasureVecdexExtras(Library& lib, const BenchData& data, const BenchOptions& options, std::ostream& out) {
  Index* index = lib.searcher->vecdex_index();
  if (index == nullptr || lib.rows.empty()) return Status::Ok();
  const BenchRow base_row = lib.rows.back();
  if (!options.filter_selectivity.empty()) {
    VECDEX_RETURN_IF_ERROR(RunFilteredSweep(*index, data, options, base_row, &lib.rows, out));
  }
  if (options.churn_fraction > 0) {
    VECDEX_RETURN_IF_ERROR(RunChurn(*index, data, options, base_row, &lib.rows, out));
  }
  return Status::Ok();
}

}  // namespace

Status MeasureMultiThread(const SearchFn& search, const BenchData& data, const GroundTruth& truth,
                          const BenchOptions& options, BenchRow* row) {
  SearchResults results;
  // N threads: the whole query set as one batch, best of 2-5 runs (at least 0.5 s of runs).
  // The first run also gives the recall.
  double best = 0;
  double total = 0;
  for (int run = 0; run < 5 && (run < 2 || total < 0.5); ++run) {
    const auto start = Clock::now();
    VECDEX_RETURN_IF_ERROR(search(data.queries.view(), row->threads, &results));
    const double seconds = SecondsSince(start);
    total += seconds;
    if (run == 0) row->recall = RecallAtK(results, truth, options.k);
    best = std::max(best, static_cast<double>(data.queries.rows) / std::max(seconds, 1e-9));
  }
  row->qps_nt = best;
  return Status::Ok();
}

Status MeasureSingleThread(const SearchFn& search, const BenchData& data, double budget_seconds, double* qps) {
  // One query per call, in order from the first, until all are done or the budget is spent.
  SearchResults results;
  const size_t dim = data.queries.dim;
  const auto start = Clock::now();
  size_t done = 0;
  while (done < data.queries.rows) {
    VECDEX_RETURN_IF_ERROR(search({data.queries.row(done), 1, dim}, 1, &results));
    ++done;
    if (done >= 10 && SecondsSince(start) > budget_seconds) break;
  }
  *qps = static_cast<double>(done) / std::max(SecondsSince(start), 1e-9);
  return Status::Ok();
}

Status MeasurePoint(const SearchFn& search, const BenchData& data, const GroundTruth& truth,
                    const BenchOptions& options, BenchRow* row) {
  VECDEX_RETURN_IF_ERROR(MeasureMultiThread(search, data, truth, options, row));
  return MeasureSingleThread(search, data, options.max_single_thread_seconds, &row->qps_1t);
}

namespace {

// Parses each comma-separated item of `text` with `parse` (false = malformed), in order.
template <typename T, typename Parse>
Result<std::vector<T>> ParseList(const std::string& text, const char* expected, Parse parse) {
  std::vector<T> values;
  size_t begin = 0;
  while (begin <= text.size()) {
    const size_t comma = std::min(text.find(',', begin), text.size());
    const std::string item = text.substr(begin, comma - begin);
    T value{};
    if (item.empty() || !parse(item, &value)) {
      return Status::InvalidArgument("'" + item + "' in '" + text + "' is not " + expected);
    }
    values.push_back(value);
    begin = comma + 1;
  }
  return values;
}

}  // namespace

Result<std::vector<size_t>> ParseSizeList(const std::string& text) {
  return ParseList<size_t>(text, "a non-negative integer", [](const std::string& item, size_t* value) {
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), *value);
    return ec == std::errc() && end == item.data() + item.size();
  });
}

Result<std::vector<double>> ParseShareList(const std::string& text) {
  return ParseList<double>(text, "a share in (0, 1]", [](const std::string& item, double* value) {
    char* end = nullptr;
    *value = std::strtod(item.c_str(), &end);
    return end == item.c_str() + item.size() && *value > 0 && *value <= 1;
  });
}

Status RunAnnBench(const BenchOptions& options, std::ostream& out) {
  if (options.k == 0) return Status::InvalidArgument("--k must be at least 1");
  BenchData data;
  VECDEX_RETURN_IF_ERROR(LoadData(options, &data));
  const size_t threads = ResolveThreads(options.threads, SIZE_MAX);
  out << "data:    " << data.name << ": " << data.base.rows << " x " << data.base.dim << " base, "
      << data.queries.rows << " queries, metric " << MetricName(options.index.metric) << "\n"
      << "truth:   exact top-" << data.truth.k << " "
      << (data.truth_seconds > 0 ? "computed with the flat index in " + FormatSeconds(data.truth_seconds)
                                 : "read from " + options.gt_path)
      << "\n"
      << "machine: kernels " << simd::IsaName(simd::Kernels().isa) << ", " << threads << " threads for qps_nt\n"
      << std::flush;

  // Every library is built first and kept, so that their sweeps can be interleaved.
  std::vector<Library> libs(1);
  VECDEX_ASSIGN_OR_RETURN(libs[0].searcher, MakeVecdexSearcher(options.index, data.base.dim));
  for (const std::string& peer : options.peers) {
    libs.emplace_back();
    VECDEX_ASSIGN_OR_RETURN(libs.back().searcher, MakePeerSearcher(peer, options.index, data.base.dim));
  }
  for (Library& lib : libs) VECDEX_RETURN_IF_ERROR(BuildLibrary(lib, data, threads, out));
  VECDEX_RETURN_IF_ERROR(MeasureSweepInterleaved(libs, data, options));
  VECDEX_RETURN_IF_ERROR(MeasureVecdexExtras(libs[0], data, options, out));
  std::vector<BenchRow> rows;
  for (Library& lib : libs) rows.insert(rows.end(), lib.rows.begin(), lib.rows.end());

  PrintTable(rows, out);
  PrintPeerRatios(rows, out);
  if (options.measure_bandwidth && options.index.kind == "flat" && !rows.empty()) {
    const double read_gbps = MeasureReadBandwidthGBps(data.base.values.data(), data.base.values.size());
    const double scan_gbps = rows.front().qps_1t * static_cast<double>(data.base.values.size() * sizeof(float)) / 1e9;
    char line[256];
    std::snprintf(line, sizeof line,
                  "bandwidth: single-thread STREAM-like sum %.2f GB/s; vecdex flat single-query scan %.2f GB/s "
                  "= %.0f%% of it\n",
                  read_gbps, scan_gbps, 100.0 * scan_gbps / read_gbps);
    out << line;
  }
  if (!options.csv_path.empty()) {
    VECDEX_RETURN_IF_ERROR(WriteCsv(rows, options.csv_path));
    out << "csv:     " << rows.size() << " rows written to " << options.csv_path << "\n";
  }
  return Status::Ok();
}

}  // namespace vecdex::bench
