#include "import_command.h"

#include <chrono>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "db_util.h"
#include "io/npy_io.h"
#include "io/vecs_io.h"
#include "progress.h"
#include "vecdex/database.h"

namespace vecdex::cli {
namespace {

struct ImportArgs {
  std::string db;
  std::string collection;
  std::string fvecs;
  std::string npy;
  std::string jsonl;
  bool create = false;
  size_t dim = 0;
  std::string metric = "cosine";
  std::string index = "hnsw";
  std::string sync = "batch";
  size_t batch = 1000;
  uint64_t start_id = 0;
  CLI::Option* metric_option = nullptr;
};

// Where the rows come from. For JSONL, `first_record` is the first non-blank line (to infer the
// dimension before anything is created) and `records` counts the non-blank lines.
struct Source {
  std::string path;
  bool jsonl = false;
  io::FloatDataset vectors;  // fvecs / npy
  uint64_t records = 0;
  size_t first_line = 0;
  std::string first_record;
};

bool IsBlank(const std::string& line) { return line.find_first_not_of(" \t\r") == std::string::npos; }

// The getline that also drops a CRLF file's '\r'.
bool ReadLine(std::istream& in, std::string& line) {
  if (!std::getline(in, line)) return false;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return true;
}

// One JSONL record: {"id": <u64 or string>, "vector": [...], "payload": {...} (optional)}.
// `dim` = 0 accepts any dimension. Errors: InvalidArgument "<path>:<line>: <what>".
Result<Point> ParseRecord(const std::string& text, const std::string& path, size_t line, size_t dim) {
  const std::string where = path + ":" + std::to_string(line);
  nlohmann::json object;
  try {
    object = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    // nlohmann counts lines inside the text parsed, always 1 here: keep only the column.
    std::string message = JsonErrorMessage(e);
    const std::string own_line = "at line 1, column ";
    if (const size_t at = message.find(own_line); at != std::string::npos) {
      message.replace(at, own_line.size(), "at column ");
    }
    return Status::InvalidArgument(where + ": invalid JSON: " + message);
  }
  if (!object.is_object()) {
    return Status::InvalidArgument(where + ": expected a JSON object, got " + std::string(object.type_name()));
  }
  Point point;
  bool have_id = false;
  bool have_vector = false;
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (it.key() == "id") {
      Result<PointKey> key = KeyFromJson(it.value());
      if (!key.ok()) return Status::InvalidArgument(where + ": " + key.status().message());
      point.key = std::move(key).value();
      have_id = true;
    } else if (it.key() == "vector") {
      Result<std::vector<float>> vector = VectorFromJson(it.value(), "vector");
      if (!vector.ok()) return Status::InvalidArgument(where + ": " + vector.status().message());
      point.vector = std::move(vector).value();
      have_vector = true;
    } else if (it.key() == "payload") {
      if (it.value().is_null()) continue;
      if (!it.value().is_object()) {
        return Status::InvalidArgument(where + ": payload must be a JSON object, not " +
                                       std::string(it.value().type_name()));
      }
      point.payload_json = it.value().dump();
    } else {
      return Status::InvalidArgument(where + ": unknown field \"" + it.key() +
                                     "\" (a record has \"id\", \"vector\" and optionally \"payload\")");
    }
  }
  if (!have_id) return Status::InvalidArgument(where + ": missing \"id\"");
  if (!have_vector) return Status::InvalidArgument(where + ": missing \"vector\"");
  if (dim != 0 && point.vector.size() != dim) {
    return Status::InvalidArgument(where + ": vector has dimension " + std::to_string(point.vector.size()) +
                                   ", the collection has " + std::to_string(dim));
  }
  return point;
}

Result<Source> OpenSource(const ImportArgs& args) {
  Source source;
  if (!args.jsonl.empty()) {
    source.path = args.jsonl;
    source.jsonl = true;
    std::ifstream in(args.jsonl);
    if (!in) return Status::IOError(args.jsonl + ": cannot open for reading");
    std::string line;
    for (size_t number = 1; ReadLine(in, line); ++number) {
      if (IsBlank(line)) continue;
      if (source.records++ == 0) {
        source.first_line = number;
        source.first_record = line;
      }
    }
    if (in.bad()) return Status::IOError(args.jsonl + ": read failed");
    if (source.records == 0) return Status::InvalidArgument(args.jsonl + ": no records (the file is empty)");
    return source;
  }
  source.path = args.fvecs.empty() ? args.npy : args.fvecs;
  Result<io::FloatDataset> vectors = args.fvecs.empty() ? io::ReadNpy(args.npy) : io::ReadFvecs(args.fvecs);
  if (!vectors.ok()) return vectors.status();
  source.vectors = std::move(vectors).value();
  source.records = source.vectors.rows;
  if (source.records == 0) return Status::InvalidArgument(source.path + ": no rows");
  if (args.start_id > std::numeric_limits<uint64_t>::max() - (source.records - 1)) {
    return Status::InvalidArgument("--start-id " + std::to_string(args.start_id) + " + " +
                                   std::to_string(source.records) + " rows overflows 64-bit keys");
  }
  return source;
}

Result<size_t> SourceDim(const Source& source) {
  if (!source.jsonl) return source.vectors.dim;
  VECDEX_ASSIGN_OR_RETURN(Point first, ParseRecord(source.first_record, source.path, source.first_line, 0));
  return first.vector.size();
}

// The collection to import into: the existing one (checking what was asked explicitly), or a new
// one with --create.
Result<std::shared_ptr<Collection>> GetOrCreate(Database& db, const ImportArgs& args, const Source& source) {
  Result<std::shared_ptr<Collection>> existing = db.GetCollection(args.collection);
  if (existing.ok()) {
    const CollectionConfig& config = existing.value()->config();
    if (args.dim != 0 && args.dim != config.dim) {
      return Status::InvalidArgument("--dim " + std::to_string(args.dim) + ": collection '" + args.collection +
                                     "' exists with dimension " + std::to_string(config.dim));
    }
    if (args.metric_option->count() > 0 && ParseMetric(args.metric) != config.metric) {
      return Status::InvalidArgument("--metric " + args.metric + ": collection '" + args.collection +
                                     "' exists with metric " + std::string(MetricName(config.metric)));
    }
    if (args.create) std::cerr << "vecdex import: collection '" << args.collection << "' exists: importing into it\n";
    return existing;
  }
  if (existing.status().code() != StatusCode::kNotFound || !args.create) {
    if (existing.status().code() == StatusCode::kNotFound) {
      return existing.status().WithContext("collection '" + args.collection + "' (use --create to create it)");
    }
    return existing.status();
  }
  CollectionConfig config;
  VECDEX_ASSIGN_OR_RETURN(config.dim, SourceDim(source));
  if (args.dim != 0 && args.dim != config.dim) {
    return Status::InvalidArgument("--dim " + std::to_string(args.dim) + ": " + source.path +
                                   " has dimension " + std::to_string(config.dim));
  }
  config.metric = *ParseMetric(args.metric);
  config.index_spec = args.index;
  config.sync = *ParseSyncPolicy(args.sync);
  VECDEX_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, db.CreateCollection(args.collection, config));
  std::cerr << "vecdex import: created collection '" << args.collection << "' (dim " << config.dim << ", "
            << MetricName(config.metric) << ", " << collection->config().index_spec << ")\n";
  return collection;
}

