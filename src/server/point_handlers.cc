// Points: upsert (points and batch forms), retrieve, get one, delete (ids or filter), scroll
// (Qdrant's inclusive offset and next_page_offset), count.
#include <map>

#include "server/api_error.h"
#include "server/handlers.h"
#include "server/write_priority.h"

namespace vecdex::server {
namespace {

// ?wait=true|false is accepted; writes are always durable before the response either way.
void CheckWait(const Call& call) {
  if (const std::string* wait = call.request.QueryValue("wait")) {
    if (*wait != "true" && *wait != "false") ThrowBadRequest("wait: expected true or false, got \"" + *wait + "\"");
  }
}

std::vector<Point> PointsFromList(const Json& list) {
  if (!list.is_array()) ThrowBadRequest("points: expected a list of points");
  std::vector<Point> points;
  points.reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string where = "points[" + std::to_string(i) + "]";
    const Json& item = RequireObject(list[i], where);
    CheckFields(item, where, {"id", "vector", "payload"});
    const Json* id = Field(item, "id");
    const Json* vector = Field(item, "vector");
    if (id == nullptr) ThrowBadRequest(where + ".id: missing");
    if (vector == nullptr) ThrowBadRequest(where + ".vector: missing");
    points.push_back(Point{KeyFromJson(*id, where + ".id"), VectorFromJson(*vector, where + ".vector"),
                           PayloadFromJson(Field(item, "payload"), where + ".payload")});
  }
  return points;
}

std::vector<Point> PointsFromBatch(const Json& batch_value) {
  const Json& batch = RequireObject(batch_value, "batch");
  CheckFields(batch, "batch", {"ids", "vectors", "payloads"});
  const Json* ids = Field(batch, "ids");
  const Json* vectors = Field(batch, "vectors");
  if (ids == nullptr) ThrowBadRequest("batch.ids: missing");
  if (vectors == nullptr) ThrowBadRequest("batch.vectors: missing");
  std::vector<PointKey> keys = KeysFromJson(*ids, "batch.ids");
  if (!vectors->is_array()) ThrowBadRequest("batch.vectors: expected a list of vectors");
  if (vectors->size() != keys.size()) {
    ThrowBadRequest("batch: " + std::to_string(keys.size()) + " ids but " + std::to_string(vectors->size()) + " vectors");
  }
  const Json* payloads = Field(batch, "payloads");
  if (payloads != nullptr && (!payloads->is_array() || payloads->size() != keys.size())) {
    ThrowBadRequest("batch.payloads: expected a list with one payload (or null) per id");
  }
  std::vector<Point> points;
  points.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    std::string index = "[";
    index.append(std::to_string(i)).append("]");
    points.push_back(Point{std::move(keys[i]), VectorFromJson((*vectors)[i], "batch.vectors" + index),
                           payloads != nullptr ? PayloadFromJson(&(*payloads)[i], "batch.payloads" + index) : ""});
  }
  return points;
}

// Qdrant lets a batch name a point twice (the last one wins); the collection refuses that.
void KeepLastOfEachKey(std::vector<Point>& points) {
  std::map<PointKey, size_t> last;
  for (size_t i = 0; i < points.size(); ++i) last[points[i].key] = i;
  if (last.size() == points.size()) return;
  std::vector<Point> unique;
  unique.reserve(last.size());
  for (size_t i = 0; i < points.size(); ++i) {
    if (last[points[i].key] == i) unique.push_back(std::move(points[i]));
  }
  points = std::move(unique);
}

Reply Upsert(Call& call) {
  CheckWait(call);
  const Json& body = RequireObject(call.body, "body");
  CheckFields(body, "", {"points", "batch", "shard_key", "update_filter"});
  if (Field(body, "update_filter") != nullptr) ThrowBadRequest("update_filter: not supported");
  const Json* list = Field(body, "points");
  const Json* batch = Field(body, "batch");
  if ((list == nullptr) == (batch == nullptr)) ThrowBadRequest("give exactly one of \"points\" or \"batch\"");
  const size_t count = list != nullptr ? (list->is_array() ? list->size() : 0)
                                       : (batch->is_object() && batch->contains("ids") && (*batch)["ids"].is_array()
                                              ? (*batch)["ids"].size()
                                              : 0);
  CheckBatch(call, count, "points");
  std::shared_ptr<Collection> collection = GetCollectionOr404(call);
  std::vector<Point> points = list != nullptr ? PointsFromList(*list) : PointsFromBatch(*batch);
  KeepLastOfEachKey(points);
  if (points.empty()) return {UpdateResult(0)};
  const WriteSummary summary = Check(call.state.writers->Run([&] { return collection->Upsert(points); }));
  return {UpdateResult(summary.sequence)};
}

Reply Retrieve(Call& call) {
  const Json& body = RequireObject(call.body, "body");
  CheckFields(body, "", {"ids", "with_payload", "with_vector", "shard_key"});
  const Json* ids = Field(body, "ids");
  if (ids == nullptr) ThrowBadRequest("ids: missing");
  std::vector<PointKey> keys = KeysFromJson(*ids, "ids");
  CheckBatch(call, keys.size(), "ids");
  const PayloadSelector payload = ParseWithPayload(Field(body, "with_payload"), true, "with_payload");
  const bool with_vector = ParseWithVector(Field(body, "with_vector"), false, "with_vector");
  std::shared_ptr<Collection> collection = GetCollectionOr404(call);
  const std::vector<PointRecord> records = Check(collection->Get(keys, with_vector, payload.enabled));
  Json out = Json::array();
  for (const PointRecord& r : records) out.push_back(RecordToJson(r, payload, with_vector, collection->config().metric));
  return {out};
}

