// Service endpoints, auth, limits, hostile bodies, metrics, snapshots and rebuilds.
#include <chrono>
#include <filesystem>
#include <thread>

#include "server/router.h"
#include "server_test_util.h"

namespace vecdex::server {
namespace {

using AdminTest = ServerTest;

TEST_F(AdminTest, RootAndHealth) {
  Response r = Send("GET", "/");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json["version"], kServerVersion);
  EXPECT_NE(r.json["title"].get<std::string>().find("vecdex"), std::string::npos);
  EXPECT_EQ(Send("GET", "/healthz").body, "healthz check passed");
  EXPECT_EQ(Send("GET", "/livez").status, 200);
  EXPECT_EQ(Send("GET", "/readyz").body, "all shards are ready");
}

TEST_F(AdminTest, UnknownRoutesAndMethods) {
  Response r = Send("GET", "/nothing/here");
  EXPECT_EQ(r.status, 404);
  EXPECT_FALSE(r.error().empty());
  EXPECT_EQ(Send("PATCH", "/collections").status, 405);
  EXPECT_EQ(Send("POST", "/healthz").status, 405);
}

TEST_F(AdminTest, RouterMatchesPatterns) {
  Router router;
  router.Add("GET", "/a/{x}/b", Access::kRead, [](Call&) { return Reply{}; });
  router.Add("POST", "/a/{x}/{y}", Access::kWrite, [](Call&) { return Reply{}; });
  RouteMatch m = router.Match("GET", "/a/one/b/");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.params, std::vector<std::string>{"one"});
  m = router.Match("POST", "//a/one/b");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.params, (std::vector<std::string>{"one", "b"}));
  m = router.Match("DELETE", "/a/one/b");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.other_method);
  EXPECT_EQ(router.Match("GET", "/a").route, nullptr);
}

TEST_F(AdminTest, ApiKeysAndReadOnlyKeys) {
  ServerOptions options;
  options.api_key = "secret";
  options.read_only_api_key = "reader";
  Open(options);
  EXPECT_EQ(Send("GET", "/healthz").status, 200);  // public
  EXPECT_EQ(Send("GET", "/").status, 200);
  Response r = Send("GET", "/collections");
  EXPECT_EQ(r.status, 401);
  EXPECT_FALSE(r.error().empty());
  EXPECT_EQ(Send("GET", "/collections", "", {{"api-key", "wrong"}}).status, 401);
  EXPECT_EQ(Send("GET", "/nowhere", "").status, 401);
  const std::string create = R"({"vectors": {"size": 2, "distance": "Dot"}})";
  EXPECT_EQ(Send("PUT", "/collections/c", create, {{"api-key", "reader"}}).status, 403);
  EXPECT_EQ(Send("PUT", "/collections/c", create, {{"Authorization", "Bearer secret"}}).status, 200);
  EXPECT_EQ(Send("PUT", "/collections/c/points", R"({"points": [{"id": 1, "vector": [1, 2]}]})", {{"API-KEY", "secret"}}).status, 200);
  // Reads with the read-only key, including the POST reads.
  EXPECT_EQ(Send("GET", "/collections/c", "", {{"api-key", "reader"}}).status, 200);
  EXPECT_EQ(Send("POST", "/collections/c/points/query", R"({"query": [1, 0]})", {{"api-key", "reader"}}).status, 200);
  EXPECT_EQ(Send("POST", "/collections/c/points/scroll", "{}", {{"Authorization", "Bearer reader"}}).status, 200);
  EXPECT_EQ(Send("POST", "/collections/c/points/count", "{}", {{"api-key", "reader"}}).status, 200);
  EXPECT_EQ(Send("POST", "/collections/c/points", R"({"ids": [1]})", {{"api-key", "reader"}}).status, 200);
  EXPECT_EQ(Send("POST", "/collections/c/points/delete", R"({"points": [1]})", {{"api-key", "reader"}}).status, 403);
  EXPECT_EQ(Send("DELETE", "/collections/c", "", {{"api-key", "reader"}}).status, 403);
  EXPECT_EQ(Send("GET", "/collections/c", "", {{"Authorization", "Basic secret"}}).status, 401);
}

