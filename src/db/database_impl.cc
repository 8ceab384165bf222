// Database: a directory of collections. Opens each at start (a damaged one is set aside with its
// error, the others serve), creates them beside the live ones and renames them into place, and
// drops them by renaming them out of the way before deleting their files, so a crash at any
// point leaves either the whole collection or none of it.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <mutex>

#include "db/collection_impl.h"
#include "db/collection_meta.h"
#include "db/db_log.h"
#include "db/fs_util.h"
#include "db/memory_budget.h"
#include "vecdex/database.h"

namespace vecdex {

Status ValidateCollectionName(std::string_view name) {
  if (name.empty() || name.size() > 64) {
    return Status::InvalidArgument("collection name must be 1-64 characters, got " + std::to_string(name.size()));
  }
  if (name.front() == '-') return Status::InvalidArgument("collection name must not start with '-'");
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) {
      return Status::InvalidArgument("collection name '" + std::string(name) +
                                     "' may only hold letters, digits, '_' and '-'");
    }
  }
  return Status::Ok();
}

namespace db {
namespace {

// Prefixes of directories in collections/ that are not collections (names cannot start with '.').
constexpr std::string_view kCreatingPrefix = ".creating-";
constexpr std::string_view kDroppedPrefix = ".dropped-";

class DatabaseImpl final : public Database {
 public:
  DatabaseImpl(std::string dir, DatabaseOptions options, FileLock lock)
      : dir_(std::move(dir)),
        options_(std::move(options)),
        lock_(std::move(lock)),
        budget_(std::make_shared<MemoryBudget>(options_.memory_budget_bytes)) {}

  ~DatabaseImpl() override {
    std::lock_guard lock(mu_);
    for (auto& [name, collection] : open_) collection->Close(/*final_snapshot=*/true);
  }

  Status OpenAll() {
    if (options_.read_only && ::access(CollectionsDir().c_str(), F_OK) != 0) return Status::Ok();  // empty
    if (!options_.read_only) VECDEX_RETURN_IF_ERROR(CreateDirectories(CollectionsDir()));
    VECDEX_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirectory(CollectionsDir()));
    for (const std::string& name : names) {
      const std::string path = CollectionsDir() + "/" + name;
      if (name.starts_with(kCreatingPrefix) || name.starts_with(kDroppedPrefix)) {
        // Leftovers of a create or drop a crash interrupted: neither was acknowledged.
        if (!options_.read_only) VECDEX_RETURN_IF_ERROR(RemoveTree(path));
        continue;
      }
      if (!ValidateCollectionName(name).ok()) continue;  // not ours
      Result<std::shared_ptr<CollectionImpl>> c = CollectionImpl::Open(name, path, options_, budget_);
      if (c.ok()) {
        open_.emplace(name, std::move(*c));
      } else {
        Log("collection " + name + " failed to open: " + c.status().message());
        failed_.emplace(name, c.status());
      }
    }
    return Status::Ok();
  }

  Result<std::shared_ptr<Collection>> CreateCollection(const std::string& name,
                                                       const CollectionConfig& config) override {
    VECDEX_RETURN_IF_ERROR(CheckWritable());
    VECDEX_RETURN_IF_ERROR(ValidateCollectionName(name));
    VECDEX_ASSIGN_OR_RETURN(CollectionConfig normalized, NormalizeConfig(config));
    std::lock_guard lock(mu_);
    if (open_.contains(name) || failed_.contains(name)) {
      return Status::AlreadyExists("collection " + name + " already exists");
    }
    const std::string staging = CollectionsDir() + "/" + std::string(kCreatingPrefix) + name;
    const std::string final_dir = CollectionsDir() + "/" + name;
    VECDEX_RETURN_IF_ERROR(RemoveTree(staging));
    VECDEX_RETURN_IF_ERROR(CreateDirectories(staging));
    if (Status s = CollectionImpl::Create(staging, normalized); !s.ok()) {
      (void)RemoveTree(staging);
      return s;
    }
    VECDEX_RETURN_IF_ERROR(RenameDurably(staging, final_dir));
    Result<std::shared_ptr<CollectionImpl>> c = CollectionImpl::Open(name, final_dir, options_, budget_);
    if (!c.ok()) {
      // Not acknowledged: take it back so the name stays free.
      (void)RemoveTree(final_dir);
      return c.status();
    }
    open_.emplace(name, *c);
    return std::shared_ptr<Collection>(*c);
  }

  Result<std::shared_ptr<Collection>> GetCollection(const std::string& name) override {
    std::lock_guard lock(mu_);
    if (auto it = open_.find(name); it != open_.end()) return std::shared_ptr<Collection>(it->second);
    if (auto it = failed_.find(name); it != failed_.end()) return it->second;
    return Status::NotFound("collection " + name + " does not exist");
  }

  Status DropCollection(const std::string& name) override {
    VECDEX_RETURN_IF_ERROR(CheckWritable());
    std::lock_guard lock(mu_);
    auto open = open_.find(name);
    const bool failed = failed_.contains(name);
    if (open == open_.end() && !failed) return Status::NotFound("collection " + name + " does not exist");
    if (open != open_.end()) {
      open->second->Close(/*final_snapshot=*/false);
      open_.erase(open);
    }
    failed_.erase(name);
    const std::string doomed = CollectionsDir() + "/" + std::string(kDroppedPrefix) + name;
    VECDEX_RETURN_IF_ERROR(RemoveTree(doomed));
    VECDEX_RETURN_IF_ERROR(RenameDurably(CollectionsDir() + "/" + name, doomed));
    return RemoveTree(doomed);
  }

  std::vector<std::string> ListCollections() override {
    std::lock_guard lock(mu_);
    std::vector<std::string> names;
    for (const auto& [name, c] : open_) names.push_back(name);
    return names;  // std::map: sorted
  }

  std::vector<std::pair<std::string, Status>> FailedCollections() override {
    std::lock_guard lock(mu_);
    return {failed_.begin(), failed_.end()};
  }

  const std::string& dir() const override { return dir_; }

 private:
  std::string CollectionsDir() const { return dir_ + "/collections"; }
  Status CheckWritable() const {
    if (options_.read_only) return Status::FailedPrecondition("database " + dir_ + " was opened read-only");
    return Status::Ok();
  }
  void Log(const std::string& message) const { LogMessage(options_, message); }

  const std::string dir_;
  const DatabaseOptions options_;
  FileLock lock_;
  const std::shared_ptr<MemoryBudget> budget_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<CollectionImpl>> open_;  // guarded by mu_
  std::map<std::string, Status> failed_;                         // guarded by mu_
};

}  // namespace
}  // namespace db

Result<std::unique_ptr<Database>> Database::Open(const std::string& dir, const DatabaseOptions& options) {
  if (dir.empty()) return Status::InvalidArgument("database directory is empty");
  if (::access(dir.c_str(), F_OK) != 0) {
    if (!options.create || options.read_only) return Status::NotFound(dir + ": no such database directory");
    VECDEX_RETURN_IF_ERROR(db::CreateDirectories(dir));
  }
  VECDEX_ASSIGN_OR_RETURN(db::FileLock lock, db::FileLock::Acquire(dir + "/LOCK"));
  auto database = std::make_unique<db::DatabaseImpl>(dir, options, std::move(lock));
  VECDEX_RETURN_IF_ERROR(database->OpenAll());
  return std::unique_ptr<Database>(std::move(database));
}

}  // namespace vecdex
