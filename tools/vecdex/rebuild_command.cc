#include "rebuild_command.h"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "db_util.h"
#include "progress.h"
#include "vecdex/database.h"

namespace vecdex::cli {
namespace {

struct RebuildArgs {
  std::string db;
  std::string collection;
  std::string index;  // "" = the current spec (a compaction)
  size_t validation_queries = RebuildOptions{}.validation_queries;
  size_t validation_k = RebuildOptions{}.validation_k;
  double min_recall = RebuildOptions{}.min_recall;
};

std::string Recall(double recall) {
  if (recall < 0) return "not validated";
  char text[32];
  std::snprintf(text, sizeof(text), "%.4f", recall);
  return text;
}

// Polls the collection until its rebuild ends, drawing the build's progress and naming each
// later phase as it starts. Returns the final status.
Result<RebuildStatus> Follow(Collection& collection) {
  std::optional<Progress> bar;
  std::string phase;
  while (true) {
    VECDEX_ASSIGN_OR_RETURN(CollectionInfo info, collection.Info());
    const RebuildStatus& r = info.rebuild;
    if (!r.running) break;
    if (r.phase == "build") {
      if (!bar) bar.emplace("rebuild", r.points_total, "points");
      bar->Update(r.points_done);
    } else if (r.phase != phase) {
      if (bar) bar->Finish();
      std::cerr << "rebuild: " << r.phase << "\n";
    }
    phase = r.phase;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (bar) bar->Finish();
  return collection.WaitForRebuild();
}

Result<int> RunRebuild(const RebuildArgs& args) {
  DatabaseOptions options = CliDatabaseOptions();
  options.rebuild_deleted_ratio = 0;  // only the rebuild asked for
  VECDEX_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, OpenExistingDatabase(args.db, options));
  VECDEX_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, db->GetCollection(args.collection));
  RebuildOptions rebuild;
  rebuild.index_spec = args.index;
  rebuild.validation_queries = args.validation_queries;
  rebuild.validation_k = args.validation_k;
  rebuild.min_recall = args.min_recall;
  const std::string before = collection->config().index_spec;
  VECDEX_RETURN_IF_ERROR(collection->StartRebuild(rebuild));
  VECDEX_ASSIGN_OR_RETURN(RebuildStatus status, Follow(*collection));
  std::cout << args.collection << ": " << status.last_result << "\n"
            << "  index:      " << status.target_spec << (status.target_spec == before ? " (compaction)" : "")
            << "\n"
            << "  recall@" << args.validation_k << ":  " << Recall(status.last_recall) << " (minimum " << args.min_recall
            << ", up to " << args.validation_queries << " stored vectors as queries)\n"
            << "  generation: " << status.generation << " active"
            << (status.last_result == "swapped" ? "" : " (unchanged: '" + before + "' keeps serving)") << "\n";
  return status.last_result == "swapped" ? 0 : kExitFailure;
}

}  // namespace

void AddRebuildCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<RebuildArgs>();
  CLI::App* cmd = app.add_subcommand(
      "rebuild",
      "Rebuild a collection's index beside the live one (new parameters or kind, or a compaction), validate its "
      "recall against exact search, and swap it in; exit code 1 when rejected or failed");
  cmd->add_option("--db,--dir", args->db, "Database directory")->required();
  cmd->add_option("--collection", args->collection, "Collection name")->required();
  cmd->add_option("--index", args->index,
                  "New index spec, e.g. hnsw:m=24,ef_construction=200 or flat (default: the current one)");
  cmd->add_option("--validation-queries", args->validation_queries,
                  "Stored vectors searched to measure recall (0: no validation)")
      ->check(CLI::Range(size_t{0}, size_t{100000}))
      ->capture_default_str();
  cmd->add_option("--validation-k", args->validation_k, "k of the recall@k measured")
      ->check(CLI::Range(size_t{1}, Collection::kMaxK))
      ->capture_default_str();
  cmd->add_option("--min-recall", args->min_recall, "Recall the new index needs to go live")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->callback([args, exit_code] {
    Result<int> code = RunRebuild(*args);
    if (!code.ok()) {
      ReportError("rebuild", code.status(), exit_code);
    } else {
      *exit_code = *code;
    }
  });
}

}  // namespace vecdex::cli
