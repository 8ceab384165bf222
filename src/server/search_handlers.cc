// Vector search: points/search[/batch] (Qdrant's older API) and points/query[/batch] (what
// current clients call). A query is a vector, {"nearest": vector or id}, or a point id (its
// stored vector is the query and the point itself is left out of the results, as in Qdrant).
#include <cmath>

#include "server/api_error.h"
#include "server/handlers.h"

namespace vecdex::server {
namespace {

struct ParsedSearch {
  std::vector<float> vector;
  std::optional<PointKey> by_id;  // query by point id: filled into `vector`, excluded from results
  size_t limit = 10;
  size_t offset = 0;
  SearchRequest request;  // k, ef, exact, filter, score_threshold (in our score units), with_*
  PayloadSelector payload;
  std::string signature;  // the parameters, for grouping a batch into one SearchBatch call
};

// The query of points/query: a vector, {"nearest": ...}, or a point id.
void ParseQuery(const Json& query, ParsedSearch& out) {
  const Json* q = &query;
  if (q->is_object()) {
    if (const Json* nearest = Field(*q, "nearest"); nearest != nullptr && q->size() == 1) {
      q = nearest;
    } else if (q->contains("recommend") || q->contains("discover") || q->contains("context") ||
               q->contains("order_by") || q->contains("fusion") || q->contains("sample") || q->contains("formula")) {
      ThrowBadRequest("query: only nearest-neighbour queries are supported (a vector, {\"nearest\": ...} or a point id)");
    }
  }
  if (q->is_number() || q->is_string()) {
    out.by_id = KeyFromJson(*q, "query");
    return;
  }
  out.vector = VectorFromJson(*q, "query");
}

void ParseCommon(const Json& body, std::string_view where, Metric metric, size_t max_limit, ParsedSearch& out) {
  out.limit = GetUint(body, "limit", 10, max_limit, where);
  out.offset = GetUint(body, "offset", 0, Collection::kMaxK, where);
  if (out.limit + out.offset > Collection::kMaxK) {
    ThrowBadRequest(std::string(where) + (where.empty() ? "" : ".") + "limit + offset: at most " +
                    std::to_string(Collection::kMaxK));
  }
  out.request.filter = ParseFilterField(Field(body, "filter"), std::string(where) + (where.empty() ? "" : ".") + "filter");
  if (const Json* params = Field(body, "params")) {
    const std::string pw = std::string(where) + (where.empty() ? "" : ".") + "params";
    RequireObject(*params, pw);
    CheckFields(*params, pw, {"hnsw_ef", "exact", "quantization", "indexed_only", "acorn"});
    out.request.ef = GetUint(*params, "hnsw_ef", 0, 1'000'000, pw);
    out.request.exact = GetBool(*params, "exact", false, pw);
    GetBool(*params, "indexed_only", false, pw);
  }
  if (std::optional<double> threshold = GetNumber(body, "score_threshold", where)) {
    double t = *threshold;
    // Qdrant's Euclid score is the distance; ours (L2) is its square.
    if (metric == Metric::kL2 && t > 0) t = t * t;
    out.request.score_threshold = static_cast<float>(t);
  }
  out.payload = ParseWithPayload(Field(body, "with_payload"), false, "with_payload");
  out.request.with_payload = out.payload.enabled;
  out.request.with_vector = ParseWithVector(Field(body, "with_vector"), false, "with_vector");
  out.signature = std::to_string(out.limit) + "/" + std::to_string(out.offset) + "/" + std::to_string(out.request.ef) +
                  "/" + std::to_string(out.request.exact) + "/" +
                  (out.request.score_threshold ? std::to_string(*out.request.score_threshold) : "-") + "/" +
                  (Field(body, "filter") ? DumpJson(*Field(body, "filter")) : "-") + "/" + DumpJson(body.value("with_payload", Json())) +
                  "/" + std::to_string(out.request.with_vector);
}

ParsedSearch ParseSearchBody(const Json& body_value, std::string_view where, Metric metric, size_t max_limit) {
  const Json& body = RequireObject(body_value, where.empty() ? "body" : where);
  CheckFields(body, where, {"vector", "filter", "params", "limit", "offset", "with_payload", "with_vector",
                            "score_threshold", "shard_key"});
  ParsedSearch out;
  const Json* vector = Field(body, "vector");
  if (vector == nullptr) ThrowBadRequest(std::string(where) + (where.empty() ? "" : ".") + "vector: missing");
  if (vector->is_object()) {
    // {"name": "", "vector": [...]}: the named form, for the unnamed vector only.
    const std::optional<std::string> name = GetString(*vector, "name", "vector");
    if (name.value_or("") != "") ThrowBadRequest("vector.name: no vector named \"" + *name + "\"");
    const Json* inner = Field(*vector, "vector");
    if (inner == nullptr) ThrowBadRequest("vector.vector: missing");
    out.vector = VectorFromJson(*inner, "vector");
  } else {
    out.vector = VectorFromJson(*vector, "vector");
  }
  ParseCommon(body, where, metric, max_limit, out);
  return out;
}

ParsedSearch ParseQueryBody(const Json& body_value, std::string_view where, Metric metric, size_t max_limit) {
  const Json& body = RequireObject(body_value, where.empty() ? "body" : where);
  CheckFields(body, where, {"query", "prefetch", "using", "filter", "params", "score_threshold", "limit", "offset",
                            "with_payload", "with_vector", "lookup_from", "shard_key"});
  if (const Json* prefetch = Field(body, "prefetch"); prefetch != nullptr && !prefetch->empty()) {
    ThrowBadRequest("prefetch: not supported");
  }
  if (Field(body, "lookup_from") != nullptr) ThrowBadRequest("lookup_from: not supported");
  if (std::optional<std::string> name = GetString(body, "using", where); name && !name->empty()) {
    ThrowBadRequest("using: no vector named \"" + *name + "\" (vecdex collections hold one unnamed vector)");
  }
  const Json* query = Field(body, "query");
  if (query == nullptr) ThrowBadRequest("query: missing (a vector, {\"nearest\": ...} or a point id)");
  ParsedSearch out;
  ParseQuery(*query, out);
  ParseCommon(body, where, metric, max_limit, out);
  return out;
}

// Fills the vector of a query by id. Errors: 404 when the point does not exist.
void Resolve(Collection& collection, ParsedSearch& search) {
  if (!search.by_id) return;
  std::vector<PointRecord> found = Check(collection.Get({&*search.by_id, 1}, true, false));
  if (found.empty()) throw ApiError(404, "Not found: No point with id " + DumpJson(KeyToJson(*search.by_id)) + " found");
  search.vector = std::move(found[0].vector);
}

SearchRequest RequestFor(const ParsedSearch& search) {
  SearchRequest request = search.request;
  request.k = search.limit + search.offset + (search.by_id ? 1 : 0);
  request.offset = 0;
  return request;
}

Json HitsToJson(const ParsedSearch& search, std::vector<ScoredPoint>& hits, Metric metric) {
  Json out = Json::array();
  size_t skipped = 0;
  for (ScoredPoint& hit : hits) {
    if (search.by_id && hit.key == *search.by_id) continue;
    if (skipped < search.offset) {
      ++skipped;
      continue;
    }
    if (out.size() >= search.limit) break;
    const float score = metric == Metric::kL2 ? std::sqrt(std::max(0.0f, hit.distance)) : hit.score;
    Json point = {{"id", KeyToJson(hit.key)}, {"version", 0}, {"score", FloatForJson(score)}};
    point["payload"] = search.payload.enabled ? SelectPayload(hit.payload_json, search.payload) : Json(nullptr);
    point["vector"] = search.request.with_vector ? VectorToJson(hit.vector, metric == Metric::kCosine) : Json(nullptr);
    out.push_back(std::move(point));
  }
  return out;
}

Json RunOne(Call& call, Collection& collection, ParsedSearch& search) {
  if (search.limit == 0) return Json::array();
  Resolve(collection, search);
  Result<std::vector<ScoredPoint>> found = [&] {
    const FairGate::Pass turn(*call.state.search_gate);
    return collection.Search(search.vector, RequestFor(search));
  }();
  std::vector<ScoredPoint> hits = Check(std::move(found));
  return HitsToJson(search, hits, collection.config().metric);
}

// Searches sharing every parameter (and not by id) go to SearchBatch as one matrix; the others
// are searched one by one.
std::vector<Json> RunBatch(Call& call, Collection& collection, std::vector<ParsedSearch>& searches) {
  std::vector<Json> out;
  bool uniform = searches.size() > 1;
  for (const ParsedSearch& s : searches) {
    uniform = uniform && !s.by_id && s.limit > 0 && s.signature == searches[0].signature &&
              s.vector.size() == collection.config().dim;
  }
  if (!uniform) {
    for (ParsedSearch& s : searches) out.push_back(RunOne(call, collection, s));
    return out;
  }
  const size_t dim = collection.config().dim;
  std::vector<float> matrix;
  matrix.reserve(searches.size() * dim);
  for (const ParsedSearch& s : searches) matrix.insert(matrix.end(), s.vector.begin(), s.vector.end());
  Result<std::vector<std::vector<ScoredPoint>>> found = [&] {
    const FairGate::Pass turn(*call.state.search_gate);
    return collection.SearchBatch(MatrixView{matrix.data(), searches.size(), dim}, RequestFor(searches[0]));
  }();
  std::vector<std::vector<ScoredPoint>> hits = Check(std::move(found));
  for (size_t i = 0; i < searches.size(); ++i) out.push_back(HitsToJson(searches[i], hits[i], collection.config().metric));
  return out;
}

const Json& BatchList(Call& call) {
  const Json& body = RequireObject(call.body, "body");
  CheckFields(body, "", {"searches"});
  const Json* searches = Field(body, "searches");
  if (searches == nullptr || !searches->is_array()) ThrowBadRequest("searches: expected a list of requests");
  CheckBatch(call, searches->size(), "searches");
  return *searches;
}

Reply Search(Call& call) {
  std::shared_ptr<Collection> collection = GetCollectionOr404(call);
  ParsedSearch search = ParseSearchBody(call.body, "", collection->config().metric, Collection::kMaxK);
  return {RunOne(call, *collection, search)};
}

Reply SearchBatch(Call& call) {
  const Json& list = BatchList(call);
  std::shared_ptr<Collection> collection = GetCollectionOr404(call);
  std::vector<ParsedSearch> searches;
  for (size_t i = 0; i < list.size(); ++i) {
    searches.push_back(ParseSearchBody(list[i], "searches[" + std::to_string(i) + "]", collection->config().metric,
                                       Collection::kMaxK));
  }
  return {Json(RunBatch(call, *collection, searches))};
}

Reply Query(Call& call) {
  std::shared_ptr<Collection> collection = GetCollectionOr404(call);
  ParsedSearch search = ParseQueryBody(call.body, "", collection->config().metric, Collection::kMaxK);
  return {{{"points", RunOne(call, *collection, search)}}};
}

Reply QueryBatch(Call& call) {
  const Json& list = BatchList(call);
  std::shared_ptr<Collection> collection = GetCollectionOr404(call);
  std::vector<ParsedSearch> searches;
  for (size_t i = 0; i < list.size(); ++i) {
    searches.push_back(ParseQueryBody(list[i], "searches[" + std::to_string(i) + "]", collection->config().metric,
                                      Collection::kMaxK));
  }
  Json out = Json::array();
  for (Json& points : RunBatch(call, *collection, searches)) out.push_back({{"points", std::move(points)}});
  return {out};
}

}  // namespace

void RegisterSearchRoutes(Router& router) {
  router.Add("POST", "/collections/{name}/points/search", Access::kRead, Search);
  router.Add("POST", "/collections/{name}/points/search/batch", Access::kRead, SearchBatch);
  router.Add("POST", "/collections/{name}/points/query", Access::kRead, Query);
  router.Add("POST", "/collections/{name}/points/query/batch", Access::kRead, QueryBatch);
}

}  // namespace vecdex::server
