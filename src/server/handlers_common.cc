// Helpers shared by the handlers (handlers.h).
#include "server/api_error.h"
#include "server/handlers.h"

namespace vecdex::server {

std::shared_ptr<Collection> GetCollectionOr404(Call& call) {
  const std::string& name = call.params.at(0);
  Result<std::shared_ptr<Collection>> collection = call.state.db->GetCollection(name);
  if (collection.ok()) return std::move(collection).value();
  if (collection.status().code() == StatusCode::kNotFound || collection.status().code() == StatusCode::kInvalidArgument) {
    throw ApiError(404, "Not found: Collection `" + name + "` doesn't exist!");
  }
  ThrowStatus(collection.status());
}

Json UpdateResult(uint64_t sequence) { return {{"operation_id", sequence}, {"status", "completed"}}; }

void CheckBatch(const Call& call, size_t count, std::string_view what) {
  if (count > call.state.options.max_batch) {
    throw ApiError(413, "Payload too large: " + std::to_string(count) + " " + std::string(what) +
                            " in one request, the limit is " + std::to_string(call.state.options.max_batch));
  }
}

std::vector<PointKey> SelectKeys(Call& call, Collection& collection, const Json& body, std::string_view where) {
  const Json* points = Field(body, "points");
  const Json* filter_json = Field(body, "filter");
  if ((points == nullptr) == (filter_json == nullptr)) {
    ThrowBadRequest(std::string(where) + ": give exactly one of \"points\" (a list of ids) or \"filter\"");
  }
  if (points != nullptr) {
    std::vector<PointKey> keys = KeysFromJson(*points, "points");
    CheckBatch(call, keys.size(), "point ids");
    return keys;
  }
  ScrollRequest request;
  request.filter = ParseFilterField(filter_json, "filter");
  request.limit = 1000;
  std::vector<PointKey> keys;
  while (true) {
    ScrollResult page = Check(collection.Scroll(request));
    for (PointRecord& record : page.points) keys.push_back(std::move(record.key));
    if (!page.next.has_value() || page.points.empty()) break;
    request.start_after = page.next;
  }
  return keys;
}

Json RecordToJson(const PointRecord& record, const PayloadSelector& payload, bool with_vector, Metric metric) {
  Json out = {{"id", KeyToJson(record.key)}};
  out["payload"] = payload.enabled ? SelectPayload(record.payload_json, payload) : Json(nullptr);
  out["vector"] = with_vector ? VectorToJson(record.vector, metric == Metric::kCosine) : Json(nullptr);
  return out;
}

}  // namespace vecdex::server
