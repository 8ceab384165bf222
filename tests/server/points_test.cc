// Points over HTTP: upsert (both forms), retrieve, get one, delete, scroll, count.
#include "server_test_util.h"

namespace vecdex::server {
namespace {

using PointsTest = ServerTest;

TEST_F(PointsTest, UpsertBothFormsThenRetrieve) {
  CreateCollection("c", 3, "Dot");
  Response r = Send("PUT", "/collections/c/points",
                    R"({"points": [{"id": 1, "vector": [1, 0, 0], "payload": {"a": 1}},
                                   {"id": "550E8400-E29B-41D4-A716-446655440000", "vector": [0, 1, 0]},
                                   {"id": "my-key", "vector": [0, 0, 1], "payload": null}]})");
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.result()["status"], "completed");
  EXPECT_TRUE(r.result()["operation_id"].is_number_unsigned());
  r = Send("PUT", "/collections/c/points",
           R"({"batch": {"ids": [2, 3], "vectors": [[0.5, 0.5, 0], [0.25, 0, 0.75]], "payloads": [{"b": 2}, null]}})");
  ASSERT_EQ(r.status, 200) << r;

  r = Send("POST", "/collections/c/points",
           R"({"ids": [3, 1, 99, "550e8400e29b41d4a716446655440000", "my-key"], "with_vector": true})");
  ASSERT_EQ(r.status, 200) << r;
  const Json& got = r.result();
  ASSERT_EQ(got.size(), 4u) << got;  // 99 does not exist
  EXPECT_EQ(got[0]["id"], 3);
  EXPECT_EQ(got[0]["vector"], Json::parse("[0.25, 0, 0.75]"));
  EXPECT_EQ(got[0]["payload"], Json::object());
  EXPECT_EQ(got[1]["payload"], Json::parse(R"({"a": 1})"));
  EXPECT_EQ(got[2]["id"], "550e8400-e29b-41d4-a716-446655440000");  // normalised like Qdrant
  EXPECT_EQ(got[3]["id"], "my-key");

  r = Send("GET", "/collections/c/points/2");
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.result()["payload"], Json::parse(R"({"b": 2})"));
  EXPECT_EQ(r.result()["vector"], Json::parse("[0.5, 0.5, 0]"));
  r = Send("GET", "/collections/c/points/550e8400-e29b-41d4-a716-446655440000");
  EXPECT_EQ(r.status, 200) << r;
  r = Send("GET", "/collections/c/points/7");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.error(), "Not found: No point with id 7 found");
}

TEST_F(PointsTest, DuplicateIdsInABatchKeepTheLast) {
  CreateCollection("c", 2, "Euclid");
  Response r = Send("PUT", "/collections/c/points",
                    R"({"points": [{"id": 5, "vector": [1, 1]}, {"id": 5, "vector": [2, 2], "payload": {"v": 2}}]})");
  ASSERT_EQ(r.status, 200) << r;
  r = Send("GET", "/collections/c/points/5");
  EXPECT_EQ(r.result()["vector"], Json::parse("[2, 2]"));
  EXPECT_EQ(Send("POST", "/collections/c/points/count", "{}").result()["count"], 1);
}

TEST_F(PointsTest, CosineVectorsComeBackNormalisedLikeQdrant) {
  CreateCollection("c", 2, "Cosine");
  ASSERT_EQ(Send("PUT", "/collections/c/points", R"({"points": [{"id": 1, "vector": [3, 4]}]})").status, 200);
  const Response r = Send("GET", "/collections/c/points/1");
  EXPECT_EQ(r.result()["vector"], Json::parse("[0.6, 0.8]"));
}

TEST_F(PointsTest, BadPointsAre400AndChangeNothing) {
  CreateCollection("c", 3, "Dot");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"points": [{"id": 1, "vector": [1, 2]}]})", "dimension"},
      {R"({"points": [{"id": 1, "vector": [1, 2, "x"]}]})", "points[0].vector[2]"},
      {R"({"points": [{"id": 1, "vector": [1, 2, 1e39]}]})", "points[0].vector[2]"},
      {R"({"points": [{"id": 1, "vector": [1, 2, 1e400]}]})", ""},
      {R"({"points": [{"id": -1, "vector": [1, 2, 3]}]})", "negative"},
      {R"({"points": [{"id": 1.5, "vector": [1, 2, 3]}]})", "points[0].id"},
      {R"({"points": [{"id": 1, "vector": [1, 2, 3], "payload": [1]}]})", "points[0].payload"},
      {R"({"points": [{"id": 1, "vector": {"image": [1, 2, 3]}}]})", "named vectors"},
      {R"({"points": [{"id": 1}]})", "points[0].vector"},
      {R"({"points": [{"id": 1, "vector": [1, 2, 3], "extra": 1}]})", "points[0].extra"},
      {R"({"points": [{"id": 1, "vector": [1, 2, 3]}], "batch": {}})", "exactly one"},
      {R"({"batch": {"ids": [1, 2], "vectors": [[1, 2, 3]]}})", "2 ids but 1 vectors"},
      {R"({"points": [{"id": 1, "vector": []}]})", "empty"},
      {R"({"points": [{"id": "", "vector": [1, 2, 3]}]})", "points[0].id"},
  };
  for (const auto& [body, mentions] : cases) {
    const Response r = Send("PUT", "/collections/c/points", body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r;
    EXPECT_NE(r.error().find(mentions), std::string::npos) << body << " -> " << r.error();
  }
  EXPECT_EQ(Send("POST", "/collections/c/points/count", "{}").result()["count"], 0);
  Response r = Send("PUT", "/collections/c/points", R"({"points": [{"id": 1, "vector": [1, 2, 3]}]})", {}, {{"wait", "maybe"}});
  EXPECT_EQ(r.status, 400) << r;
  r = Send("PUT", "/collections/c/points", R"({"points": [{"id": 1, "vector": [1, 2, 3]}]})", {}, {{"wait", "false"}});
  EXPECT_EQ(r.status, 200) << r;
}

