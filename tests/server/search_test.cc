// Search over HTTP: points/search[/batch] and points/query[/batch] against exact answers computed
// here, Qdrant's scores per distance, query by id, filters, offsets, thresholds, selectors.
#include <algorithm>
#include <numeric>

#include "server_test_util.h"

namespace vecdex::server {
namespace {

using SearchTest = ServerTest;

// Qdrant's score: Cosine cos, Dot dot, Euclid the (non-squared) distance.
double Score(const std::string& distance, const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0, l2 = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
    l2 += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
  }
  if (distance == "Cosine") return dot / std::sqrt(na * nb);
  if (distance == "Dot") return dot;
  return std::sqrt(l2);
}

// Ids 0..n-1 ranked by exact score (best first).
std::vector<uint64_t> Exact(const std::string& distance, const std::vector<float>& q, size_t n, size_t dim) {
  std::vector<uint64_t> ids(n);
  std::iota(ids.begin(), ids.end(), 0);
  std::stable_sort(ids.begin(), ids.end(), [&](uint64_t a, uint64_t b) {
    const double sa = Score(distance, q, ServerTest::Vec(a, dim)), sb = Score(distance, q, ServerTest::Vec(b, dim));
    return distance == "Euclid" ? sa < sb : sa > sb;
  });
  return ids;
}

class SearchByDistance : public ServerTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(SearchByDistance, ExactSearchMatchesBruteForceWithQdrantScores) {
  const std::string distance = GetParam();
  constexpr size_t kDim = 8, kPoints = 200;
  CreateCollection("c", kDim, distance, Json::parse(R"({"vecdex": {"index": "flat"}})"));
  Fill("c", kPoints, kDim);
  const std::vector<float> q = Vec(1000, kDim);
  const std::vector<uint64_t> truth = Exact(distance, q, kPoints, kDim);

  Response r = SendJson("POST", "/collections/c/points/search", Json{{"vector", q}, {"limit", 5}});
  ASSERT_EQ(r.status, 200) << r;
  ASSERT_EQ(r.result().size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(r.result()[i]["id"], truth[i]) << i;
    EXPECT_NEAR(r.result()[i]["score"].get<double>(), Score(distance, q, Vec(truth[i], kDim)), 1e-4) << i;
    EXPECT_TRUE(r.result()[i]["payload"].is_null());
    EXPECT_TRUE(r.result()[i]["vector"].is_null());
  }

