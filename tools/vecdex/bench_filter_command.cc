#include "bench_filter_command.h"

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "ann/ann_bench.h"
#include "ann/filter_bench.h"
#include "ann/filter_report.h"
#include "db_util.h"
#include "progress.h"
#include "vecdex/database.h"
#include "vecdex/filter.h"

namespace vecdex::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kCollection = "bench_filter";
constexpr auto kReadyTimeout = std::chrono::minutes(30);
constexpr size_t kMaxPrintedViolations = 20;
constexpr size_t kWarmupQueries = 50;
constexpr size_t kReuseSpotChecks = 64;

struct BenchFilterArgs {
  std::string base, query, meta;
  std::string synthetic;  // N,DIM
  std::string metric = "cosine";
  size_t limit = 0;  // 0 = every base vector
  size_t queries = 1000;
  std::string index = "hnsw:m=16,ef_construction=200";
  std::string ef = "16,32,64,128,256,512";
  size_t k = 10;
  std::string dir;
  bool keep = false;
  bool reuse = false;
  size_t threads = 1;
  size_t truth_threads = 2;
  std::string csv;
  bool no_payload_index = false;
  std::string filters;  // names; empty = all
  size_t batch = 10000;
  uint64_t seed = 1;
  double target_recall = 0.95;
  double max_point_seconds = 120;  // 0 = no limit
};

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string Percent(double share) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f%%", 100.0 * share);
  return text;
}

// ---------------------------------------------------------------------------- data

using bench::LabelledData;

Result<LabelledData> LoadData(const BenchFilterArgs& args) {
  bench::LabelledDataSpec spec;
  spec.base_path = args.base;
  spec.query_path = args.query;
  spec.meta_path = args.meta;
  if (!args.synthetic.empty()) {
    VECDEX_ASSIGN_OR_RETURN(std::vector<size_t> parts, bench::ParseSizeList(args.synthetic));
    if (parts.size() != 2) return Status::InvalidArgument("--synthetic wants N,DIM, got '" + args.synthetic + "'");
    spec.synthetic_rows = parts[0];
    spec.synthetic_dim = parts[1];
  }
  spec.limit = args.limit;
  spec.queries = args.queries;
  spec.seed = args.seed;
  return bench::LoadLabelledData(spec);
}

// ---------------------------------------------------------------------------- the database

Result<std::string> PrepareDir(const BenchFilterArgs& args) {
  if (args.reuse) {
    // Loading (an HNSW build of the whole set) is the slow part: a kept database skips it.
    if (args.dir.empty() || !fs::exists(fs::path(args.dir) / "collections" / kCollection)) {
      return Status::InvalidArgument("--reuse needs --dir naming a database an earlier --keep run loaded");
    }
    return args.dir;
  }
  if (args.dir.empty()) {
    std::string pattern = (fs::temp_directory_path() / "vecdex-bench-filter-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) return Status::IOError(pattern + ": cannot create a temp directory");
    return pattern;
  }
  std::error_code error;
  if (fs::exists(args.dir, error) && !fs::is_empty(args.dir, error)) {
    return Status::InvalidArgument("--dir " + args.dir + " is not empty (use --reuse to measure a kept database)");
  }
  return args.dir;
}

Result<std::shared_ptr<Collection>> LoadCollection(Database& db, const BenchFilterArgs& args, Metric metric,
                                                   const LabelledData& data,
                                                   const std::vector<bench::WordLabels>& labels) {
  CollectionConfig config;
  config.dim = data.base.dim;
  config.metric = metric;
  config.index_spec = args.index;
  VECDEX_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, db.CreateCollection(kCollection, config));
  Progress progress("load", data.base.rows, "points");
  std::vector<Point> batch;
  for (size_t first = 0; first < data.base.rows; first += args.batch) {
    const size_t end = std::min(data.base.rows, first + args.batch);
    batch.resize(end - first);
    for (size_t i = first; i < end; ++i) {
      Point& point = batch[i - first];
      point.key = PointKey::Int(i);
      point.vector.assign(data.base.row(i), data.base.row(i) + data.base.dim);
      point.payload_json = bench::PayloadJsonOf(data.words[i], labels[i]);
    }
    VECDEX_ASSIGN_OR_RETURN(WriteSummary written, collection->Upsert(batch));
    (void)written;
    progress.Update(end);
  }
  progress.Finish();
  const double seconds = progress.elapsed_seconds();
  std::cout << "load: " << FormatCount(data.base.rows) << " points with payloads in " << FormatSeconds(seconds)
            << " (" << FormatCount(static_cast<uint64_t>(seconds > 0 ? data.base.rows / seconds : 0))
            << " points/s)\n";
  return collection;
}

