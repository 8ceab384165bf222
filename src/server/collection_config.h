// Collection configuration between Qdrant's JSON and vecdex: the create-collection body to a
// CollectionConfig (index spec), CollectionInfo to Qdrant's collection info, and the rebuild
// body to an index spec.
#pragma once

#include <string>
#include <string_view>

#include "server/json_io.h"
#include "vecdex/database.h"

namespace vecdex::server {

// "Cosine", "Euclid", "Dot".
std::string_view DistanceName(Metric metric);

// PUT /collections/{name}: vectors {size, distance, datatype?}, hnsw_config {m, ef_construct},
// quantization_config {scalar: {type: "int8"}}, and our extension vecdex {index, sync,
// sync_interval_ms}. Fields Qdrant clients send that mean nothing here (shard_number,
// optimizers_config, wal_config, ...) are accepted and ignored. Throws ApiError 400.
CollectionConfig ConfigFromCreateBody(const Json& body);

// GET /collections/{name}.
Json CollectionInfoToJson(const CollectionInfo& info);

// POST /collections/{name}/index/rebuild: {} (the current spec), {"hnsw_config": {m,
// ef_construct}} (the current spec with these changed), or {"vecdex": {"index": spec,
// "validation_queries": n, "min_recall": r}}. Throws ApiError 400.
RebuildOptions RebuildOptionsFromBody(const Json& body, const CollectionConfig& current);

}  // namespace vecdex::server
