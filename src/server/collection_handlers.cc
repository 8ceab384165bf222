// /collections: list, get info, create, delete, exists.
#include "server/api_error.h"
#include "server/collection_config.h"
#include "server/handlers.h"

namespace vecdex::server {
namespace {

Reply ListCollections(Call& call) {
  Json list = Json::array();
  for (const std::string& name : call.state.db->ListCollections()) list.push_back({{"name", name}});
  return {{{"collections", list}}};
}

Reply GetInfo(Call& call) {
  std::shared_ptr<Collection> collection = GetCollectionOr404(call);
  return {CollectionInfoToJson(Check(collection->Info()))};
}

Reply Create(Call& call) {
  const std::string& name = call.params[0];
  if (Status s = ValidateCollectionName(name); !s.ok()) ThrowBadRequest(s.message());
  const CollectionConfig config = ConfigFromCreateBody(call.body);
  Result<std::shared_ptr<Collection>> created = call.state.db->CreateCollection(name, config);
  if (!created.ok() && created.status().code() == StatusCode::kAlreadyExists) {
    throw ApiError(409, "Wrong input: Collection `" + name + "` already exists!");
  }
  Check(created.status());
  return {true};
}

Reply Delete(Call& call) {
  const Status s = call.state.db->DropCollection(call.params[0]);
  if (s.code() == StatusCode::kNotFound || s.code() == StatusCode::kInvalidArgument) return {false};
  Check(s);
  return {true};
}

Reply Exists(Call& call) {
  Result<std::shared_ptr<Collection>> c = call.state.db->GetCollection(call.params[0]);
  return {{{"exists", c.ok()}}};
}

}  // namespace

void RegisterCollectionRoutes(Router& router) {
  router.Add("GET", "/collections", Access::kRead, ListCollections);
  router.Add("GET", "/collections/{name}", Access::kRead, GetInfo);
  router.Add("PUT", "/collections/{name}", Access::kWrite, Create);
  router.Add("DELETE", "/collections/{name}", Access::kWrite, Delete);
  router.Add("GET", "/collections/{name}/exists", Access::kRead, Exists);
}

}  // namespace vecdex::server
