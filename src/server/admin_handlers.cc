// Service and administration: GET /, health checks, payload indexes, collection snapshots,
// index rebuilds and GET /metrics.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "server/api_error.h"
#include "server/collection_config.h"
#include "server/handlers.h"

namespace vecdex::server {
namespace {

namespace fs = std::filesystem;

Reply Text(std::string body, std::string content_type = "text/plain; charset=utf-8") {
  Reply reply;
  reply.raw = true;
  reply.raw_body = std::move(body);
  reply.content_type = std::move(content_type);
  return reply;
}

Reply Root(Call&) {
  return Text(DumpJson({{"title", "vecdex - vector search engine"}, {"version", kServerVersion}, {"commit", nullptr}}),
              "application/json");
}
Reply Healthz(Call&) { return Text("healthz check passed"); }
Reply Readyz(Call&) { return Text("all shards are ready"); }

// PUT /collections/{name}/index: {"field_name": "city", "field_schema": "keyword" | {"type": ...}}.
Reply CreatePayloadIndex(Call& call) {
  const Json& body = RequireObject(call.body, "body");
  CheckFields(body, "", {"field_name", "field_schema"});
  const std::optional<std::string> field = GetString(body, "field_name", "");
  if (!field || field->empty()) ThrowBadRequest("field_name: missing");
  const Json* schema = Field(body, "field_schema");
  if (schema == nullptr) ThrowBadRequest("field_schema: missing (keyword, integer, float or bool)");
  std::string type_name;
  if (schema->is_string()) {
    type_name = schema->get<std::string>();
  } else if (schema->is_object()) {
    const std::optional<std::string> type = GetString(*schema, "type", "field_schema");
    if (!type) ThrowBadRequest("field_schema.type: missing");
    type_name = *type;
  } else {
    ThrowBadRequest("field_schema: expected a type name or {\"type\": ...}");
  }
  const std::optional<PayloadFieldType> type = ParsePayloadFieldType(type_name);
  if (!type) ThrowBadRequest("field_schema: \"" + type_name + "\" is not supported (keyword, integer, float or bool)");
  std::shared_ptr<Collection> collection = GetCollectionOr404(call);
  Check(collection->CreatePayloadIndex(*field, *type));
  return {UpdateResult(0)};
}

Reply DropPayloadIndex(Call& call) {
  std::shared_ptr<Collection> collection = GetCollectionOr404(call);
  Check(collection->DropPayloadIndex(call.params[1]));
  return {UpdateResult(0)};
}

fs::path SnapshotDir(Call& call) { return fs::path(call.state.db->dir()) / "snapshots" / call.params[0]; }

std::string TimeText(std::time_t t, const char* format) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof(buffer), format, &tm);
  return buffer;
}

Json SnapshotJson(const fs::path& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return nullptr;
  return {{"name", path.filename().string()},
          {"creation_time", TimeText(st.st_mtime, "%Y-%m-%dT%H:%M:%S")},
          {"size", static_cast<uint64_t>(st.st_size)},
          {"checksum", nullptr}};
}

Reply CreateSnapshot(Call& call) {
  std::shared_ptr<Collection> collection = GetCollectionOr404(call);
  const fs::path dir = SnapshotDir(call);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) ThrowStatus(Status::IOError(dir.string() + ": " + ec.message()));
  const std::string stem = call.params[0] + "-" + TimeText(std::time(nullptr), "%Y-%m-%d-%H-%M-%S");
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string file = stem;
    if (attempt > 0) file.append("-").append(std::to_string(attempt));
    const fs::path path = dir / file.append(".snapshot");
    const Status s = collection->Backup(path.string());
    if (s.code() == StatusCode::kAlreadyExists) continue;
    Check(s);
    return {SnapshotJson(path)};
  }
  ThrowStatus(Status::AlreadyExists("too many snapshots this second"));
}

Reply ListSnapshots(Call& call) {
  GetCollectionOr404(call);
  Json list = Json::array();
  std::error_code ec;
  std::vector<fs::path> paths;
  for (fs::directory_iterator it(SnapshotDir(call), ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".snapshot") paths.push_back(it->path());
  }
  std::sort(paths.begin(), paths.end());
  for (const fs::path& p : paths) {
    if (Json j = SnapshotJson(p); !j.is_null()) list.push_back(std::move(j));
  }
  return {list};
}

// The snapshot file named in the path, refusing names that could leave the directory.
fs::path SnapshotPath(Call& call) {
  const std::string& name = call.params[1];
  if (name.empty() || name.find('/') != std::string::npos || name.find("..") != std::string::npos ||
      fs::path(name).extension() != ".snapshot") {
    throw ApiError(404, "Not found: Snapshot " + name + " not found");
  }
  const fs::path path = SnapshotDir(call) / name;
  if (!fs::is_regular_file(path)) throw ApiError(404, "Not found: Snapshot " + name + " not found");
  return path;
}

Reply DownloadSnapshot(Call& call) {
  GetCollectionOr404(call);
  const fs::path path = SnapshotPath(call);
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (!in.good() && !in.eof()) ThrowStatus(Status::IOError(path.string() + ": read failed"));
  return Text(bytes.str(), "application/octet-stream");
}

Reply DeleteSnapshot(Call& call) {
  GetCollectionOr404(call);
  const fs::path path = SnapshotPath(call);
  std::error_code ec;
  fs::remove(path, ec);
  if (ec) ThrowStatus(Status::IOError(path.string() + ": " + ec.message()));
  return {true};
}

