// Payload operations, by point ids or by filter: set (merge), overwrite, delete fields, clear.
#include "server/api_error.h"
#include "server/handlers.h"

namespace vecdex::server {
namespace {

enum class PayloadOp { kSet, kOverwrite };

Reply WritePayload(Call& call, PayloadOp op) {
  const Json& body = RequireObject(call.body, "body");
  CheckFields(body, "", {"payload", "points", "filter", "key", "shard_key"});
  if (Field(body, "key") != nullptr) ThrowBadRequest("key: setting a nested payload key is not supported");
  const Json* payload = Field(body, "payload");
  if (payload == nullptr) ThrowBadRequest("payload: missing");
  const std::string text = PayloadFromJson(payload, "payload");
  std::shared_ptr<Collection> collection = GetCollectionOr404(call);
  const std::vector<PointKey> keys = SelectKeys(call, *collection, body, "payload");
  if (keys.empty()) return {UpdateResult(0)};
  const WriteSummary summary = Check(op == PayloadOp::kSet ? collection->SetPayload(keys, text)
                                                           : collection->OverwritePayload(keys, text));
  return {UpdateResult(summary.sequence)};
}

Reply SetPayload(Call& call) { return WritePayload(call, PayloadOp::kSet); }
Reply OverwritePayload(Call& call) { return WritePayload(call, PayloadOp::kOverwrite); }

Reply DeletePayload(Call& call) {
  const Json& body = RequireObject(call.body, "body");
  CheckFields(body, "", {"keys", "points", "filter", "shard_key"});
  const Json* fields_json = Field(body, "keys");
  if (fields_json == nullptr || !fields_json->is_array()) ThrowBadRequest("keys: expected a list of payload fields");
  std::vector<std::string> fields;
  for (const Json& f : *fields_json) {
    if (!f.is_string()) ThrowBadRequest("keys: expected strings, got " + DumpJson(f));
    fields.push_back(f.get<std::string>());
  }
  std::shared_ptr<Collection> collection = GetCollectionOr404(call);
  const std::vector<PointKey> keys = SelectKeys(call, *collection, body, "payload/delete");
  if (keys.empty() || fields.empty()) return {UpdateResult(0)};
  return {UpdateResult(Check(collection->DeletePayloadFields(keys, fields)).sequence)};
}

Reply ClearPayload(Call& call) {
  const Json& body = RequireObject(call.body, "body");
  CheckFields(body, "", {"points", "filter", "shard_key"});
  std::shared_ptr<Collection> collection = GetCollectionOr404(call);
  const std::vector<PointKey> keys = SelectKeys(call, *collection, body, "payload/clear");
  if (keys.empty()) return {UpdateResult(0)};
  return {UpdateResult(Check(collection->OverwritePayload(keys, "{}")).sequence)};
}

}  // namespace

void RegisterPayloadRoutes(Router& router) {
  router.Add("POST", "/collections/{name}/points/payload", Access::kWrite, SetPayload);
  router.Add("PUT", "/collections/{name}/points/payload", Access::kWrite, OverwritePayload);
  router.Add("POST", "/collections/{name}/points/payload/delete", Access::kWrite, DeletePayload);
  router.Add("POST", "/collections/{name}/points/payload/clear", Access::kWrite, ClearPayload);
}

}  // namespace vecdex::server
