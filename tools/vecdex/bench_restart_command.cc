#include "bench_restart_command.h"

#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ann/ann_bench.h"
#include "db_util.h"
#include "io/synthetic.h"
#include "progress.h"
#include "vecdex/database.h"

namespace vecdex::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kCollection = "bench";
constexpr auto kReadyTimeout = std::chrono::minutes(30);

struct BenchRestartArgs {
  std::string synthetic;  // N,DIM[,QUERIES]
  std::string metric = "l2";
  std::string index = "hnsw";
  std::string dir;
  bool keep = false;
  bool reuse = false;  // measure a database an earlier --keep run loaded (same --synthetic, --seed)
  size_t batch = 10000;
  uint64_t seed = 1;
};

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// What one reopening measured.
struct Phase {
  std::string name;
  double open_s = 0;          // Database::Open
  double first_search_s = 0;  // GetCollection + the first Search
  double more_searches_s = 0; // mean of the following searches
  double ready_s = 0;         // from the start of Open until Info says "ready"
  double close_s = 0;         // destroying the Database
  std::string status_at_first_search;
  std::string first_id;
  uint64_t indexed = 0;
};

Result<Phase> MeasureOpen(const std::string& name, const std::string& dir, DatabaseOptions options,
                          const io::FloatDataset& queries) {
  Phase phase;
  phase.name = name;
  const Clock::time_point start = Clock::now();
  VECDEX_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, OpenExistingDatabase(dir, options));
  phase.open_s = SecondsSince(start);
  const Clock::time_point search_start = Clock::now();
  VECDEX_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, db->GetCollection(kCollection));
  SearchRequest request;
  request.k = 10;
  VECDEX_ASSIGN_OR_RETURN(std::vector<ScoredPoint> found,
                          collection->Search({queries.row(0), queries.dim}, request));
  phase.first_search_s = SecondsSince(search_start);
  if (found.empty()) return Status::Internal(name + ": the first search found nothing");
  phase.first_id = PointKeyToString(found.front().key);
  VECDEX_ASSIGN_OR_RETURN(CollectionInfo info, collection->Info());
  phase.status_at_first_search = info.status;
  if (queries.rows > 1) {
    const Clock::time_point more_start = Clock::now();
    for (size_t q = 1; q < queries.rows; ++q) {
      VECDEX_ASSIGN_OR_RETURN(found, collection->Search({queries.row(q), queries.dim}, request));
    }
    phase.more_searches_s = SecondsSince(more_start) / static_cast<double>(queries.rows - 1);
  }
  while (info.status != "ready") {
    if (Clock::now() - start > kReadyTimeout) return Status::Internal(name + ": not ready after 30 minutes");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    VECDEX_ASSIGN_OR_RETURN(info, collection->Info());
  }
  phase.ready_s = SecondsSince(start);
  phase.indexed = info.indexed;
  collection.reset();
  const Clock::time_point close_start = Clock::now();
  db.reset();
  phase.close_s = SecondsSince(close_start);
  return phase;
}

// A fresh directory: the one given (which must not exist or be empty) or a new one under /tmp.
Result<std::string> PrepareDir(const std::string& requested) {
  if (requested.empty()) {
    std::string pattern = (fs::temp_directory_path() / "vecdex-bench-restart-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) return Status::IOError(pattern + ": cannot create a temp directory");
    return pattern;
  }
  std::error_code error;
  if (fs::exists(requested, error) && !fs::is_empty(requested, error)) {
    return Status::InvalidArgument("--dir " + requested + " is not empty (bench-restart needs a fresh database)");
  }
  return requested;
}

// Loads the base vectors with keys 0..N-1, then closes the database (writing the snapshot).
Status Load(const std::string& dir, const BenchRestartArgs& args, Metric metric, const io::FloatDataset& base,
            std::string* index_spec) {
  DatabaseOptions options = CliDatabaseOptions();
  options.create = true;
  options.background_snapshots = false;
  VECDEX_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(dir, options));
  CollectionConfig config;
  config.dim = base.dim;
  config.metric = metric;
  config.index_spec = args.index;
  VECDEX_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, db->CreateCollection(kCollection, config));
  *index_spec = collection->config().index_spec;
  Progress progress("load", base.rows);
  std::vector<Point> batch;
  for (size_t first = 0; first < base.rows; first += args.batch) {
    const size_t end = std::min(base.rows, first + args.batch);
    batch.resize(end - first);
    for (size_t i = first; i < end; ++i) {
      batch[i - first].key = PointKey::Int(i);
      batch[i - first].vector.assign(base.row(i), base.row(i) + base.dim);
    }
    VECDEX_ASSIGN_OR_RETURN(WriteSummary written, collection->Upsert(batch));
    (void)written;
    progress.Update(end);
  }
  progress.Finish();
  const double load_s = progress.elapsed_seconds();
  collection.reset();
  const Clock::time_point close_start = Clock::now();
  db.reset();
  std::cout << "load: " << FormatCount(base.rows) << " points in " << FormatSeconds(load_s) << " ("
            << FormatCount(static_cast<uint64_t>(load_s > 0 ? base.rows / load_s : 0))
            << " points/s); clean close (writes the snapshot) "
            << FormatSeconds(SecondsSince(close_start)) << "\n";
  return Status::Ok();
}