Reply StartRebuild(Call& call) {
  std::shared_ptr<Collection> collection = GetCollectionOr404(call);
  const RebuildOptions options = RebuildOptionsFromBody(call.body, collection->config());
  Check(collection->StartRebuild(options));
  const CollectionInfo info = Check(collection->Info());
  return {{{"status", "started"}, {"target_spec", info.rebuild.target_spec}, {"generation", info.rebuild.generation}}};
}

uint64_t ResidentBytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long long size = 0, resident = 0;
  const int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return n == 2 ? resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)) : 0;
}

Reply Metrics(Call& call) {
  std::string out = call.state.metrics.Render();
  struct Gauge {
    const char* name;
    const char* help;
    std::string lines;
  };
  std::vector<Gauge> gauges = {
      {"vecdex_collection_points", "Points in the collection's store.", ""},
      {"vecdex_collection_indexed_vectors", "Live vectors in the collection's index.", ""},
      {"vecdex_collection_deleted_vectors", "Tombstones the index still holds.", ""},
      {"vecdex_collection_index_memory_bytes", "Memory held by the collection's index.", ""},
      {"vecdex_collection_store_bytes", "Size of the store file and its WAL.", ""},
      {"vecdex_collection_ready", "1 when the index is ready, 0 while loading.", ""},
      {"vecdex_collection_unindexed_changes", "Changes committed to the store and not yet in the index.", ""},
      {"vecdex_collection_rebuild_running", "1 while an index rebuild runs.", ""},
      {"vecdex_collection_rebuild_progress_ratio", "Share of the rebuild's build phase done.", ""},
      {"vecdex_collection_index_generation", "Active index generation (+1 per rebuild swap).", ""},
  };
  uint64_t budget = 0, used = 0;
  for (const std::string& name : call.state.db->ListCollections()) {
    Result<std::shared_ptr<Collection>> c = call.state.db->GetCollection(name);
    if (!c.ok()) continue;
    Result<CollectionInfo> info = (*c)->Info();
    if (!info.ok()) continue;
    budget = info->memory_budget_bytes;
    used = info->memory_used_bytes;
    const std::string label = "{collection=\"" + PromEscape(name) + "\"} ";
    const double progress = info->rebuild.points_total == 0
                                ? 0
                                : static_cast<double>(info->rebuild.points_done) / info->rebuild.points_total;
    const std::vector<std::string> values = {
        std::to_string(info->points),
        std::to_string(info->indexed),
        std::to_string(info->deleted),
        std::to_string(info->index_memory_bytes),
        std::to_string(info->store_bytes + info->wal_bytes),
        info->status == "ready" ? "1" : "0",
        std::to_string(info->last_sequence - std::min(info->last_sequence, info->indexed_sequence)),
        info->rebuild.running ? "1" : "0",
        std::to_string(progress),
        std::to_string(info->rebuild.generation)};
    for (size_t i = 0; i < gauges.size(); ++i) gauges[i].lines += std::string(gauges[i].name) + label + values[i] + "\n";
  }
  for (const Gauge& g : gauges) {
    out += std::string("# HELP ") + g.name + " " + g.help + "\n# TYPE " + g.name + " gauge\n" + g.lines;
  }
  out += "# HELP vecdex_memory_budget_bytes The database's index memory budget (0: none).\n"
         "# TYPE vecdex_memory_budget_bytes gauge\nvecdex_memory_budget_bytes " + std::to_string(budget) + "\n";
  out += "# HELP vecdex_memory_used_bytes Memory held by all indexes.\n"
         "# TYPE vecdex_memory_used_bytes gauge\nvecdex_memory_used_bytes " + std::to_string(used) + "\n";
  out += "# HELP vecdex_process_resident_memory_bytes Resident set size of the server process.\n"
         "# TYPE vecdex_process_resident_memory_bytes gauge\nvecdex_process_resident_memory_bytes " +
         std::to_string(ResidentBytes()) + "\n";
  return Text(std::move(out), "text/plain; version=0.0.4");
}

}  // namespace

void RegisterAdminRoutes(Router& router) {
  router.Add("GET", "/", Access::kPublic, Root);
  router.Add("GET", "/healthz", Access::kPublic, Healthz);
  router.Add("GET", "/livez", Access::kPublic, Healthz);
  router.Add("GET", "/readyz", Access::kPublic, Readyz);
  router.Add("GET", "/metrics", Access::kRead, Metrics);
  router.Add("PUT", "/collections/{name}/index", Access::kWrite, CreatePayloadIndex);
  router.Add("DELETE", "/collections/{name}/index/{field}", Access::kWrite, DropPayloadIndex);
  router.Add("POST", "/collections/{name}/index/rebuild", Access::kWrite, StartRebuild);
  router.Add("POST", "/collections/{name}/snapshots", Access::kWrite, CreateSnapshot);
  router.Add("GET", "/collections/{name}/snapshots", Access::kRead, ListSnapshots);
  router.Add("GET", "/collections/{name}/snapshots/{snapshot}", Access::kRead, DownloadSnapshot);
  router.Add("DELETE", "/collections/{name}/snapshots/{snapshot}", Access::kWrite, DeleteSnapshot);
}

}  // namespace vecdex::server