TEST_F(PointsTest, DeleteByIds) {
  CreateCollection("c", 4, "Dot");
  Fill("c", 10, 4);
  Response r = Send("POST", "/collections/c/points/delete", R"({"points": [1, 2, 3, 77]})");
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_EQ(Send("POST", "/collections/c/points/count", "{}").result()["count"], 7);
  EXPECT_EQ(Send("POST", "/collections/c/points/delete", R"({})").status, 400);
  EXPECT_EQ(Send("POST", "/collections/c/points/delete", R"({"points": ["", 1]})").status, 400);
}

TEST_F(PointsTest, ScrollPagesWithInclusiveOffsetsLikeQdrant) {
  CreateCollection("c", 4, "Dot");
  Fill("c", 25, 4);
  ASSERT_EQ(Send("PUT", "/collections/c/points",
                 R"({"points": [{"id": "b", "vector": [1, 1, 1, 1]}, {"id": "a", "vector": [1, 1, 1, 1]}]})").status, 200);
  std::vector<Json> ids;
  Json offset = nullptr;
  int pages = 0;
  do {
    Json body = {{"limit", 10}, {"with_payload", false}};
    if (!offset.is_null()) body["offset"] = offset;
    const Response r = SendJson("POST", "/collections/c/points/scroll", body);
    ASSERT_EQ(r.status, 200) << r;
    for (const Json& p : r.result()["points"]) {
      ids.push_back(p["id"]);
      EXPECT_TRUE(p["payload"].is_null());
    }
    offset = r.result()["next_page_offset"];
    ++pages;
  } while (!offset.is_null() && pages < 10);
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(ids.size(), 27u);
  EXPECT_EQ(ids[0], 0);
  EXPECT_EQ(ids[24], 24);
  EXPECT_EQ(ids[25], "a");
  EXPECT_EQ(ids[26], "b");

  // Offsets are inclusive, also for ids that are not on a page boundary or do not exist.
  Response r = Send("POST", "/collections/c/points/scroll", R"({"offset": 7, "limit": 2})");
  EXPECT_EQ(r.result()["points"][0]["id"], 7);
  EXPECT_EQ(r.result()["points"][0]["payload"]["name"], "p7");  // with_payload defaults to true
  EXPECT_EQ(r.result()["next_page_offset"], 9);
  r = Send("POST", "/collections/c/points/scroll", R"({"offset": "a", "limit": 1})");
  EXPECT_EQ(r.result()["points"][0]["id"], "a");
  EXPECT_EQ(r.result()["next_page_offset"], "b");
  r = Send("POST", "/collections/c/points/scroll", R"({"offset": "aa", "limit": 5})");
  ASSERT_EQ(r.result()["points"].size(), 1u);
  EXPECT_EQ(r.result()["points"][0]["id"], "b");
  EXPECT_TRUE(r.result()["next_page_offset"].is_null());
  // Default limit 10.
  EXPECT_EQ(Send("POST", "/collections/c/points/scroll", "").result()["points"].size(), 10u);
  EXPECT_EQ(Send("POST", "/collections/c/points/scroll", R"({"limit": -1})").status, 400);
  EXPECT_EQ(Send("POST", "/collections/c/points/scroll", R"({"order_by": "x"})").status, 400);
}

TEST_F(PointsTest, CountAllAndFiltered) {
  CreateCollection("c", 4, "Dot");
  Fill("c", 30, 4);
  EXPECT_EQ(Send("POST", "/collections/c/points/count", R"({"exact": true})").result()["count"], 30);
  Response r = Send("POST", "/collections/c/points/count", R"({"filter": {"must": [{"key": "group", "match": {"value": 1}}]}})");
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.result()["count"], 10);
  r = Send("POST", "/collections/c/points/count", R"({"filter": {"must": [{"key": "group", "match": {"nope": 1}}]}})");
  EXPECT_EQ(r.status, 400) << r;
  r = Send("POST", "/collections/c/points/count", R"({"filter": 3})");
  EXPECT_EQ(r.status, 400) << r;
}

TEST_F(PointsTest, DeleteAndScrollByFilter) {
  CreateCollection("c", 4, "Dot");
  Fill("c", 30, 4);
  Response r = Send("POST", "/collections/c/points/scroll",
                    R"({"filter": {"must": [{"key": "group", "match": {"value": 2}}]}, "limit": 100, "with_payload": ["name"]})");
  ASSERT_EQ(r.status, 200) << r;
  ASSERT_EQ(r.result()["points"].size(), 10u);
  EXPECT_EQ(r.result()["points"][0]["payload"], Json::parse(R"({"name": "p2"})"));
  r = Send("POST", "/collections/c/points/delete", R"({"filter": {"must": [{"key": "group", "match": {"value": 0}}]}})");
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_EQ(Send("POST", "/collections/c/points/count", "{}").result()["count"], 20);
}

}  // namespace
}  // namespace vecdex::server
