#include "db/collection_meta.h"

#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>

#include <nlohmann/json.hpp>

#include "index/index_spec.h"
#include "common/crc32c.h"
#include "vecdex/index.h"

namespace vecdex::db {
namespace {

using nlohmann::json;

std::string_view SyncName(SyncPolicy sync) { return sync == SyncPolicy::kInterval ? "interval" : "every_batch"; }

}  // namespace

Result<CollectionConfig> NormalizeConfig(const CollectionConfig& config) {
  if (config.dim == 0 || config.dim > kMaxDimension) {
    return Status::InvalidArgument("dimension " + std::to_string(config.dim) + " is outside [1, " +
                                   std::to_string(kMaxDimension) + "]");
  }
  if (config.sync == SyncPolicy::kInterval && (config.sync_interval_ms == 0 || config.sync_interval_ms > 60000)) {
    return Status::InvalidArgument("sync_interval_ms must be in [1, 60000], got " +
                                   std::to_string(config.sync_interval_ms));
  }
  if (config.metric != Metric::kL2 && config.metric != Metric::kInnerProduct && config.metric != Metric::kCosine) {
    return Status::InvalidArgument("unknown metric " + std::to_string(static_cast<int>(config.metric)));
  }
  if (config.sync != SyncPolicy::kEveryBatch && config.sync != SyncPolicy::kInterval) {
    return Status::InvalidArgument("unknown sync policy");
  }
  VECDEX_ASSIGN_OR_RETURN(std::unique_ptr<Index> index, CreateIndex(config.index_spec, config.dim, config.metric));
  CollectionConfig normalized = config;
  normalized.index_spec = index->spec();
  return normalized;
}

std::string EncodeConfig(const StoredConfig& stored) {
  const CollectionConfig& c = stored.config;
  json j = {{"format", 1},
            {"dim", c.dim},
            {"metric", std::string(MetricName(c.metric))},
            {"index", c.index_spec},
            {"sync", std::string(SyncName(c.sync))},
            {"sync_interval_ms", c.sync_interval_ms},
            {"uuid", stored.uuid},
            {"generation", stored.generation}};
  return j.dump();
}

Result<StoredConfig> DecodeConfig(std::string_view text, const std::string& where) {
  const auto bad = [&](const std::string& why) {
    return Status::Corruption(where + ": collection configuration is damaged: " + why);
  };
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return bad("not a JSON object");
  try {
    if (j.at("format").get<int>() != 1) {
      return Status::FailedPrecondition(where + ": collection configuration format " + j.at("format").dump() +
                                        " is not supported by this build");
    }
    StoredConfig out;
    out.config.dim = j.at("dim").get<size_t>();
    const auto metric = ParseMetric(j.at("metric").get<std::string>());
    if (!metric) return bad("unknown metric");
    out.config.metric = *metric;
    out.config.index_spec = j.at("index").get<std::string>();
    const std::string sync = j.at("sync").get<std::string>();
    if (sync == "every_batch") {
      out.config.sync = SyncPolicy::kEveryBatch;
    } else if (sync == "interval") {
      out.config.sync = SyncPolicy::kInterval;
    } else {
      return bad("unknown sync policy '" + sync + "'");
    }
    out.config.sync_interval_ms = j.at("sync_interval_ms").get<uint32_t>();
    out.uuid = j.at("uuid").get<std::string>();
    out.generation = j.value("generation", uint64_t{1});
    if (out.generation == 0) return bad("generation 0");
    return out;
  } catch (const json::exception& e) {
    return bad(e.what());
  }
}

std::string NewCollectionUuid() {
  std::random_device device;  // /dev/urandom on Linux
  char out[33];
  for (int i = 0; i < 4; ++i) std::snprintf(out + i * 8, 9, "%08x", static_cast<unsigned>(device()));
  return std::string(out, 32);
}

std::string IndexKindOf(std::string_view spec) { return std::string(spec.substr(0, spec.find(':'))); }

std::string EncodeManifest(const SnapshotManifest& m) {
  json j = {{"format", kManifestFormatVersion},
            {"index_file", m.index_file},
            {"sequence", m.sequence},
            {"index_spec", m.index_spec},
            {"dim", m.dim},
            {"metric", std::string(MetricName(m.metric))},
            {"collection_uuid", m.collection_uuid},
            {"file_bytes", m.file_bytes},
            {"generation", m.generation}};
  const std::string body = j.dump();
  char crc[16];
  std::snprintf(crc, sizeof(crc), "%08x", Crc32c(body.data(), body.size()));
  return body + "\ncrc32c " + crc + "\n";
}

Result<SnapshotManifest> DecodeManifest(std::string_view text, const std::string& path) {
  const auto bad = [&](const std::string& why) { return Status::Corruption(path + ": snapshot manifest " + why); };
  const size_t newline = text.find('\n');
  if (newline == std::string_view::npos) return bad("is truncated");
  const std::string_view body = text.substr(0, newline);
  const std::string_view rest = text.substr(newline + 1);
  char crc[16];
  std::snprintf(crc, sizeof(crc), "%08x", Crc32c(body.data(), body.size()));
  if (rest != "crc32c " + std::string(crc) + "\n") return bad("fails its checksum");
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return bad("is not a JSON object");
  try {
    if (j.at("format").get<uint32_t>() != kManifestFormatVersion) {
      return Status::FailedPrecondition(path + ": snapshot manifest format " + j.at("format").dump() +
                                        " is not supported by this build");
    }
    SnapshotManifest m;
    m.index_file = j.at("index_file").get<std::string>();
    m.sequence = j.at("sequence").get<uint64_t>();
    m.index_spec = j.at("index_spec").get<std::string>();
    m.dim = j.at("dim").get<uint64_t>();
    const auto metric = ParseMetric(j.at("metric").get<std::string>());
    if (!metric) return bad("names an unknown metric");
    m.metric = *metric;
    m.collection_uuid = j.at("collection_uuid").get<std::string>();
    m.file_bytes = j.at("file_bytes").get<uint64_t>();
    m.generation = j.value("generation", uint64_t{1});
    if (!IsSnapshotFileName(m.index_file)) return bad("names an invalid file '" + m.index_file + "'");
    return m;
  } catch (const json::exception& e) {
    return bad(std::string("is malformed: ") + e.what());
  }
}

std::string SnapshotFileName(uint64_t sequence, std::string_view kind, uint64_t generation) {
  char digits[32];
  std::snprintf(digits, sizeof(digits), "%020" PRIu64, sequence);
  const std::string infix = generation > 1 ? ".g" + std::to_string(generation) : "";
  return "index-" + std::string(digits) + infix + "." + std::string(kind);
}

bool IsSnapshotFileName(std::string_view name) {
  if (!name.starts_with("index-") || name.size() < 6 + 20 + 2) return false;
  for (size_t i = 6; i < 26; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
  }
  if (name[26] != '.') return false;
  for (char c : name.substr(27)) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.')) return false;
  }
  return true;
}

}  // namespace vecdex::db