// A kept database must hold this data: same count and dimension, and sampled points with the
// same vector and payload.
Status CheckReused(Collection& collection, Metric metric, const LabelledData& data,
                   const std::vector<bench::WordLabels>& labels) {
  VECDEX_ASSIGN_OR_RETURN(uint64_t count, collection.Count());
  const CollectionConfig& config = collection.config();
  if (count != data.base.rows || config.dim != data.base.dim || config.metric != metric) {
    return Status::FailedPrecondition(
        "--reuse: the kept collection holds " + std::to_string(count) + " points of dimension " +
        std::to_string(config.dim) + " (" + std::string(MetricName(config.metric)) + "), not " +
        std::to_string(data.base.rows) + " of " + std::to_string(data.base.dim) + " (" +
        std::string(MetricName(metric)) + "): load it again with the same --limit and --metric");
  }
  std::vector<PointKey> keys;
  const size_t checks = std::min(kReuseSpotChecks, data.base.rows);  // distinct keys
  for (size_t i = 0; i < checks; ++i) keys.push_back(PointKey::Int(i * data.base.rows / checks));
  VECDEX_ASSIGN_OR_RETURN(std::vector<PointRecord> records, collection.Get(keys, true, true));
  if (records.size() != keys.size()) return Status::FailedPrecondition("--reuse: the kept collection lacks points");
  for (const PointRecord& record : records) {
    const size_t row = record.key.int_value();
    const bool same_vector = record.vector.size() == data.base.dim &&
                             std::equal(record.vector.begin(), record.vector.end(), data.base.row(row));
    const bool same_payload = !record.payload_json.empty() &&
                              nlohmann::json::parse(record.payload_json, nullptr, false) ==
                                  nlohmann::json::parse(bench::PayloadJsonOf(data.words[row], labels[row]));
    if (!same_vector || !same_payload) {
      return Status::FailedPrecondition("--reuse: point " + std::to_string(row) + " of the kept collection has " +
                                        "another " + (same_vector ? "payload" : "vector") + " than this data set");
    }
  }
  return Status::Ok();
}

