// Route registration, one function per area of the API (each in its own *_handlers.cc), and the
// helpers those handlers share.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "server/api.h"
#include "server/json_io.h"
#include "server/router.h"
#include "vecdex/database.h"

namespace vecdex::server {

void RegisterCollectionRoutes(Router& router);  // /collections, /collections/{name}[/exists]
void RegisterPointRoutes(Router& router);       // upsert, retrieve, get, delete, scroll, count
void RegisterPayloadRoutes(Router& router);     // set/overwrite/delete/clear payload
void RegisterSearchRoutes(Router& router);      // search[/batch], query[/batch]
void RegisterAdminRoutes(Router& router);       // /, health, payload index, snapshots, rebuild, metrics

// The collection named by the first path parameter. Errors: 404 "Collection `x` doesn't exist!".
std::shared_ptr<Collection> GetCollectionOr404(Call& call);

// Qdrant's UpdateResult: {"operation_id": sequence, "status": "completed"}.
Json UpdateResult(uint64_t sequence);

// 413 when `count` items exceed the batch limit.
void CheckBatch(const Call& call, size_t count, std::string_view what);

// Keys selected by {"points": [...]} or {"filter": {...}} (exactly one). A filter is resolved to
// the keys matching it now (by scrolling).
std::vector<PointKey> SelectKeys(Call& call, Collection& collection, const Json& body, std::string_view where);

// Qdrant's point records.
Json RecordToJson(const PointRecord& record, const PayloadSelector& payload, bool with_vector, Metric metric);

}  // namespace vecdex::server