TEST_F(AdminTest, LimitsAndHostileBodies) {
  ServerOptions options;
  options.max_body_bytes = 4096;
  options.max_batch = 5;
  Open(options);
  CreateCollection("c", 2, "Dot");
  Response r = Send("PUT", "/collections/c/points", std::string(5000, ' '));
  EXPECT_EQ(r.status, 413) << r;
  Json points = Json::array();
  for (int i = 0; i < 6; ++i) points.push_back({{"id", i}, {"vector", {1, 2}}});
  r = SendJson("PUT", "/collections/c/points", Json{{"points", points}});
  EXPECT_EQ(r.status, 413) << r;
  r = Send("POST", "/collections/c/points", R"({"ids": [1, 2, 3, 4, 5, 6]})");
  EXPECT_EQ(r.status, 413) << r;

  std::string deep = std::string(100, '[') + std::string(100, ']');
  r = Send("POST", "/collections/c/points/query", deep);
  EXPECT_EQ(r.status, 400) << r;
  EXPECT_NE(r.error().find("nesting"), std::string::npos);
  // Brackets inside strings do not count.
  r = Send("POST", "/collections/c/points/query", R"({"query": [1, 2], "filter": {"must": [{"key": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "match": {"value": 1}}]}})");
  EXPECT_EQ(r.error().find("nesting"), std::string::npos) << r;
  for (const std::string body : {"{", "nul", "{\"a\": NaN}", "{\"a\": 1} x", "\xff\xfe", "{\"query\": [1, 2], }"}) {
    r = Send("POST", "/collections/c/points/query", body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r;
  }
  r = Send("POST", "/collections/c/points/query", R"({"query": [1e999, 2]})");
  EXPECT_EQ(r.status, 400) << r;
  r = Send("POST", "/collections/c/points/query", R"({"query": [1, 2], "limit": 99999999999999999999999})");
  EXPECT_EQ(r.status, 400) << r;
}

TEST_F(AdminTest, MetricsCountRequestsAndDescribeCollections) {
  CreateCollection("c", 2, "Dot");
  Fill("c", 5, 2);
  Send("POST", "/collections/c/points/query", R"({"query": [1, 0]})");
  Send("GET", "/collections/missing");
  const Response r = Send("GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.content_type.find("text/plain"), std::string::npos);
  const std::string& text = r.body;
  EXPECT_NE(text.find("vecdex_http_requests_total{method=\"POST\",endpoint=\"/collections/{name}/points/query\",status=\"200\"} 1"),
            std::string::npos) << text;
  EXPECT_NE(text.find("endpoint=\"/collections/{name}\",status=\"404\""), std::string::npos);
  EXPECT_NE(text.find("vecdex_http_request_duration_seconds_bucket{method=\"POST\",endpoint=\"/collections/{name}/points/query\",status=\"200\",le=\"+Inf\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("vecdex_collection_points{collection=\"c\"} 5"), std::string::npos) << text;
  EXPECT_NE(text.find("vecdex_collection_rebuild_running{collection=\"c\"} 0"), std::string::npos);
  EXPECT_NE(text.find("vecdex_process_resident_memory_bytes "), std::string::npos);
}

TEST_F(AdminTest, SnapshotsCreateListDownloadDelete) {
  CreateCollection("c", 2, "Dot");
  Fill("c", 5, 2);
  Response r = Send("POST", "/collections/c/snapshots");
  ASSERT_EQ(r.status, 200) << r;
  const std::string name = r.result()["name"];
  EXPECT_EQ(name.rfind("c-", 0), 0u) << name;
  EXPECT_GT(r.result()["size"].get<uint64_t>(), 0u);
  EXPECT_TRUE(std::filesystem::is_regular_file(Path("db") + "/snapshots/c/" + name));
  r = Send("GET", "/collections/c/snapshots");
  ASSERT_EQ(r.status, 200) << r;
  ASSERT_EQ(r.result().size(), 1u);
  EXPECT_EQ(r.result()[0]["name"], name);
  r = Send("GET", "/collections/c/snapshots/" + name);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.rfind("SQLite format 3", 0), 0u);  // a consistent copy of the store
  EXPECT_EQ(Send("GET", "/collections/c/snapshots/..%2Fx.snapshot").status, 404);
  EXPECT_EQ(Send("GET", "/collections/c/snapshots/nope.snapshot").status, 404);
  EXPECT_EQ(Send("DELETE", "/collections/c/snapshots/" + name).status, 200);
  EXPECT_EQ(Send("GET", "/collections/c/snapshots").result().size(), 0u);
  EXPECT_EQ(Send("POST", "/collections/missing/snapshots").status, 404);
}

TEST_F(AdminTest, RebuildInTheBackgroundShowsInInfo) {
  CreateCollection("c", 4, "Cosine");
  Fill("c", 300, 4);
  Response r = Send("POST", "/collections/c/index/rebuild", R"({"hnsw_config": {"m": 24, "ef_construct": 100}})");
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_NE(r.result()["target_spec"].get<std::string>().find("m=24"), std::string::npos) << r;
  Json rebuild;
  for (int i = 0; i < 3000; ++i) {
    rebuild = Send("GET", "/collections/c").result()["vecdex"]["rebuild"];
    if (!rebuild["running"].get<bool>()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(rebuild["running"].get<bool>()) << rebuild;
  EXPECT_EQ(rebuild["last_result"], "swapped") << rebuild;
  r = Send("GET", "/collections/c");
  EXPECT_EQ(r.result()["config"]["hnsw_config"]["m"], 24) << r;
  EXPECT_EQ(Send("POST", "/collections/c/index/rebuild", R"({"hnsw_config": {"m": "big"}})").status, 400);
  EXPECT_EQ(Send("POST", "/collections/c/index/rebuild", R"({"vecdex": {"index": "bogus"}})").status, 400);
  EXPECT_EQ(Send("POST", "/collections/c/index/rebuild", "").status, 200);
}

}  // namespace
}  // namespace vecdex::server