// Deletes the collection's CURRENT and index-* files; returns their total size.
Result<uint64_t> DeleteSnapshot(const std::string& dir) {
  const fs::path collection_dir = fs::path(dir) / "collections" / kCollection;
  uint64_t bytes = 0;
  size_t files = 0;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(collection_dir, error)) {
    const std::string name = entry.path().filename().string();
    if (name != "CURRENT" && name.rfind("index-", 0) != 0) continue;
    bytes += entry.is_regular_file() ? entry.file_size() : 0;
    if (!fs::remove(entry.path(), error)) return Status::IOError(entry.path().string() + ": cannot delete");
    ++files;
  }
  if (error) return Status::IOError(collection_dir.string() + ": " + error.message());
  if (files == 0) return Status::Internal(collection_dir.string() + ": no snapshot files after a clean close");
  return bytes;
}

void PrintPhases(const std::vector<Phase>& phases) {
  std::printf("\n%-28s %10s %13s %15s %10s %10s  %s\n", "phase", "open", "first search", "next (mean)", "ready",
              "close", "first id (status then)");
  for (const Phase& p : phases) {
    std::printf("%-28s %10s %13s %15s %10s %10s  %s (%s)\n", p.name.c_str(), FormatSeconds(p.open_s).c_str(),
                FormatSeconds(p.first_search_s).c_str(), FormatSeconds(p.more_searches_s).c_str(),
                FormatSeconds(p.ready_s).c_str(), FormatSeconds(p.close_s).c_str(), p.first_id.c_str(),
                p.status_at_first_search.c_str());
  }
  const double rebuild_s = std::max(phases[2].open_s, phases[2].ready_s);
  std::printf("\nrebuild from store / open: %.1fx (mapped snapshot), %.1fx (read snapshot)\n",
              rebuild_s / phases[0].open_s, rebuild_s / phases[1].open_s);
  std::printf("rebuild from store / (open + first search): %.1fx (mapped), %.1fx (read)\n",
              rebuild_s / (phases[0].open_s + phases[0].first_search_s),
              rebuild_s / (phases[1].open_s + phases[1].first_search_s));
  std::printf("open = Database::Open; first search = GetCollection + one k=10 search; ready = open until the "
              "collection reports \"ready\" (rebuild: the rebuild time); the snapshot is in the page cache\n");
}

Status RunPhases(const std::string& dir, const io::FloatDataset& queries, size_t rows) {
  std::vector<Phase> phases;
  DatabaseOptions options = CliDatabaseOptions();
  options.background_snapshots = false;
  options.map_snapshots = true;
  VECDEX_ASSIGN_OR_RETURN(Phase mapped, MeasureOpen("(a) snapshot, mapped", dir, options, queries));
  phases.push_back(std::move(mapped));
  options.map_snapshots = false;
  VECDEX_ASSIGN_OR_RETURN(Phase read, MeasureOpen("(b) snapshot, read", dir, options, queries));
  phases.push_back(std::move(read));
  VECDEX_ASSIGN_OR_RETURN(uint64_t deleted, DeleteSnapshot(dir));
  std::cout << "deleted the snapshot (CURRENT and index-*: " << FormatBytes(deleted) << ")\n";
  VECDEX_ASSIGN_OR_RETURN(Phase rebuilt, MeasureOpen("(c) no snapshot: rebuild", dir, options, queries));
  phases.push_back(std::move(rebuilt));
  for (const Phase& phase : phases) {
    if (phase.indexed != rows) {
      return Status::Internal(phase.name + ": the index holds " + std::to_string(phase.indexed) + " points, not " +
                              std::to_string(rows));
    }
  }
  PrintPhases(phases);
  return Status::Ok();
}

