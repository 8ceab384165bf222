// Collections over HTTP: create (Qdrant's body and our extension), info, list, exists, delete,
// and their errors.
#include "server_test_util.h"

namespace vecdex::server {
namespace {

using CollectionsTest = ServerTest;

TEST_F(CollectionsTest, CreateGetListExistsDelete) {
  CreateCollection("docs", 4, "Cosine");
  Response r = Send("GET", "/collections");
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.json["status"], "ok");
  EXPECT_TRUE(r.json["time"].is_number());
  EXPECT_EQ(r.result()["collections"], Json::parse(R"([{"name": "docs"}])"));

  r = Send("GET", "/collections/docs");
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.result()["status"], "green");
  EXPECT_EQ(r.result()["points_count"], 0);
  EXPECT_EQ(r.result()["config"]["params"]["vectors"]["size"], 4);
  EXPECT_EQ(r.result()["config"]["params"]["vectors"]["distance"], "Cosine");
  EXPECT_EQ(r.result()["config"]["hnsw_config"]["m"], 16);
  EXPECT_TRUE(r.result()["config"]["quantization_config"].is_null());

  EXPECT_EQ(Send("GET", "/collections/docs/exists").result()["exists"], true);
  EXPECT_EQ(Send("GET", "/collections/nope/exists").result()["exists"], false);

  r = Send("DELETE", "/collections/docs");
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.result(), true);
  EXPECT_EQ(Send("DELETE", "/collections/docs").result(), false);
  EXPECT_EQ(Send("GET", "/collections").result()["collections"], Json::array());
}

TEST_F(CollectionsTest, UnknownCollectionIs404WithQdrantsMessage) {
  const Response r = Send("GET", "/collections/missing");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.error(), "Not found: Collection `missing` doesn't exist!");
  EXPECT_TRUE(r.json["time"].is_number());
  EXPECT_FALSE(r.json.contains("result"));
  EXPECT_EQ(Send("POST", "/collections/missing/points/scroll", "{}").status, 404);
  EXPECT_EQ(Send("PUT", "/collections/missing/points", R"({"points": []})").status, 404);
}

TEST_F(CollectionsTest, CreatingTwiceIs409) {
  CreateCollection("docs", 4, "Dot");
  const Response r = SendJson("PUT", "/collections/docs", Json{{"vectors", {{"size", 4}, {"distance", "Dot"}}}});
  EXPECT_EQ(r.status, 409) << r;
  EXPECT_EQ(r.error(), "Wrong input: Collection `docs` already exists!");
}

TEST_F(CollectionsTest, HnswAndQuantizationMapToTheIndexSpec) {
  CreateCollection("q", 8, "Euclid",
                   Json::parse(R"({"hnsw_config": {"m": 24, "ef_construct": 150, "full_scan_threshold": 10000},
                                   "quantization_config": {"scalar": {"type": "int8", "quantile": 0.99, "always_ram": true}},
                                   "shard_number": 1, "replication_factor": 1, "on_disk_payload": true,
                                   "optimizers_config": {"default_segment_number": 2}, "wal_config": {"wal_capacity_mb": 32}})"));
  const Response r = Send("GET", "/collections/q");
  ASSERT_EQ(r.status, 200) << r;
  const std::string spec = r.result()["vecdex"]["index_spec"];
  EXPECT_NE(spec.find("m=24"), std::string::npos) << spec;
  EXPECT_NE(spec.find("ef_construction=150"), std::string::npos) << spec;
  EXPECT_NE(spec.find("storage=int8"), std::string::npos) << spec;
  EXPECT_NE(spec.find("rerank=true"), std::string::npos) << spec;
  EXPECT_EQ(r.result()["config"]["hnsw_config"]["m"], 24);
  EXPECT_EQ(r.result()["config"]["hnsw_config"]["ef_construct"], 150);
  EXPECT_EQ(r.result()["config"]["quantization_config"]["scalar"]["type"], "int8");
  EXPECT_EQ(r.result()["config"]["params"]["vectors"]["distance"], "Euclid");
}

TEST_F(CollectionsTest, OurExtensionsAndFloat16) {
  CreateCollection("f", 3, "Cosine", Json::parse(R"({"vecdex": {"index": "flat", "sync": "interval"}})"));
  Response r = Send("GET", "/collections/f");
  EXPECT_EQ(r.result()["vecdex"]["index_spec"], "flat");
  EXPECT_EQ(r.result()["vecdex"]["sync"], "interval");
  EXPECT_EQ(r.result()["config"]["hnsw_config"]["m"], 0);
  CreateCollection("m0", 3, "Cosine", Json::parse(R"({"hnsw_config": {"m": 0}})"));
  EXPECT_EQ(Send("GET", "/collections/m0").result()["vecdex"]["index_spec"], "flat");
  r = SendJson("PUT", "/collections/h", Json::parse(R"({"vectors": {"size": 3, "distance": "Dot", "datatype": "float16"}})"));
  ASSERT_EQ(r.status, 200) << r;
  r = Send("GET", "/collections/h");
  EXPECT_EQ(r.result()["config"]["params"]["vectors"]["datatype"], "float16");
}

TEST_F(CollectionsTest, BadBodiesAre400NamingTheField) {
  struct Case {
    std::string body;
    std::string mentions;
  };
  const std::vector<Case> cases = {
      {R"({})", "vectors"},
      {R"({"vectors": {"size": 4}})", "vectors.distance"},
      {R"({"vectors": {"size": 4, "distance": "Manhattan"}})", "Manhattan"},
      {R"({"vectors": {"size": 4, "distance": "Hamming"}})", "Hamming"},
      {R"({"vectors": {"size": "4", "distance": "Dot"}})", "vectors.size"},
      {R"({"vectors": {"size": -4, "distance": "Dot"}})", "vectors.size"},
      {R"({"vectors": {"size": 0, "distance": "Dot"}})", "vectors.size"},
      {R"({"vectors": {"size": 4.5, "distance": "Dot"}})", "vectors.size"},
      {R"({"vectors": {"size": 1e300, "distance": "Dot"}})", "vectors.size"},
      {R"({"vectors": {"image": {"size": 4, "distance": "Dot"}}})", "named vectors"},
      {R"({"vectors": {"size": 4, "distance": "Dot"}, "colour": 1})", "colour"},
      {R"({"vectors": {"size": 4, "distance": "Dot"}, "hnsw_config": {"m": "x"}})", "hnsw_config.m"},
      {R"({"vectors": {"size": 4, "distance": "Dot"}, "quantization_config": {"product": {}}})", "quantization"},
      {R"({"vectors": {"size": 4, "distance": "Dot"}, "vecdex": {"index": "nonsense"}})", "nonsense"},
      {R"([1, 2])", "object"},
      {R"({"vectors": )", "Json deserialize error"},
  };
  for (const Case& c : cases) {
    const Response r = Send("PUT", "/collections/bad", c.body);
    EXPECT_EQ(r.status, 400) << c.body << " -> " << r;
    EXPECT_NE(r.error().find(c.mentions), std::string::npos) << c.body << " -> " << r.error();
  }
  EXPECT_EQ(Send("GET", "/collections/bad/exists").result()["exists"], false);
  EXPECT_EQ(Send("PUT", "/collections/bad%20name", R"({"vectors": {"size": 4, "distance": "Dot"}})").status, 400);
}

}  // namespace
}  // namespace vecdex::server
