#include "info_command.h"

#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "db_util.h"
#include "vecdex/database.h"

namespace vecdex::cli {
namespace {

struct InfoArgs {
  std::string db;
  std::string collection;
  bool json = false;
};

struct Report {
  std::vector<CollectionInfo> collections;
  std::vector<std::pair<std::string, Status>> failed;
};

nlohmann::ordered_json InfoToJson(const CollectionInfo& info) {
  nlohmann::ordered_json payload_indexes = nlohmann::ordered_json::array();
  for (const PayloadIndexInfo& p : info.payload_indexes) {
    payload_indexes.push_back(
        {{"field", p.field}, {"type", PayloadFieldTypeName(p.type)}, {"points", p.points}, {"ready", p.ready}});
  }
  const RebuildStatus& r = info.rebuild;
  return {
      {"name", info.name},
      {"config",
       {{"dim", info.config.dim},
        {"metric", MetricName(info.config.metric)},
        {"index", info.config.index_spec},
        {"sync", SyncPolicyName(info.config.sync)},
        {"sync_interval_ms", info.config.sync_interval_ms}}},
      {"status", info.status},
      {"recovery", info.recovery},
      {"points", info.points},
      {"indexed", info.indexed},
      {"last_sequence", info.last_sequence},
      {"indexed_sequence", info.indexed_sequence},
      {"snapshot_sequence", info.snapshot_sequence},
      {"index_memory_bytes", info.index_memory_bytes},
      {"store_bytes", info.store_bytes},
      {"wal_bytes", info.wal_bytes},
      {"snapshot_bytes", info.snapshot_bytes},
      {"memory_budget_bytes", info.memory_budget_bytes},
      {"memory_used_bytes", info.memory_used_bytes},
      {"deleted", info.deleted},
      {"payload_indexes", payload_indexes},
      {"rebuild",
       {{"running", r.running},
        {"phase", r.phase},
        {"points_done", r.points_done},
        {"points_total", r.points_total},
        {"eta_seconds", r.eta_seconds},
        {"generation", r.generation},
        {"target_spec", r.target_spec},
        {"last_result", r.last_result},
        {"last_recall", r.last_recall}}},
  };
}

void PrintJson(const Report& report) {
  nlohmann::ordered_json out = {{"collections", nlohmann::ordered_json::array()},
                                {"failed", nlohmann::ordered_json::array()}};
  for (const CollectionInfo& info : report.collections) out["collections"].push_back(InfoToJson(info));
  for (const auto& [name, status] : report.failed) {
    out["failed"].push_back({{"name", name},
                             {"code", StatusCodeName(status.code())},
                             {"error", status.message()}});
  }
  std::cout << out.dump(2) << "\n";
}

// Columns before `left_aligned` are left-aligned (names, text), the rest right-aligned (numbers);
// two spaces between columns.
void PrintTable(const std::vector<std::vector<std::string>>& rows, size_t left_aligned) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      const std::string pad(widths[c] - row[c].size(), ' ');
      if (c > 0) line += "  ";
      line += c < left_aligned ? row[c] + pad : pad + row[c];
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::cout << line << "\n";
  }
}

void PrintText(const Report& report) {
  if (report.collections.empty()) std::cout << "no collections\n";
  if (!report.collections.empty()) {
    std::vector<std::vector<std::string>> rows = {{"collection", "dim", "metric", "status", "points", "indexed",
                                                   "seq last", "indexed", "snapshot", "index mem", "store", "wal",
                                                   "snapshot file"}};
    for (const CollectionInfo& info : report.collections) {
      rows.push_back({info.name, std::to_string(info.config.dim), std::string(MetricName(info.config.metric)),
                      info.status, FormatCount(info.points), FormatCount(info.indexed),
                      std::to_string(info.last_sequence), std::to_string(info.indexed_sequence),
                      std::to_string(info.snapshot_sequence), FormatBytes(info.index_memory_bytes),
                      FormatBytes(info.store_bytes), FormatBytes(info.wal_bytes),
                      info.snapshot_bytes == 0 ? "none" : FormatBytes(info.snapshot_bytes)});
    }
    PrintTable(rows, 4);
    std::cout << "\n";
    rows = {{"collection", "sync", "index"}};
    for (const CollectionInfo& info : report.collections) {
      std::string sync(SyncPolicyName(info.config.sync));
      if (info.config.sync == SyncPolicy::kInterval) sync += " " + std::to_string(info.config.sync_interval_ms) + " ms";
      rows.push_back({info.name, sync, info.config.index_spec});
    }
    PrintTable(rows, 3);
    for (const CollectionInfo& info : report.collections) {
      const RebuildStatus& r = info.rebuild;
      std::string line = "\n" + info.name + ": index generation " + std::to_string(r.generation) + ", " +
                         FormatCount(info.deleted) + " deleted slots";
      if (r.running) {
        line += "; rebuilding to " + r.target_spec + " (" + r.phase + ", " + FormatCount(r.points_done) + " / " +
                FormatCount(r.points_total) + ")";
      } else if (!r.last_result.empty()) {
        line += "; last rebuild: " + r.last_result;
      }
      for (const PayloadIndexInfo& p : info.payload_indexes) {
        line += "\n  payload index " + p.field + " (" + std::string(PayloadFieldTypeName(p.type)) + "): " +
                FormatCount(p.points) + " points" + (p.ready ? "" : ", building");
      }
      std::cout << line << "\n";
    }
    const CollectionInfo& any = report.collections.front();
    std::cout << "\nmemory budget: "
              << (any.memory_budget_bytes == 0 ? std::string("none") : FormatBytes(any.memory_budget_bytes))
              << "; the database's indexes hold " << FormatBytes(any.memory_used_bytes) << "\n";
  }
  if (!report.failed.empty()) {
    std::cout << "\nfailed to open:\n";
    for (const auto& [name, status] : report.failed) std::cout << "  " << name << ": " << status.ToString() << "\n";
  }
}

Status RunInfo(const InfoArgs& args) {
  DatabaseOptions options = CliDatabaseOptions();
  options.background_snapshots = false;  // read-only: nothing to snapshot
  options.read_only = true;  // reports damage instead of repairing it; writes nothing
  VECDEX_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, OpenExistingDatabase(args.db, options));
  Report report;
  std::vector<std::string> names;
  if (args.collection.empty()) {
    names = db->ListCollections();
    report.failed = db->FailedCollections();
  } else {
    names.push_back(args.collection);
  }
  for (const std::string& name : names) {
    VECDEX_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, db->GetCollection(name));
    VECDEX_ASSIGN_OR_RETURN(CollectionInfo info, collection->Info());
    report.collections.push_back(std::move(info));
  }
  if (args.json) {
    PrintJson(report);
  } else {
    PrintText(report);
  }
  return Status::Ok();
}

}  // namespace

void AddInfoCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<InfoArgs>();
  CLI::App* cmd = app.add_subcommand("info", "Show each collection's configuration, status, counts, sizes and memory");
  cmd->add_option("--db", args->db, "Database directory")->required();
  cmd->add_option("--collection", args->collection, "Only this collection");
  cmd->add_flag("--json", args->json, "Print JSON instead of a table");
  cmd->callback([args, exit_code] {
    const Status status = RunInfo(*args);
    if (!status.ok()) ReportError("info", status, exit_code);
  });
}

}  // namespace vecdex::cli
