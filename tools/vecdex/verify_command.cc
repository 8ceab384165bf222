#include "verify_command.h"

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "db_util.h"
#include "vecdex/database.h"

namespace vecdex::cli {
namespace {

struct VerifyArgs {
  std::string db;
  std::string collection;
};

// Verifies one collection and prints its verdict. Returns whether it is sound.
bool VerifyOne(Database& db, const std::string& name) {
  Result<std::shared_ptr<Collection>> collection = db.GetCollection(name);
  if (!collection.ok()) {
    std::cout << name << ": FAILED to open: " << collection.status().ToString() << "\n";
    return false;
  }
  Result<VerifyReport> report = collection.value()->Verify();
  if (!report.ok()) {
    std::cout << name << ": FAILED: verify could not run: " << report.status().ToString() << "\n";
    return false;
  }
  const std::string checked = FormatCount(report->points_checked) + " points, " +
                              FormatBytes(report->snapshot_bytes_checked) + " of snapshot checked";
  if (report->ok && report->problems.empty()) {
    std::cout << name << ": ok (" << checked << ")\n";
    return true;
  }
  std::cout << name << ": " << report->problems.size() << (report->problems.size() == 1 ? " problem" : " problems")
            << " (" << checked << ")\n";
  for (const std::string& problem : report->problems) std::cout << "  - " << problem << "\n";
  return false;
}

// Returns the exit code: 0 when every collection checked is sound.
Result<int> RunVerify(const VerifyArgs& args) {
  DatabaseOptions options = CliDatabaseOptions();
  options.background_snapshots = false;  // verify reads; it must not write snapshots meanwhile
  options.read_only = true;  // reports damage instead of repairing it; writes nothing
  VECDEX_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, OpenExistingDatabase(args.db, options));
  bool all_ok = true;
  if (!args.collection.empty()) {
    all_ok = VerifyOne(*db, args.collection);
  } else {
    const std::vector<std::string> names = db->ListCollections();
    for (const std::string& name : names) all_ok = VerifyOne(*db, name) && all_ok;
    for (const auto& [name, status] : db->FailedCollections()) {
      std::cout << name << ": FAILED to open: " << status.ToString() << "\n";
      all_ok = false;
    }
    if (names.empty() && db->FailedCollections().empty()) std::cout << "no collections\n";
  }
  std::cout << (all_ok ? "verify: all ok\n" : "verify: problems found\n");
  return all_ok ? 0 : kExitFailure;
}

}  // namespace

void AddVerifyCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<VerifyArgs>();
  CLI::App* cmd = app.add_subcommand(
      "verify", "Check every checksum and that each index matches its store; exit code 1 on any problem");
  cmd->add_option("--db", args->db, "Database directory")->required();
  cmd->add_option("--collection", args->collection, "Only this collection");
  cmd->callback([args, exit_code] {
    Result<int> code = RunVerify(*args);
    if (!code.ok()) {
      ReportError("verify", code.status(), exit_code);
    } else {
      *exit_code = *code;
    }
  });
}

}  // namespace vecdex::cli