  r = SendJson("POST", "/collections/c/points/query", Json{{"query", q}, {"limit", 3}, {"offset", 2}, {"with_payload", true}});
  ASSERT_EQ(r.status, 200) << r;
  ASSERT_EQ(r.result()["points"].size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(r.result()["points"][i]["id"], truth[i + 2]);
  EXPECT_EQ(r.result()["points"][0]["payload"]["name"], Name(truth[2]));

  // score_threshold in Qdrant's units: only results at least as good as the 4th.
  const double fourth = Score(distance, q, Vec(truth[3], kDim));
  const double threshold = distance == "Euclid" ? fourth + 1e-4 : fourth - 1e-4;
  r = SendJson("POST", "/collections/c/points/query", Json{{"query", {{"nearest", q}}}, {"limit", 10}, {"score_threshold", threshold}});
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.result()["points"].size(), 4u) << r;
}

INSTANTIATE_TEST_SUITE_P(Distances, SearchByDistance, ::testing::Values("Cosine", "Dot", "Euclid"));

TEST_F(SearchTest, HnswFindsTheNearestAndQueryByIdExcludesThePoint) {
  constexpr size_t kDim = 8, kPoints = 300;
  CreateCollection("c", kDim, "Cosine");
  Fill("c", kPoints, kDim);
  const std::vector<uint64_t> truth = Exact("Cosine", Vec(17, kDim), kPoints, kDim);
  ASSERT_EQ(truth[0], 17u);
  Response r = Send("POST", "/collections/c/points/query", R"({"query": 17, "limit": 3, "params": {"hnsw_ef": 64}})");
  ASSERT_EQ(r.status, 200) << r;
  ASSERT_EQ(r.result()["points"].size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(r.result()["points"][i]["id"], truth[i + 1]) << r;
  r = Send("POST", "/collections/c/points/query", R"({"query": {"nearest": 17}, "limit": 1, "params": {"exact": true}})");
  EXPECT_EQ(r.result()["points"][0]["id"], truth[1]);
  r = Send("POST", "/collections/c/points/query", R"({"query": 100000})");
  EXPECT_EQ(r.status, 404) << r;
}

TEST_F(SearchTest, FiltersRestrictResults) {
  constexpr size_t kDim = 6, kPoints = 90;
  CreateCollection("c", kDim, "Dot", Json::parse(R"({"vecdex": {"index": "flat"}})"));
  Fill("c", kPoints, kDim);
  const std::vector<float> q = Vec(5000, kDim);
  std::vector<uint64_t> truth;
  for (uint64_t id : Exact("Dot", q, kPoints, kDim)) {
    if (id % 3 == 1) truth.push_back(id);
  }
  const Response r = SendJson("POST", "/collections/c/points/query",
                          Json{{"query", q}, {"limit", 4}, {"filter", Json::parse(R"({"must": [{"key": "group", "match": {"value": 1}}]})")}});
  ASSERT_EQ(r.status, 200) << r;
  ASSERT_EQ(r.result()["points"].size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(r.result()["points"][i]["id"], truth[i]);
}

TEST_F(SearchTest, BatchesUniformAndMixed) {
  constexpr size_t kDim = 5, kPoints = 60;
  CreateCollection("c", kDim, "Euclid", Json::parse(R"({"vecdex": {"index": "flat"}})"));
  Fill("c", kPoints, kDim);
  Json searches = Json::array();
  for (uint64_t i = 0; i < 4; ++i) searches.push_back({{"vector", Vec(900 + i, kDim)}, {"limit", 3}});
  Response r = SendJson("POST", "/collections/c/points/search/batch", Json{{"searches", searches}});
  ASSERT_EQ(r.status, 200) << r;
  ASSERT_EQ(r.result().size(), 4u);
  for (uint64_t i = 0; i < 4; ++i) {
    const auto truth = Exact("Euclid", Vec(900 + i, kDim), kPoints, kDim);
    for (size_t j = 0; j < 3; ++j) EXPECT_EQ(r.result()[i][j]["id"], truth[j]);
  }
  Json queries = Json::array();
  queries.push_back({{"query", Vec(900, kDim)}, {"limit", 2}});
  queries.push_back({{"query", 3}, {"limit", 1}, {"with_vector", true}});
  queries.push_back({{"query", Vec(901, kDim)}, {"limit", 0}});
  r = SendJson("POST", "/collections/c/points/query/batch", Json{{"searches", queries}});
  ASSERT_EQ(r.status, 200) << r;
  ASSERT_EQ(r.result().size(), 3u);
  EXPECT_EQ(r.result()[0]["points"].size(), 2u);
  EXPECT_EQ(r.result()[1]["points"].size(), 1u);
  EXPECT_NE(r.result()[1]["points"][0]["id"], 3);
  EXPECT_EQ(r.result()[1]["points"][0]["vector"].size(), kDim);
  EXPECT_EQ(r.result()[2]["points"].size(), 0u);
}

TEST_F(SearchTest, BadSearchesAre400) {
  CreateCollection("c", 3, "Dot");
  Fill("c", 10, 3);
  const std::vector<std::pair<std::string, std::string>> search_cases = {
      {R"({})", "vector"},
      {R"({"vector": [1, 2]})", "dimension"},
      {R"({"vector": [1, 2, 3], "limit": -1})", "limit"},
      {R"({"vector": [1, 2, 3], "limit": 20000})", "limit"},
      {R"({"vector": [1, 2, 3], "params": {"hnsw_ef": "x"}})", "params.hnsw_ef"},
      {R"({"vector": [1, 2, 3], "score_threshold": "high"})", "score_threshold"},
      {R"({"vector": {"name": "image", "vector": [1, 2, 3]}})", "image"},
      {R"({"vector": [1, 2, 3], "with_payload": 3})", "with_payload"},
      {R"({"vector": [1, 2, 3], "with_vector": ["image"]})", "image"},
      {R"({"vector": [1, 2, 3], "what": 1})", "what"},
  };
  for (const auto& [body, mentions] : search_cases) {
    const Response r = Send("POST", "/collections/c/points/search", body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r;
    EXPECT_NE(r.error().find(mentions), std::string::npos) << body << " -> " << r.error();
  }
  const std::vector<std::pair<std::string, std::string>> query_cases = {
      {R"({})", "query"},
      {R"({"query": {"recommend": {"positive": [1]}}})", "nearest"},
      {R"({"query": [1, 2, 3], "prefetch": [{"query": [1, 2, 3]}]})", "prefetch"},
      {R"({"query": [1, 2, 3], "using": "image"})", "image"},
      {R"({"query": -3})", "negative"},
      {R"({"query": true})", "query"},
  };
  for (const auto& [body, mentions] : query_cases) {
    const Response r = Send("POST", "/collections/c/points/query", body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r;
    EXPECT_NE(r.error().find(mentions), std::string::npos) << body << " -> " << r.error();
  }
  EXPECT_EQ(Send("POST", "/collections/c/points/query/batch", R"({"searches": 1})").status, 400);
  EXPECT_EQ(Send("POST", "/collections/c/points/search/batch", R"({"searches": [{"vector": [1]}]})").status, 400);
}

TEST_F(SearchTest, PayloadSelectors) {
  CreateCollection("c", 3, "Dot");
  ASSERT_EQ(Send("PUT", "/collections/c/points",
                 R"({"points": [{"id": 1, "vector": [1, 0, 0], "payload": {"a": 1, "b": {"c": 2, "d": 3}, "e": 4}}]})").status,
            200);
  Response r = Send("POST", "/collections/c/points/query", R"({"query": [1, 0, 0], "with_payload": {"exclude": ["a", "e"]}})");
  EXPECT_EQ(r.result()["points"][0]["payload"], Json::parse(R"({"b": {"c": 2, "d": 3}})"));
  r = Send("POST", "/collections/c/points/query", R"({"query": [1, 0, 0], "with_payload": ["b.c", "e"]})");
  EXPECT_EQ(r.result()["points"][0]["payload"], Json::parse(R"({"b": {"c": 2}, "e": 4})"));
  r = Send("POST", "/collections/c/points/query", R"({"query": [1, 0, 0], "with_payload": {"include": ["a"]}, "with_vector": true})");
  EXPECT_EQ(r.result()["points"][0]["payload"], Json::parse(R"({"a": 1})"));
  EXPECT_EQ(r.result()["points"][0]["vector"], Json::parse("[1, 0, 0]"));
}

TEST_F(SearchTest, EmptyCollectionGivesEmptyResults) {
  CreateCollection("c", 3, "Cosine");
  Response r = Send("POST", "/collections/c/points/query", R"({"query": [1, 0, 0]})");
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.result()["points"], Json::array());
}

}  // namespace
}  // namespace vecdex::server