Reply GetOne(Call& call) {
  std::shared_ptr<Collection> collection = GetCollectionOr404(call);
  const PointKey key = KeyFromText(call.params[1]);
  const std::vector<PointRecord> records = Check(collection->Get({&key, 1}, true, true));
  if (records.empty()) {
    throw ApiError(404, "Not found: No point with id " + DumpJson(KeyToJson(key)) + " found");
  }
  PayloadSelector all;
  all.enabled = true;
  return {RecordToJson(records[0], all, true, collection->config().metric)};
}

Reply DeletePoints(Call& call) {
  CheckWait(call);
  const Json& body = RequireObject(call.body, "body");
  CheckFields(body, "", {"points", "filter", "shard_key"});
  std::shared_ptr<Collection> collection = GetCollectionOr404(call);
  if (const Json* filter = Field(body, "filter"); filter != nullptr && Field(body, "points") == nullptr) {
    const std::shared_ptr<const Filter> parsed = ParseFilterField(filter, "filter");
    return {UpdateResult(Check(collection->DeleteWhere(*parsed)).sequence)};
  }
  const std::vector<PointKey> keys = SelectKeys(call, *collection, body, "delete");
  if (keys.empty()) return {UpdateResult(0)};
  return {UpdateResult(Check(collection->Delete(keys)).sequence)};
}

// Qdrant's offset is the first id of the page (inclusive); our Scroll starts after a key. For
// an integer id n > 0 that is "after n - 1"; for 0, from the start; for a string id, the point
// itself (when it exists and matches) followed by the points after it.
Reply Scroll(Call& call) {
  const Json& body = RequireObject(call.body, "body");
  CheckFields(body, "", {"offset", "limit", "filter", "with_payload", "with_vector", "order_by", "shard_key"});
  if (Field(body, "order_by") != nullptr) ThrowBadRequest("order_by: not supported (points are scrolled by id)");
  const size_t limit = GetUint(body, "limit", 10, call.state.options.max_batch, "");
  const PayloadSelector payload = ParseWithPayload(Field(body, "with_payload"), true, "with_payload");
  const bool with_vector = ParseWithVector(Field(body, "with_vector"), false, "with_vector");
  std::optional<PointKey> offset;
  if (const Json* o = Field(body, "offset")) offset = KeyFromJson(*o, "offset");
  std::shared_ptr<Collection> collection = GetCollectionOr404(call);
  const Metric metric = collection->config().metric;

  ScrollRequest request;
  request.filter = ParseFilterField(Field(body, "filter"), "filter");
  request.with_vector = with_vector;
  request.with_payload = payload.enabled || request.filter != nullptr;
  std::vector<PointRecord> records;
  if (offset.has_value()) {
    if (offset->is_int()) {
      if (offset->int_value() > 0) request.start_after = PointKey::Int(offset->int_value() - 1);
    } else {
      std::vector<PointRecord> first = Check(collection->Get({&*offset, 1}, with_vector, true));
      if (!first.empty() && (request.filter == nullptr ||
                             Check(FilterMatches(*request.filter, first[0].key, first[0].payload_json)))) {
        records.push_back(std::move(first[0]));
      }
      request.start_after = offset;
    }
  }
  if (limit == 0) return {{{"points", Json::array()}, {"next_page_offset", nullptr}}};
  request.limit = limit + 1 - records.size();
  ScrollResult page = Check(collection->Scroll(request));
  for (PointRecord& r : page.points) records.push_back(std::move(r));
  Json next = nullptr;
  if (records.size() > limit) {
    next = KeyToJson(records[limit].key);
    records.resize(limit);
  }
  Json points = Json::array();
  for (const PointRecord& r : records) points.push_back(RecordToJson(r, payload, with_vector, metric));
  return {{{"points", points}, {"next_page_offset", next}}};
}

Reply Count(Call& call) {
  const Json& body = RequireObject(call.body, "body");
  CheckFields(body, "", {"filter", "exact", "shard_key"});
  GetBool(body, "exact", true, "");
  std::shared_ptr<Collection> collection = GetCollectionOr404(call);
  const std::shared_ptr<const Filter> filter = ParseFilterField(Field(body, "filter"), "filter");
  const uint64_t count = filter != nullptr ? Check(collection->CountWhere(*filter)) : Check(collection->Count());
  return {{{"count", count}}};
}

}  // namespace

void RegisterPointRoutes(Router& router) {
  router.Add("PUT", "/collections/{name}/points", Access::kWrite, Upsert);
  router.Add("POST", "/collections/{name}/points", Access::kRead, Retrieve);
  router.Add("GET", "/collections/{name}/points/{id}", Access::kRead, GetOne);
  router.Add("POST", "/collections/{name}/points/delete", Access::kWrite, DeletePoints);
  router.Add("POST", "/collections/{name}/points/scroll", Access::kRead, Scroll);
  router.Add("POST", "/collections/{name}/points/count", Access::kRead, Count);
}

}  // namespace vecdex::server