Status ImportVectors(Collection& collection, const ImportArgs& args, const Source& source, uint64_t* imported) {
  const io::FloatDataset& data = source.vectors;
  if (data.dim != collection.config().dim) {
    return Status::InvalidArgument(source.path + " has dimension " + std::to_string(data.dim) + ", collection '" +
                                   args.collection + "' has " + std::to_string(collection.config().dim));
  }
  Progress progress("import", data.rows);
  std::vector<Point> batch;
  for (size_t first = 0; first < data.rows; first += args.batch) {
    const size_t end = std::min(data.rows, first + args.batch);
    batch.resize(end - first);
    for (size_t i = first; i < end; ++i) {
      Point& point = batch[i - first];
      point.key = PointKey::Int(args.start_id + i);
      point.vector.assign(data.row(i), data.row(i) + data.dim);
    }
    Result<WriteSummary> written = collection.Upsert(batch);
    if (!written.ok()) {
      progress.Finish();
      return written.status().WithContext(
          "rows " + std::to_string(first) + ".." + std::to_string(end - 1) + " of " + source.path + " (" +
          std::to_string(*imported) + " rows before them were imported, nothing from row " +
          std::to_string(first) + " on)");
    }
    *imported += batch.size();
    progress.Update(*imported);
  }
  progress.Finish();
  return Status::Ok();
}

// Streams the JSONL file in batches. A batch never holds a key twice (the record that repeats a
// key starts a new batch, so the later record wins, as in a sequence of upserts). On a malformed
// line the records before it are written, then the import stops.
Status ImportJsonl(Collection& collection, const ImportArgs& args, const Source& source, uint64_t* imported) {
  std::ifstream in(source.path);
  if (!in) return Status::IOError(source.path + ": cannot open for reading");
  const size_t dim = collection.config().dim;
  Progress progress("import", source.records);
  std::vector<Point> batch;
  std::set<PointKey> batch_keys;
  size_t batch_first_line = 0;
  auto flush = [&]() -> Status {
    if (batch.empty()) return Status::Ok();
    Result<WriteSummary> written = collection.Upsert(batch);
    if (!written.ok()) {
      return written.status().WithContext(source.path + ": the batch starting at line " +
                                          std::to_string(batch_first_line) + " (" + std::to_string(*imported) +
                                          " points before it were imported, nothing from that line on)");
    }
    *imported += batch.size();
    batch.clear();
    batch_keys.clear();
    progress.Update(*imported);
    return Status::Ok();
  };
  std::string line;
  size_t number = 0;
  while (ReadLine(in, line)) {
    ++number;
    if (IsBlank(line)) continue;
    Result<Point> point = ParseRecord(line, source.path, number, dim);
    if (!point.ok()) {
      Status flushed = flush();
      progress.Finish();
      if (!flushed.ok()) return flushed;
      if (*imported == 0) return Status::InvalidArgument(point.status().message() + " (nothing was imported)");
      return Status::InvalidArgument(point.status().message() + " (import stopped at line " +
                                     std::to_string(number) + ": the " + std::to_string(*imported) +
                                     " points on the lines before it were imported, nothing from it on)");
    }
    if (batch_keys.count(point->key) > 0) VECDEX_RETURN_IF_ERROR(flush());
    if (batch.empty()) batch_first_line = number;
    batch_keys.insert(point->key);
    batch.push_back(std::move(point).value());
    if (batch.size() >= args.batch) VECDEX_RETURN_IF_ERROR(flush());
  }
  if (in.bad()) return Status::IOError(source.path + ": read failed after line " + std::to_string(number));
  VECDEX_RETURN_IF_ERROR(flush());
  progress.Finish();
  return Status::Ok();
}