// Creates (or, with --no-payload-index, drops) the payload indexes, then waits until the vector
// index and every payload index are ready, so that nothing builds in the background while we
// measure.
Status PreparePayloadIndexes(Collection& collection, bool indexed) {
  static const std::pair<const char*, PayloadFieldType> kFields[] = {
      {"b1000", PayloadFieldType::kInteger}, {"b100", PayloadFieldType::kInteger},
      {"b10", PayloadFieldType::kInteger},   {"b2", PayloadFieldType::kInteger},
      {"tag", PayloadFieldType::kKeyword}};
  const Clock::time_point start = Clock::now();
  VECDEX_ASSIGN_OR_RETURN(CollectionInfo info, collection.Info());
  if (indexed) {
    for (const auto& [field, type] : kFields) VECDEX_RETURN_IF_ERROR(collection.CreatePayloadIndex(field, type));
  } else {
    for (const PayloadIndexInfo& index : info.payload_indexes) {
      VECDEX_RETURN_IF_ERROR(collection.DropPayloadIndex(index.field));
    }
  }
  for (;;) {
    VECDEX_ASSIGN_OR_RETURN(info, collection.Info());
    const bool ready = info.status == "ready" &&
                       std::all_of(info.payload_indexes.begin(), info.payload_indexes.end(),
                                   [](const PayloadIndexInfo& index) { return index.ready; });
    if (ready) break;
    if (Clock::now() - start > kReadyTimeout) return Status::Internal("collection not ready after 30 minutes");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::cout << "payload indexes: ";
  if (info.payload_indexes.empty()) std::cout << "none";
  for (size_t i = 0; i < info.payload_indexes.size(); ++i) {
    const PayloadIndexInfo& index = info.payload_indexes[i];
    std::cout << (i == 0 ? "" : ", ") << index.field << " (" << PayloadFieldTypeName(index.type) << ", "
              << FormatCount(index.points) << " points)";
  }
  std::cout << "; ready after " << FormatSeconds(SecondsSince(start)) << "; index " << info.config.index_spec
            << ", " << FormatBytes(info.index_memory_bytes) << "\n";
  return Status::Ok();
}

// ---------------------------------------------------------------------------- filters

// A filter of the sweep as this run uses it.
struct FilterCase {
  const bench::BenchFilter* spec = nullptr;
  uint32_t bit = 0;                       // its bit in the masks
  std::shared_ptr<const Filter> filter;   // nullptr: no filter
  uint64_t matches = 0;                   // counted on the labels
  std::optional<uint64_t> count_where;    // what the engine counts
};

// "none" first (the baseline every ratio needs), then the named ones in the standard order.
Result<std::vector<FilterCase>> SelectFilters(const std::string& names) {
  const bool all = names.empty();
  std::unordered_set<std::string> wanted;
  if (!all) {
    std::stringstream stream(names);
    std::string name;
    while (std::getline(stream, name, ',')) wanted.insert(name);
  }
  std::vector<FilterCase> cases;
  for (const bench::BenchFilter& spec : bench::StandardBenchFilters()) {
    if (spec.json.empty() || all || wanted.count(spec.name) == 1) {
      FilterCase c;
      c.spec = &spec;
      c.bit = static_cast<uint32_t>(cases.size());
      cases.push_back(std::move(c));
    }
    wanted.erase(spec.name);
  }
  if (!wanted.empty()) {
    std::string known;
    for (const bench::BenchFilter& spec : bench::StandardBenchFilters()) known += " " + spec.name;
    return Status::InvalidArgument("unknown filter '" + *wanted.begin() + "' (known:" + known + ")");
  }
  return cases;
}

// Counts every violation; prints the first few. Used by one thread (the checks run after each pass).
class Violations {
 public:
  void Add(const std::string& message) {
    if (++total_ <= kMaxPrintedViolations) std::cout << "VIOLATION: " << message << "\n";
    if (total_ == kMaxPrintedViolations + 1) std::cout << "(further violations are only counted)\n";
  }
  uint64_t total() const { return total_; }

 private:
  uint64_t total_ = 0;
};

Status ParseFilters(std::vector<FilterCase>* cases) {
  for (FilterCase& c : *cases) {
    if (c.spec->json.empty()) continue;
    Result<Filter> parsed = ParseFilter(c.spec->json);
    if (!parsed.ok()) return Status::Internal("filter " + c.spec->name + ": " + parsed.status().ToString());
    c.filter = std::make_shared<const Filter>(std::move(*parsed));
  }
  return Status::Ok();
}

// Prints each filter's selectivity, and checks the engine's count against the labels'.
Status CountFilters(Collection& collection, size_t rows, std::vector<FilterCase>* cases, Violations* violations) {
  std::cout << "\nfilters (selectivity counted on the labels; CountWhere by the engine):\n";
  for (FilterCase& c : *cases) {
    if (c.filter == nullptr) {
      std::printf("  %-8s %-30s %10s of %s points = %9s\n", c.spec->name.c_str(), c.spec->description.c_str(),
                  FormatCount(c.matches).c_str(), FormatCount(rows).c_str(), Percent(1.0).c_str());
      continue;
    }
    const Clock::time_point start = Clock::now();
    Result<uint64_t> counted = collection.CountWhere(*c.filter);
    if (!counted.ok()) return Status::Internal("CountWhere(" + c.spec->name + "): " + counted.status().ToString());
    c.count_where = *counted;
    if (*c.count_where != c.matches) {
      violations->Add("CountWhere(" + c.spec->name + ") = " + std::to_string(*c.count_where) + ", the labels say " +
                      std::to_string(c.matches));
    }
    std::printf("  %-8s %-30s %10s of %s points = %9s (nominal %s); CountWhere %s in %s\n", c.spec->name.c_str(),
                c.spec->description.c_str(), FormatCount(c.matches).c_str(), FormatCount(rows).c_str(),
                Percent(static_cast<double>(c.matches) / rows).c_str(), Percent(c.spec->nominal).c_str(),
                FormatCount(*c.count_where).c_str(), FormatSeconds(SecondsSince(start)).c_str());
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------- measuring

using bench::FilterSweepRow;

// What every measured point needs.
struct SweepContext {
  Collection* collection = nullptr;
  const io::FloatDataset* queries = nullptr;
  const std::vector<uint32_t>* masks = nullptr;  // bit c.bit of masks[row]: row matches case c
  const bench::FilteredTruth* truth = nullptr;
  size_t k = 10;
  size_t threads = 1;
  double budget_s = 0;  // per measured point; 0 = none
  Violations* violations = nullptr;
};

// What one pass over the queries did.
struct Pass {
  double wall_s = 0;
  std::vector<double> latencies;                 // [q], seconds
  std::vector<std::vector<ScoredPoint>> results;  // [q]
  std::vector<uint8_t> answered;                 // [q]: searched (not skipped by the time budget)
};

// Searches queries [0, count) one per call on `threads` workers. After `budget_s` seconds (0: no
// limit) no further query is started.
Result<Pass> RunQueries(const SweepContext& ctx, const SearchRequest& request, size_t count, double budget_s) {
  Pass pass;
  pass.latencies.assign(count, 0.0);
  pass.results.assign(count, {});
  pass.answered.assign(count, 0);
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex error_mu;
  Status error;  // guarded by error_mu
  const Clock::time_point pass_start = Clock::now();
  auto work = [&] {
    for (size_t q = next.fetch_add(1); q < count && !stop.load(); q = next.fetch_add(1)) {
      if (budget_s > 0 && SecondsSince(pass_start) > budget_s) return;
      const Clock::time_point start = Clock::now();
      Result<std::vector<ScoredPoint>> found =
          ctx.collection->Search({ctx.queries->row(q), ctx.queries->dim}, request);
      pass.latencies[q] = SecondsSince(start);
      if (!found.ok()) {
        const std::lock_guard<std::mutex> lock(error_mu);
        if (!stop.exchange(true)) error = found.status();
        return;
      }
      pass.results[q] = std::move(*found);
      pass.answered[q] = 1;
    }
  };
  std::vector<std::thread> workers;
  for (size_t t = 1; t < ctx.threads; ++t) workers.emplace_back(work);
  work();
  for (std::thread& worker : workers) worker.join();
  pass.wall_s = SecondsSince(pass_start);
  if (stop.load()) return error;
  return pass;
}

// The contract of one result list: min(k, matches) results, nearest first, each a point that
// matches, none twice. Returns the number of broken rules (each reported).
uint64_t CheckContract(const SweepContext& ctx, const FilterCase& c, size_t ef, size_t q,
                       const std::vector<ScoredPoint>& found) {
  uint64_t broken = 0;
  const std::string where = "filter " + c.spec->name + " ef " + std::to_string(ef) + " query " + std::to_string(q);
  const uint64_t expected = std::min<uint64_t>(ctx.k, c.matches);
  if (found.size() != expected) {
    ctx.violations->Add(where + ": " + std::to_string(found.size()) + " results, expected " + std::to_string(expected) +
                        " = min(k, " + std::to_string(c.matches) + " matching)");
    ++broken;
  }
  std::unordered_set<uint64_t> seen;
  for (size_t i = 0; i < found.size(); ++i) {
    const PointKey& key = found[i].key;
    if (!key.is_int() || key.int_value() >= ctx.masks->size()) {
      ctx.violations->Add(where + ": result " + std::to_string(i) + " has key " + PointKeyToString(key) +
                          ", which was never inserted");
      ++broken;
      continue;
    }
    if (((*ctx.masks)[key.int_value()] >> c.bit & 1u) == 0) {
      ctx.violations->Add(where + ": result " + std::to_string(i) + " (key " + PointKeyToString(key) +
                          ") does not match " + c.spec->description);
      ++broken;
    }
    if (!seen.insert(key.int_value()).second) {
      ctx.violations->Add(where + ": key " + PointKeyToString(key) + " returned twice");
      ++broken;
    }
    if (i > 0 && found[i].distance < found[i - 1].distance) {
      ctx.violations->Add(where + ": result " + std::to_string(i) + " is nearer than result " + std::to_string(i - 1) +
                          " (distances " + std::to_string(found[i - 1].distance) + ", " +
                          std::to_string(found[i].distance) + ")");
      ++broken;
    }
  }
  return broken;
}

// Share of the exact filtered top-k found (1 when nothing matches and nothing was returned).
double RecallOf(const std::vector<uint32_t>& truth, const std::vector<ScoredPoint>& found) {
  if (truth.empty()) return found.empty() ? 1.0 : 0.0;
  size_t hits = 0;
  for (const ScoredPoint& point : found) {
    if (point.key.is_int() && std::find(truth.begin(), truth.end(), point.key.int_value()) != truth.end()) ++hits;
  }
  return static_cast<double>(hits) / static_cast<double>(truth.size());
}

Result<FilterSweepRow> MeasurePoint(const SweepContext& ctx, const std::vector<FilterCase>& cases, size_t case_index,
                                    size_t ef) {
  const FilterCase& c = cases[case_index];
  SearchRequest request;
  request.k = ctx.k;
  request.ef = ef;
  request.filter = c.filter;
  VECDEX_ASSIGN_OR_RETURN(Pass pass, RunQueries(ctx, request, ctx.queries->rows, ctx.budget_s));
  FilterSweepRow row;
  row.filter = case_index;
  row.ef = ef;
  const std::vector<std::vector<uint32_t>>& truth = (*ctx.truth)[c.bit];
  double recall_sum = 0;
  std::vector<double> latencies;
  for (size_t q = 0; q < pass.results.size(); ++q) {
    if (!pass.answered[q]) continue;
    row.violations += CheckContract(ctx, c, ef, q, pass.results[q]);
    recall_sum += RecallOf(truth[q], pass.results[q]);
    latencies.push_back(pass.latencies[q]);
  }
  row.queries = latencies.size();
  if (row.queries == 0) {
    return Status::Internal("filter " + c.spec->name + " ef " + std::to_string(ef) + ": no query answered");
  }
  row.qps = pass.wall_s > 0 ? static_cast<double>(row.queries) / pass.wall_s : 0;
  row.recall = recall_sum / static_cast<double>(row.queries);
  double latency_sum = 0;
  for (const double latency : latencies) latency_sum += latency;
  row.mean_s = latency_sum / static_cast<double>(latencies.size());
  std::sort(latencies.begin(), latencies.end());
  const size_t p99_index = static_cast<size_t>(std::ceil(0.99 * static_cast<double>(latencies.size()))) - 1;
  row.p99_s = latencies[std::min(p99_index, latencies.size() - 1)];
  row.max_s = latencies.back();
  return row;
}

Result<std::vector<FilterSweepRow>> RunSweep(const SweepContext& ctx, const std::vector<FilterCase>& cases,
                                       const std::vector<size_t>& efs) {
  std::vector<FilterSweepRow> rows;
  for (size_t i = 0; i < cases.size(); ++i) {
    // Warm caches and code paths for this filter before timing it.
    SearchRequest warmup;
    warmup.k = ctx.k;
    warmup.ef = efs.front();
    warmup.filter = cases[i].filter;
    VECDEX_ASSIGN_OR_RETURN(Pass pass, RunQueries(ctx, warmup, std::min(kWarmupQueries, ctx.queries->rows),
                                                  ctx.budget_s));
    (void)pass;
    for (const size_t ef : efs) {
      VECDEX_ASSIGN_OR_RETURN(FilterSweepRow row, MeasurePoint(ctx, cases, i, ef));
      const std::string violated = row.violations == 0 ? "" : ", " + std::to_string(row.violations) + " VIOLATIONS";
      const std::string budget =
          row.queries == ctx.queries->rows ? "" : ", " + std::to_string(row.queries) + " queries (time budget)";
      std::printf("  measured %-8s ef %4zu: recall@%zu %.4f, %10.1f QPS, p99 %s%s%s\n", cases[i].spec->name.c_str(),
                  ef, ctx.k, row.recall, row.qps, FormatSeconds(row.p99_s).c_str(), violated.c_str(), budget.c_str());
      std::fflush(stdout);
      rows.push_back(row);
    }
  }
  return rows;
}

// ---------------------------------------------------------------------------- the command

// Everything a run measures, prepared before the database is touched.
struct Prepared {
  Metric metric = Metric::kCosine;
  std::vector<size_t> efs;
  LabelledData data;
  std::vector<bench::WordLabels> labels;  // labels[row]
  std::vector<uint32_t> masks;            // bit c.bit: row matches case c
  std::vector<FilterCase> cases;
  bench::FilteredTruth truth;
};

Result<Prepared> Prepare(const BenchFilterArgs& args) {
  Prepared p;
  const std::optional<Metric> metric = ParseMetric(args.metric);
  if (!metric) return Status::InvalidArgument("--metric must be l2, ip or cosine, not '" + args.metric + "'");
  p.metric = *metric;
  VECDEX_ASSIGN_OR_RETURN(p.efs, bench::ParseSizeList(args.ef));
  if (p.efs.empty()) return Status::InvalidArgument("--ef: give at least one value");
  VECDEX_ASSIGN_OR_RETURN(p.cases, SelectFilters(args.filters));
  VECDEX_RETURN_IF_ERROR(ParseFilters(&p.cases));  // first: fails fast while filters are missing
  VECDEX_ASSIGN_OR_RETURN(p.data, LoadData(args));
  if (p.data.queries.rows == 0) return Status::InvalidArgument("no queries");
  p.labels.reserve(p.data.base.rows);
  p.masks.assign(p.data.base.rows, 0);
  for (size_t row = 0; row < p.data.base.rows; ++row) {
    p.labels.push_back(bench::LabelsOfWord(p.data.words[row]));
    for (FilterCase& c : p.cases) {
      if (c.spec->matches(p.labels.back())) {
        p.masks[row] |= 1u << c.bit;
        ++c.matches;
      }
    }
  }
  std::cout << "bench-filter: " << p.data.name << ": " << FormatCount(p.data.base.rows) << " points x "
            << p.data.base.dim << " dims, " << FormatCount(p.data.queries.rows) << " queries, "
            << MetricName(p.metric) << ", k=" << args.k << ", " << p.cases.size() << " filters\n";
  const Clock::time_point start = Clock::now();
  VECDEX_ASSIGN_OR_RETURN(p.truth, bench::ExactFilteredTopK(p.data.base.view(), p.data.queries.view(), p.metric,
                                                            p.masks, p.cases.size(), args.k, args.truth_threads));
  std::cout << "exact filtered ground truth (double, " << args.truth_threads << " threads): "
            << FormatSeconds(SecondsSince(start)) << "\n";
  return p;
}

Status RunInDir(const std::string& dir, const BenchFilterArgs& args, Prepared& p) {
  DatabaseOptions options = CliDatabaseOptions();
  options.create = !args.reuse;
  options.background_snapshots = false;  // nothing in the background while measuring
  VECDEX_ASSIGN_OR_RETURN(std::unique_ptr<Database> db,
                          args.reuse ? OpenExistingDatabase(dir, options) : Database::Open(dir, options));
  std::shared_ptr<Collection> collection;
  if (args.reuse) {
    VECDEX_ASSIGN_OR_RETURN(collection, db->GetCollection(kCollection));
    VECDEX_RETURN_IF_ERROR(CheckReused(*collection, p.metric, p.data, p.labels));
    std::cout << "reusing the collection in " << dir << " (--index is ignored)\n";
  } else {
    VECDEX_ASSIGN_OR_RETURN(collection, LoadCollection(*db, args, p.metric, p.data, p.labels));
  }
  VECDEX_RETURN_IF_ERROR(PreparePayloadIndexes(*collection, !args.no_payload_index));
  Violations violations;
  VECDEX_RETURN_IF_ERROR(CountFilters(*collection, p.data.base.rows, &p.cases, &violations));
  SweepContext ctx;
  ctx.collection = collection.get();
  ctx.queries = &p.data.queries;
  ctx.masks = &p.masks;
  ctx.truth = &p.truth;
  ctx.k = args.k;
  ctx.threads = args.threads;
  ctx.budget_s = args.max_point_seconds;
  ctx.violations = &violations;
  std::cout << "\nsweep (" << args.threads << " search thread(s), one query per Search call):\n";
  VECDEX_ASSIGN_OR_RETURN(std::vector<FilterSweepRow> rows, RunSweep(ctx, p.cases, p.efs));
  bench::FilterReport report;
  for (const FilterCase& c : p.cases) {
    report.filters.push_back(c.spec);
    report.matches.push_back(c.matches);
  }
  report.rows = std::move(rows);
  report.points = p.data.base.rows;
  report.k = args.k;
  report.queries = p.data.queries.rows;
  report.threads = args.threads;
  report.payload_index = !args.no_payload_index;
  report.target_recall = args.target_recall;
  bench::PrintFilterTables(report);
  bench::PrintFilterSummary(report);
  if (!args.csv.empty()) {
    VECDEX_RETURN_IF_ERROR(bench::WriteFilterCsv(report, args.csv));
    std::cout << "wrote " << args.csv << "\n";
  }
  uint64_t searches = 0;
  for (const FilterSweepRow& row : report.rows) searches += row.queries;
  if (violations.total() > 0) {
    std::printf("contract: FAIL (%s violations in %s searches and %zu counts)\n",
                FormatCount(violations.total()).c_str(), FormatCount(searches).c_str(), p.cases.size() - 1);
    return Status::Internal("the search contract was broken " + std::to_string(violations.total()) +
                            " times (VIOLATION lines above)");
  }
  std::printf("contract: PASS (0 violations in %s searches and %zu counts)\n", FormatCount(searches).c_str(),
              p.cases.size() - 1);
  return Status::Ok();
}

Status RunBenchFilter(const BenchFilterArgs& args) {
  VECDEX_ASSIGN_OR_RETURN(Prepared prepared, Prepare(args));
  VECDEX_ASSIGN_OR_RETURN(std::string dir, PrepareDir(args));
  const Status status = RunInDir(dir, args, prepared);
  if (args.keep || args.reuse) {
    std::cout << "kept " << dir << "\n";
  } else {
    std::error_code error;
    fs::remove_all(dir, error);
  }
  return status;
}

}  // namespace

void AddBenchFilterCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<BenchFilterArgs>();
  CLI::App* cmd = app.add_subcommand(
      "bench-filter", "Filtered search at 0.1% to 100% selectivity: recall against exact filtered truth, QPS, latency, "
                      "and the search contract");
  cmd->add_option("--base", args->base, "Base vectors (.fvecs, .bvecs, .npy)");
  cmd->add_option("--query", args->query, "Query vectors");
  cmd->add_option("--meta", args->meta, "Labels: a TSV with header id, source_row, label (one line per base vector)");
  cmd->add_option("--synthetic", args->synthetic, "N,DIM: clustered Gaussian vectors with words w0, w1, ... instead");
  cmd->add_option("--metric", args->metric, "l2, ip or cosine")->capture_default_str();
  cmd->add_option("--limit", args->limit, "Use only the first N base vectors (0: all)")->capture_default_str();
  cmd->add_option("--queries", args->queries, "Number of queries (the first ones)")
      ->check(CLI::Range(size_t{1}, size_t{1000000}))
      ->capture_default_str();
  cmd->add_option("--index", args->index, "Index spec of the collection")->capture_default_str();
  cmd->add_option("--ef", args->ef, "Comma-separated ef values to sweep")->capture_default_str();
  cmd->add_option("--k", args->k, "Neighbours per query")
      ->check(CLI::Range(size_t{1}, size_t{1000}))
      ->capture_default_str();
  cmd->add_option("--filters", args->filters,
                  "Comma-separated subset of: b1000, b100, b10, b2, b10+tag, b2+b100 (the unfiltered baseline "
                  "'none' always runs; default: all)");
  cmd->add_flag("--no-payload-index", args->no_payload_index,
                "Measure without payload indexes (with --reuse: drops those of the kept database)");
  cmd->add_option("--dir", args->dir, "Database directory (must not exist or be empty; default: a new temp dir)");
  cmd->add_flag("--keep", args->keep, "Keep the database directory afterwards (for --reuse)");
  cmd->add_flag("--reuse", args->reuse,
                "Skip loading: measure the database in --dir an earlier --keep run loaded with the same data and "
                "--limit; it is kept");
  cmd->add_option("--threads", args->threads, "Search threads (each sends one query per call)")
      ->check(CLI::Range(size_t{1}, size_t{256}))
      ->capture_default_str();
  cmd->add_option("--truth-threads", args->truth_threads, "Threads computing the exact ground truth")
      ->check(CLI::Range(size_t{1}, size_t{256}))
      ->capture_default_str();
  cmd->add_option("--target-recall", args->target_recall, "The recall the targets are judged at")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--max-point-seconds", args->max_point_seconds,
                  "Time budget of one (filter, ef) point: no query starts after it, the point is measured on the "
                  "queries answered (0: no limit)")
      ->check(CLI::Range(0.0, 1e9))
      ->capture_default_str();
  cmd->add_option("--batch", args->batch, "Points per upsert while loading")
      ->check(CLI::Range(size_t{1}, size_t{1000000}))
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "Seed of --synthetic data")->capture_default_str();
  cmd->add_option("--csv", args->csv, "Write one row per (filter, ef) to this file");
  cmd->callback([args, exit_code] {
    // Usage errors (exit code 2) before any work.
    if (args->synthetic.empty() && (args->base.empty() || args->query.empty() || args->meta.empty())) {
      throw CLI::RequiredError("--base, --query and --meta, or --synthetic N,DIM");
    }
    if (!args->synthetic.empty()) {
      const Result<std::vector<size_t>> parts = bench::ParseSizeList(args->synthetic);
      if (!parts.ok() || parts->size() != 2 || (*parts)[0] == 0 || (*parts)[1] == 0) {
        throw CLI::ValidationError("--synthetic", "wants N,DIM (both positive), got '" + args->synthetic + "'");
      }
      if (!args->base.empty() || !args->query.empty() || !args->meta.empty()) {
        throw CLI::ValidationError("--synthetic", "replaces --base, --query and --meta: give one or the other");
      }
    }
    if (const Result<std::vector<FilterCase>> cases = SelectFilters(args->filters); !cases.ok()) {
      throw CLI::ValidationError("--filters", cases.status().message());
    }
    if (const Result<std::vector<size_t>> efs = bench::ParseSizeList(args->ef); !efs.ok() || efs->empty()) {
      throw CLI::ValidationError("--ef", "wants a comma-separated list of sizes, got '" + args->ef + "'");
    }
    const Status status = RunBenchFilter(*args);
    if (!status.ok()) ReportError("bench-filter", status, exit_code);
  });
}

}  // namespace vecdex::cli
