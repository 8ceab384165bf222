// Payload operations and payload indexes over HTTP.
#include "server_test_util.h"

namespace vecdex::server {
namespace {

using PayloadTest = ServerTest;


TEST_F(PayloadTest, SetOverwriteDeleteClearByIds) {
  CreateCollection("c", 3, "Dot");
  ASSERT_EQ(Send("PUT", "/collections/c/points",
                 R"({"points": [{"id": 1, "vector": [1, 0, 0], "payload": {"a": 1, "b": 2}},
                                {"id": 2, "vector": [0, 1, 0]}]})").status, 200);
  Response r = Send("POST", "/collections/c/points/payload", R"({"payload": {"c": 3}, "points": [1, 2]})");
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_EQ(Send("GET", "/collections/c/points/1").result()["payload"], Json::parse(R"({"a": 1, "b": 2, "c": 3})"));
  EXPECT_EQ(Send("GET", "/collections/c/points/2").result()["payload"], Json::parse(R"({"c": 3})"));

  r = Send("PUT", "/collections/c/points/payload", R"({"payload": {"z": true}, "points": [1]})");
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_EQ(Send("GET", "/collections/c/points/1").result()["payload"], Json::parse(R"({"z": true})"));

  r = Send("POST", "/collections/c/points/payload/delete", R"({"keys": ["c"], "points": [2]})");
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_EQ(Send("GET", "/collections/c/points/2").result()["payload"], Json::object());

  r = Send("POST", "/collections/c/points/payload/clear", R"({"points": [1]})");
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_EQ(Send("GET", "/collections/c/points/1").result()["payload"], Json::object());

  EXPECT_EQ(Send("POST", "/collections/c/points/payload", R"({"payload": [1], "points": [1]})").status, 400);
  EXPECT_EQ(Send("POST", "/collections/c/points/payload", R"({"points": [1]})").status, 400);
  EXPECT_EQ(Send("POST", "/collections/c/points/payload", R"({"payload": {}, "points": [1], "key": "a.b"})").status, 400);
  EXPECT_EQ(Send("POST", "/collections/c/points/payload/delete", R"({"keys": "c", "points": [2]})").status, 400);
}

TEST_F(PayloadTest, ByFilter) {
  CreateCollection("c", 4, "Dot");
  Fill("c", 12, 4);
  Response r = Send("POST", "/collections/c/points/payload",
                    R"({"payload": {"tagged": true}, "filter": {"must": [{"key": "group", "match": {"value": 2}}]}})");
  ASSERT_EQ(r.status, 200) << r;
  r = Send("POST", "/collections/c/points/count", R"({"filter": {"must": [{"key": "tagged", "match": {"value": true}}]}})");
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.result()["count"], 4);
  r = Send("POST", "/collections/c/points/payload/clear", R"({"filter": {"must": [{"key": "tagged", "match": {"value": true}}]}})");
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_EQ(Send("GET", "/collections/c/points/2").result()["payload"], Json::object());
}

TEST_F(PayloadTest, PayloadIndexCreateShowDrop) {
  CreateCollection("c", 4, "Dot");
  Fill("c", 12, 4);
  Response r = Send("PUT", "/collections/c/index", R"({"field_name": "group", "field_schema": "integer"})");
  ASSERT_EQ(r.status, 200) << r;
  r = Send("PUT", "/collections/c/index", R"({"field_name": "name", "field_schema": {"type": "keyword", "is_tenant": false}})");
  ASSERT_EQ(r.status, 200) << r;
  r = Send("GET", "/collections/c");
  const Json& schema = r.result()["payload_schema"];
  EXPECT_EQ(schema["group"]["data_type"], "integer") << schema;
  EXPECT_EQ(schema["name"]["data_type"], "keyword") << schema;
  r = Send("POST", "/collections/c/points/count", R"({"filter": {"must": [{"key": "group", "match": {"value": 0}}]}})");
  EXPECT_EQ(r.result()["count"], 4);
  r = Send("DELETE", "/collections/c/index/group");
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_FALSE(Send("GET", "/collections/c").result()["payload_schema"].contains("group"));
  EXPECT_EQ(Send("DELETE", "/collections/c/index/group").status, 404);
  EXPECT_EQ(Send("PUT", "/collections/c/index", R"({"field_name": "g", "field_schema": "geo"})").status, 400);
  EXPECT_EQ(Send("PUT", "/collections/c/index", R"({"field_schema": "integer"})").status, 400);
  EXPECT_EQ(Send("PUT", "/collections/c/index", R"({"field_name": "g", "field_schema": 5})").status, 400);
}

}  // namespace
}  // namespace vecdex::server