Status RunImport(const ImportArgs& args) {
  VECDEX_ASSIGN_OR_RETURN(Source source, OpenSource(args));
  DatabaseOptions options = CliDatabaseOptions();
  options.background_snapshots = false;  // one snapshot at the end, not several during the load
  options.create = true;  // only used with --create: without it the database must exist
  Result<std::unique_ptr<Database>> opened =
      args.create ? Database::Open(args.db, options) : OpenExistingDatabase(args.db, options);
  if (!opened.ok()) return opened.status();
  std::unique_ptr<Database> db = std::move(opened).value();
  VECDEX_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, GetOrCreate(*db, args, source));

  const auto start = std::chrono::steady_clock::now();
  uint64_t imported = 0;
  Status status = source.jsonl ? ImportJsonl(*collection, args, source, &imported)
                               : ImportVectors(*collection, args, source, &imported);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!status.ok()) return status;
  std::cout << "imported " << imported << " rows into '" << args.collection << "' in " << FormatSeconds(seconds)
            << " (" << FormatCount(static_cast<uint64_t>(seconds > 0 ? imported / seconds : 0)) << " rows/s)\n";

  // The snapshot a clean close would write anyway, done here so its cost is visible.
  const auto snapshot_start = std::chrono::steady_clock::now();
  VECDEX_RETURN_IF_ERROR(collection->Snapshot());
  const double snapshot_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - snapshot_start).count();
  VECDEX_ASSIGN_OR_RETURN(uint64_t count, collection->Count());
  std::cout << "index snapshot written in " << FormatSeconds(snapshot_seconds) << "; '" << args.collection
            << "' now holds " << count << " points\n";
  return Status::Ok();
}

// CLI11 validators: the message when the value is wrong, empty when it is fine.
std::string CheckMetric(const std::string& value) {
  return ParseMetric(value) ? "" : "must be cosine, l2 or ip, not '" + value + "'";
}
std::string CheckSync(const std::string& value) {
  return ParseSyncPolicy(value) ? "" : "must be batch or interval, not '" + value + "'";
}

}  // namespace

void AddImportCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<ImportArgs>();
  CLI::App* cmd =
      app.add_subcommand("import", "Import vectors (.fvecs, .npy) or points (JSON Lines) into a collection");
  cmd->add_option("--db", args->db, "Database directory")->required();
  cmd->add_option("--collection", args->collection, "Collection name")->required();
  CLI::Option_group* from = cmd->add_option_group("source", "What to import (exactly one)");
  from->add_option("--fvecs", args->fvecs, "Vectors in .fvecs; keys --start-id, --start-id + 1, ...");
  from->add_option("--npy", args->npy, "Vectors in a 2-D float32 .npy; keys as for --fvecs");
  from->add_option("--jsonl", args->jsonl,
                   "One JSON object per line: {\"id\": 7 or \"abc\", \"vector\": [...], \"payload\": {...}}");
  from->require_option(1);
  CLI::Option* create = cmd->add_flag("--create", args->create, "Create the database and the collection if missing");
  cmd->add_option("--dim", args->dim, "Dimension of a new collection (default: the file's)")
      ->check(CLI::Range(size_t{1}, size_t{65536}));
  args->metric_option = cmd->add_option("--metric", args->metric, "Metric of a new collection: cosine, l2, ip")
                            ->check(CLI::Validator(CheckMetric, "METRIC"))
                            ->capture_default_str();
  cmd->add_option("--index", args->index, "Index spec of a new collection, e.g. flat or hnsw:m=16,storage=int8")
      ->capture_default_str()
      ->needs(create);
  cmd->add_option("--sync", args->sync, "Sync policy of a new collection: batch (fsync per write) or interval")
      ->check(CLI::Validator(CheckSync, "SYNC"))
      ->capture_default_str()
      ->needs(create);
  cmd->add_option("--batch", args->batch, "Points per write")->check(CLI::Range(size_t{1}, size_t{1000000}))
      ->capture_default_str();
  cmd->add_option("--start-id", args->start_id, "First integer key for --fvecs / --npy rows")->capture_default_str();
  cmd->callback([args, exit_code] {
    const Status status = RunImport(*args);
    if (!status.ok()) ReportError("import", status, exit_code);
  });
}

}  // namespace vecdex::cli