Status RunBenchRestart(const BenchRestartArgs& args) {
  VECDEX_ASSIGN_OR_RETURN(std::vector<size_t> parts, bench::ParseSizeList(args.synthetic));
  if (parts.size() < 2 || parts.size() > 3 || parts[0] == 0 || parts[1] == 0 || (parts.size() == 3 && parts[2] == 0)) {
    return Status::InvalidArgument("--synthetic wants N,DIM[,QUERIES] (all positive), got '" + args.synthetic + "'");
  }
  const std::optional<Metric> metric = ParseMetric(args.metric);
  if (!metric) return Status::InvalidArgument("--metric must be l2, ip or cosine, not '" + args.metric + "'");
  io::SyntheticSpec spec;
  spec.rows = parts[0];
  spec.dim = parts[1];
  spec.seed = args.seed;
  VECDEX_ASSIGN_OR_RETURN(io::SyntheticPair data,
                          io::GenerateClusteredGaussianPair(spec, parts.size() == 3 ? parts[2] : 100));
  std::string dir = args.dir;
  std::string index_spec = "(as loaded)";
  Status status;
  if (args.reuse) {
    // Loading takes as long as the rebuild it is compared with: reuse a kept database.
    if (dir.empty() || !fs::exists(fs::path(dir) / "collections" / kCollection)) {
      return Status::InvalidArgument("--reuse needs --dir naming a database an earlier --keep run loaded");
    }
  } else {
    VECDEX_ASSIGN_OR_RETURN(dir, PrepareDir(args.dir));
    status = Load(dir, args, *metric, data.base, &index_spec);
  }
  if (status.ok()) {
    std::cout << "bench-restart: " << FormatCount(spec.rows) << " points x " << spec.dim << " dims, "
              << MetricName(*metric) << ", index " << index_spec << ", " << data.queries.rows
              << " queries; database " << dir << "\n";
    status = RunPhases(dir, data.queries, spec.rows);
  }
  if (args.keep || args.reuse) {
    std::cout << "kept " << dir << "\n";
  } else {
    std::error_code error;
    fs::remove_all(dir, error);
  }
  return status;
}

// CLI11 validator (a malformed --synthetic is a usage error): the message, empty when fine.
std::string CheckSynthetic(const std::string& value) {
  Result<std::vector<size_t>> parts = bench::ParseSizeList(value);
  if (!parts.ok() || parts->size() < 2 || parts->size() > 3) return "wants N,DIM[,QUERIES], got '" + value + "'";
  for (const size_t part : *parts) {
    if (part == 0) return "wants positive N,DIM[,QUERIES], got '" + value + "'";
  }
  return "";
}

}  // namespace

void AddBenchRestartCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<BenchRestartArgs>();
  CLI::App* cmd = app.add_subcommand(
      "bench-restart", "Time reopening a database: mapped snapshot, read snapshot, rebuild from the store");
  cmd->add_option("--synthetic", args->synthetic, "N,DIM[,QUERIES] clustered Gaussian vectors (100 queries default)")
      ->required()
      ->check(CLI::Validator(CheckSynthetic, "N,DIM[,QUERIES]"));
  cmd->add_option("--metric", args->metric, "l2, ip or cosine")
      ->check(CLI::Validator([](const std::string& value) -> std::string {
        return ParseMetric(value) ? "" : "must be l2, ip or cosine, not '" + value + "'";
      }, "METRIC"))
      ->capture_default_str();
  cmd->add_option("--index", args->index, "Index spec, e.g. hnsw:m=16 or flat")->capture_default_str();
  cmd->add_option("--dir", args->dir, "Database directory (must not exist or be empty; default: a new temp dir)");
  cmd->add_flag("--keep", args->keep, "Keep the database directory afterwards");
  cmd->add_flag("--reuse", args->reuse,
                "Skip loading: measure the database in --dir that an earlier --keep run loaded (same --synthetic "
                "and --seed); it is kept");
  cmd->add_option("--batch", args->batch, "Points per write while loading")
      ->check(CLI::Range(size_t{1}, size_t{1000000}))
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "Seed of the synthetic data")->capture_default_str();
  cmd->callback([args, exit_code] {
    const Status status = RunBenchRestart(*args);
    if (!status.ok()) ReportError("bench-restart", status, exit_code);
  });
}

}  // namespace vecdex::cli
