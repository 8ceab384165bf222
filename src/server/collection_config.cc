#include "server/collection_config.h"

#include <map>
#include <utility>

#include "server/api_error.h"

namespace vecdex::server {
namespace {

// "hnsw:m=16,storage=int8" -> kind "hnsw" and its options.
std::pair<std::string, std::map<std::string, std::string>> SplitSpec(const std::string& spec) {
  std::pair<std::string, std::map<std::string, std::string>> out;
  const size_t colon = spec.find(':');
  out.first = spec.substr(0, colon);
  if (colon == std::string::npos) return out;
  size_t start = colon + 1;
  while (start < spec.size()) {
    size_t comma = spec.find(',', start);
    if (comma == std::string::npos) comma = spec.size();
    const std::string item = spec.substr(start, comma - start);
    const size_t eq = item.find('=');
    if (eq != std::string::npos) out.second[item.substr(0, eq)] = item.substr(eq + 1);
    start = comma + 1;
  }
  return out;
}

std::string JoinSpec(const std::string& kind, const std::map<std::string, std::string>& options) {
  std::string spec = kind;
  char sep = ':';
  for (const auto& [key, value] : options) {
    spec += sep + key + "=" + value;
    sep = ',';
  }
  return spec;
}

Metric ParseDistance(const Json& vectors) {
  const std::optional<std::string> distance = GetString(vectors, "distance", "vectors");
  if (!distance) ThrowBadRequest("vectors.distance: missing (Cosine, Euclid or Dot)");
  if (*distance == "Cosine") return Metric::kCosine;
  if (*distance == "Euclid") return Metric::kL2;
  if (*distance == "Dot") return Metric::kInnerProduct;
  if (*distance == "Manhattan") ThrowBadRequest("vectors.distance: Manhattan is not supported (Cosine, Euclid or Dot)");
  ThrowBadRequest("vectors.distance: unknown distance \"" + *distance + "\" (Cosine, Euclid or Dot)");
}

// Applies hnsw_config {m, ef_construct, ...} to the spec options; m = 0 (Qdrant: no graph)
// selects the flat index.
void ApplyHnswConfig(const Json& hnsw, std::string_view where, std::string& kind,
                     std::map<std::string, std::string>& options) {
  RequireObject(hnsw, where);
  CheckFields(hnsw, where, {"m", "ef_construct", "full_scan_threshold", "max_indexing_threads", "on_disk",
                            "payload_m", "inline_storage", "copy_vectors"});
  if (Field(hnsw, "m") != nullptr) {
    const uint64_t m = GetUint(hnsw, "m", 16, 128, where);
    if (m == 0) {
      kind = "flat";
    } else {
      if (m < 2) ThrowBadRequest(std::string(where) + ".m: must be 0 (no graph) or at least 2");
      options["m"] = std::to_string(m);
    }
  }
  if (Field(hnsw, "ef_construct") != nullptr) {
    const uint64_t ef = GetUint(hnsw, "ef_construct", 100, 1'000'000, where);
    if (ef < 4) ThrowBadRequest(std::string(where) + ".ef_construct: must be at least 4");
    options["ef_construction"] = std::to_string(ef);
  }
}

void ApplyQuantization(const Json& quantization, std::map<std::string, std::string>& options) {
  const std::string where = "quantization_config";
  RequireObject(quantization, where);
  CheckFields(quantization, where, {"scalar", "product", "binary"});
  if (Field(quantization, "product") || Field(quantization, "binary")) {
    ThrowBadRequest(where + ": only scalar (int8) quantization is supported");
  }
  const Json* scalar = Field(quantization, "scalar");
  if (scalar == nullptr) return;
  RequireObject(*scalar, where + ".scalar");
  CheckFields(*scalar, where + ".scalar", {"type", "quantile", "always_ram"});
  const std::optional<std::string> type = GetString(*scalar, "type", where + ".scalar");
  if (type.value_or("int8") != "int8") ThrowBadRequest(where + ".scalar.type: only \"int8\" is supported");
  if (const std::optional<double> q = GetNumber(*scalar, "quantile", where + ".scalar"); q && (*q < 0.5 || *q > 1)) {
    ThrowBadRequest(where + ".scalar.quantile: must be in [0.5, 1]");
  }
  GetBool(*scalar, "always_ram", true, where + ".scalar");
  options["storage"] = "int8";
  options["rerank"] = "true";
}

}  // namespace

std::string_view DistanceName(Metric metric) {
  switch (metric) {
    case Metric::kCosine:
      return "Cosine";
    case Metric::kL2:
      return "Euclid";
    case Metric::kInnerProduct:
      return "Dot";
  }
  return "Cosine";
}

CollectionConfig ConfigFromCreateBody(const Json& body_value) {
  const Json& body = RequireObject(body_value, "body");
  CheckFields(body, "", {"vectors", "hnsw_config", "quantization_config", "vecdex", "shard_number", "sharding_method",
                         "replication_factor", "write_consistency_factor", "on_disk_payload", "optimizers_config",
                         "wal_config", "init_from", "sparse_vectors", "strict_mode_config", "metadata"});
  const Json* vectors = Field(body, "vectors");
  if (vectors == nullptr) ThrowBadRequest("vectors: missing ({\"size\": N, \"distance\": \"Cosine\"})");
  if (!vectors->is_object()) ThrowBadRequest("vectors: expected an object {\"size\": N, \"distance\": ...}");
  if (!vectors->contains("size") && !vectors->empty() && vectors->begin()->is_object()) {
    ThrowBadRequest("vectors: named vectors are not supported (vecdex collections hold one unnamed vector)");
  }
  CheckFields(*vectors, "vectors", {"size", "distance", "on_disk", "datatype", "hnsw_config", "quantization_config",
                                    "multivector_config"});
  if (Field(*vectors, "multivector_config") != nullptr) ThrowBadRequest("vectors.multivector_config: not supported");
  if (const Json* sparse = Field(body, "sparse_vectors"); sparse != nullptr && !sparse->empty()) {
    ThrowBadRequest("sparse_vectors: not supported");
  }
  if (Field(*vectors, "size") == nullptr) ThrowBadRequest("vectors.size: missing");
  CollectionConfig config;
  config.dim = GetUint(*vectors, "size", 0, 65536, "vectors");
  if (config.dim == 0) ThrowBadRequest("vectors.size: must be at least 1");
  config.metric = ParseDistance(*vectors);
  GetBool(*vectors, "on_disk", false, "vectors");

  std::string kind = "hnsw";
  std::map<std::string, std::string> options;
  if (const std::optional<std::string> datatype = GetString(*vectors, "datatype", "vectors")) {
    if (*datatype == "float16") {
      options["storage"] = "f16";
    } else if (*datatype != "float32") {
      ThrowBadRequest("vectors.datatype: \"" + *datatype + "\" is not supported (float32 or float16)");
    }
  }
  if (const Json* hnsw = Field(body, "hnsw_config")) ApplyHnswConfig(*hnsw, "hnsw_config", kind, options);
  if (const Json* hnsw = Field(*vectors, "hnsw_config")) ApplyHnswConfig(*hnsw, "vectors.hnsw_config", kind, options);
  if (const Json* q = Field(body, "quantization_config")) ApplyQuantization(*q, options);
  if (const Json* q = Field(*vectors, "quantization_config")) ApplyQuantization(*q, options);
  config.index_spec = kind == "flat" ? "flat" : JoinSpec(kind, options);

  if (const Json* ours = Field(body, "vecdex")) {
    RequireObject(*ours, "vecdex");
    CheckFields(*ours, "vecdex", {"index", "sync", "sync_interval_ms"});
    if (std::optional<std::string> index = GetString(*ours, "index", "vecdex")) config.index_spec = *index;
    if (std::optional<std::string> sync = GetString(*ours, "sync", "vecdex")) {
      if (*sync == "batch") {
        config.sync = SyncPolicy::kEveryBatch;
      } else if (*sync == "interval") {
        config.sync = SyncPolicy::kInterval;
      } else {
        ThrowBadRequest("vecdex.sync: \"batch\" or \"interval\", got \"" + *sync + "\"");
      }
    }
    config.sync_interval_ms = static_cast<uint32_t>(GetUint(*ours, "sync_interval_ms", 20, 60000, "vecdex"));
  }
  return config;
}

Json CollectionInfoToJson(const CollectionInfo& info) {
  const auto [kind, options] = SplitSpec(info.config.index_spec);
  auto option = [&options = options](const std::string& key, uint64_t fallback) -> uint64_t {
    auto it = options.find(key);
    if (it == options.end()) return fallback;
    try {
      return std::stoull(it->second);
    } catch (const std::exception&) {
      return fallback;
    }
  };
  const bool hnsw = kind == "hnsw";
  const auto storage = options.find("storage");
  Json vectors = {{"size", info.config.dim}, {"distance", DistanceName(info.config.metric)}, {"on_disk", false}};
  if (storage != options.end() && storage->second == "f16") vectors["datatype"] = "float16";
  Json quantization = nullptr;
  if (storage != options.end() && storage->second == "int8") {
    quantization = {{"scalar", {{"type", "int8"}, {"always_ram", true}}}};
  }
  Json payload_schema = Json::object();
  for (const PayloadIndexInfo& index : info.payload_indexes) {
    payload_schema[index.field] = {{"data_type", PayloadFieldTypeName(index.type)}, {"points", index.points}};
  }
  const bool busy = info.status != "ready" || info.rebuild.running;
  Json rebuild = {{"running", info.rebuild.running},
                  {"phase", info.rebuild.phase},
                  {"points_done", info.rebuild.points_done},
                  {"points_total", info.rebuild.points_total},
                  {"eta_seconds", info.rebuild.eta_seconds},
                  {"generation", info.rebuild.generation},
                  {"target_spec", info.rebuild.target_spec},
                  {"last_result", info.rebuild.last_result},
                  {"last_recall", info.rebuild.last_recall}};
  return {
      {"status", busy ? "yellow" : "green"},
      {"optimizer_status", "ok"},
      {"points_count", info.points},
      {"indexed_vectors_count", info.indexed},
      {"segments_count", 1},
      {"config",
       {{"params",
         {{"vectors", vectors},
          {"shard_number", 1},
          {"replication_factor", 1},
          {"write_consistency_factor", 1},
          {"on_disk_payload", true}}},
        {"hnsw_config",
         {{"m", hnsw ? option("m", 16) : 0},
          {"ef_construct", hnsw ? option("ef_construction", 200) : 0},
          {"full_scan_threshold", 0},
          {"max_indexing_threads", 0},
          {"on_disk", false}}},
        {"optimizer_config",
         {{"deleted_threshold", 0.2},
          {"vacuum_min_vector_number", 1000},
          {"default_segment_number", 1},
          {"flush_interval_sec", 5}}},
        {"wal_config", {{"wal_capacity_mb", 32}, {"wal_segments_ahead", 0}}},
        {"quantization_config", quantization}}},
      {"payload_schema", payload_schema},
      {"vecdex",
       {{"index_spec", info.config.index_spec},
        {"status", info.status},
        {"recovery", info.recovery},
        {"sync", info.config.sync == SyncPolicy::kEveryBatch ? "batch" : "interval"},
        {"deleted", info.deleted},
        {"last_sequence", info.last_sequence},
        {"indexed_sequence", info.indexed_sequence},
        {"snapshot_sequence", info.snapshot_sequence},
        {"index_memory_bytes", info.index_memory_bytes},
        {"store_bytes", info.store_bytes},
        {"wal_bytes", info.wal_bytes},
        {"snapshot_bytes", info.snapshot_bytes},
        {"memory_budget_bytes", info.memory_budget_bytes},
        {"memory_used_bytes", info.memory_used_bytes},
        {"rebuild", rebuild}}},
  };
}

RebuildOptions RebuildOptionsFromBody(const Json& body_value, const CollectionConfig& current) {
  const Json& body = RequireObject(body_value, "body");
  CheckFields(body, "", {"hnsw_config", "vecdex"});
  RebuildOptions options;
  if (const Json* hnsw = Field(body, "hnsw_config")) {
    auto [kind, spec_options] = SplitSpec(current.index_spec);
    kind = "hnsw";
    ApplyHnswConfig(*hnsw, "hnsw_config", kind, spec_options);
    // Options the new parameters invalidate are left to their defaults; the rest carry over.
    options.index_spec = kind == "flat" ? "flat" : JoinSpec(kind, spec_options);
  }
  if (const Json* ours = Field(body, "vecdex")) {
    RequireObject(*ours, "vecdex");
    CheckFields(*ours, "vecdex", {"index", "validation_queries", "validation_k", "min_recall"});
    if (std::optional<std::string> index = GetString(*ours, "index", "vecdex")) options.index_spec = *index;
    options.validation_queries = GetUint(*ours, "validation_queries", options.validation_queries, 1'000'000, "vecdex");
    options.validation_k = GetUint(*ours, "validation_k", options.validation_k, Collection::kMaxK, "vecdex");
    if (std::optional<double> r = GetNumber(*ours, "min_recall", "vecdex")) {
      if (*r < 0 || *r > 1) ThrowBadRequest("vecdex.min_recall: must be in [0, 1]");
      options.min_recall = *r;
    }
  }
  return options;
}

}  // namespace vecdex::server
