#include "search_command.h"

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "db_util.h"
#include "vecdex/database.h"

namespace vecdex::cli {
namespace {

struct SearchArgs {
  std::string db;
  std::string collection;
  std::string vector;   // JSON array
  std::string queries;  // .fvecs / .bvecs / .npy
  size_t k = 10;
  size_t ef = 0;
  bool with_payload = false;
  bool with_vector = false;
  std::string only_keys;
  std::string filter;  // Qdrant filter JSON
  bool exact = false;
};

// [{"id": ..., "score": ..., "payload": ..., "vector": ...}, ...] on one line, fields in that
// order (ordered_json), payload fields in the order the store returns them.
std::string ResultLine(const std::vector<ScoredPoint>& points, const SearchRequest& request) {
  nlohmann::ordered_json line = nlohmann::ordered_json::array();
  for (const ScoredPoint& point : points) {
    nlohmann::ordered_json item = nlohmann::ordered_json::object();
    if (point.key.is_int()) {
      item["id"] = point.key.int_value();
    } else {
      item["id"] = point.key.string_value();
    }
    item["score"] = FloatForJson(point.score);
    if (request.with_payload) {
      // The store only holds validated JSON objects; should one not parse, show it as a string.
      nlohmann::ordered_json payload = nullptr;
      if (!point.payload_json.empty()) {
        payload = nlohmann::ordered_json::parse(point.payload_json, nullptr, /*allow_exceptions=*/false);
        if (payload.is_discarded()) payload = point.payload_json;
      }
      item["payload"] = std::move(payload);
    }
    if (request.with_vector) {
      nlohmann::ordered_json vector = nlohmann::ordered_json::array();
      for (const float component : point.vector) vector.push_back(FloatForJson(component));
      item["vector"] = std::move(vector);
    }
    line.push_back(std::move(item));
  }
  return line.dump();
}

Result<io::FloatDataset> QueryRows(const SearchArgs& args) {
  if (!args.queries.empty()) return ReadVectorFile(args.queries);
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(args.vector);
  } catch (const std::exception& e) {
    return Status::InvalidArgument("--vector is not valid JSON: " + JsonErrorMessage(e));
  }
  VECDEX_ASSIGN_OR_RETURN(std::vector<float> vector, VectorFromJson(value, "--vector"));
  io::FloatDataset rows;
  rows.rows = 1;
  rows.dim = vector.size();
  rows.values = std::move(vector);
  return rows;
}

Status RunSearch(const SearchArgs& args) {
  SearchRequest request;
  request.k = args.k;
  request.ef = args.ef;
  request.with_payload = args.with_payload;
  request.with_vector = args.with_vector;
  if (!args.only_keys.empty()) {
    Result<std::vector<PointKey>> keys = ParseKeyList(args.only_keys);
    if (!keys.ok()) return keys.status().WithContext("--only-keys");
    request.only_keys = std::move(keys).value();
  }
  if (!args.filter.empty()) {
    Result<Filter> filter = ParseFilter(args.filter);
    if (!filter.ok()) return filter.status().WithContext("--filter");
    request.filter = std::make_shared<const Filter>(std::move(filter).value());
  }
  request.exact = args.exact;
  VECDEX_ASSIGN_OR_RETURN(io::FloatDataset queries, QueryRows(args));
  DatabaseOptions options = CliDatabaseOptions();
  options.background_snapshots = false;
  options.read_only = true;  // a mapped snapshot answers at once; nothing is written
  VECDEX_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, OpenExistingDatabase(args.db, options));
  VECDEX_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, db->GetCollection(args.collection));
  if (queries.rows == 1) {
    VECDEX_ASSIGN_OR_RETURN(std::vector<ScoredPoint> found, collection->Search(queries.values, request));
    std::cout << ResultLine(found, request) << "\n";
    return Status::Ok();
  }
  if (queries.rows == 0) return Status::InvalidArgument(args.queries + ": no query rows");
  VECDEX_ASSIGN_OR_RETURN(std::vector<std::vector<ScoredPoint>> found,
                          collection->SearchBatch(queries.view(), request));
  std::string out;
  for (const std::vector<ScoredPoint>& row : found) out += ResultLine(row, request) + "\n";
  std::cout << out;
  return Status::Ok();
}

}  // namespace

void AddSearchCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<SearchArgs>();
  CLI::App* cmd = app.add_subcommand(
      "search", "Nearest neighbours in a collection, as JSON: one line [{\"id\", \"score\", ...}, ...] per query");
  cmd->add_option("--db", args->db, "Database directory")->required();
  cmd->add_option("--collection", args->collection, "Collection name")->required();
  CLI::Option_group* query = cmd->add_option_group("query", "What to search for (exactly one)");
  query->add_option("--vector", args->vector, "One query as a JSON array: \"[0.1, 0.2, ...]\"");
  query->add_option("--queries", args->queries, "Query vectors, one search per row (.fvecs, .bvecs or .npy)");
  query->require_option(1);
  cmd->add_option("--k", args->k, "Neighbours per query")
      ->check(CLI::Range(size_t{1}, Collection::kMaxK))
      ->capture_default_str();
  cmd->add_option("--ef", args->ef, "HNSW beam width (0: the index default)")->capture_default_str();
  cmd->add_flag("--with-payload", args->with_payload, "Include each point's payload");
  cmd->add_flag("--with-vector", args->with_vector, "Include each point's vector");
  cmd->add_option("--only-keys", args->only_keys,
                  "Search only among these keys: 1,2,abc (digits = integer key) or a JSON array [1, \"2\"]");
  cmd->add_option("--filter", args->filter,
                  "Payload filter, Qdrant's JSON syntax: '{\"must\": [{\"key\": \"city\", \"match\": {\"value\": \"Oslo\"}}]}'");
  cmd->add_flag("--exact", args->exact, "Exact search (every matching point scored) instead of the index's");
  cmd->callback([args, exit_code] {
    const Status status = RunSearch(*args);
    if (!status.ok()) ReportError("search", status, exit_code);
  });
}

}  // namespace vecdex::cli
