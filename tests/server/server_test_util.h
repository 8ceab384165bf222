// The server tests' fixture: a real Database in a temporary directory (tmpfs when there is
// one) behind an Api, driven in-process with plain HttpRequests.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "server/api.h"
#include "testutil/temp_dir.h"
#include "testutil/test_util.h"
#include "vecdex/database.h"

namespace vecdex::server {

using Json = nlohmann::json;

struct Response {
  int status = 0;
  Json json;         // the parsed body (null when it is not JSON)
  std::string body;  // as sent
  std::string content_type;

  const Json& result() const { return json.at("result"); }
  std::string error() const {
    if (json.is_object() && json.contains("status") && json["status"].is_object()) {
      return json["status"].value("error", "");
    }
    return "";
  }
};

inline std::ostream& operator<<(std::ostream& os, const Response& r) { return os << r.status << " " << r.body; }

// A request body given as text (a Json must go through SendJson: its implicit conversion to
// std::string would throw for objects).
struct Body {
  std::string text;
  Body(const char* s) : text(s) {}         // NOLINT: implicit by design
  Body(std::string s) : text(std::move(s)) {}  // NOLINT: implicit by design
};

class ServerTest : public testutil::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    MoveToTmpfs();
    Open(ServerOptions{});
  }
  void TearDown() override {
    api_.reset();
    db_.reset();
    TempDirTest::TearDown();
  }

  // (Re)opens the database and the Api with these options.
  void Open(ServerOptions options) {
    api_.reset();
    db_.reset();
    DatabaseOptions db_options;
    db_options.log = [](std::string_view) {};
    auto db = Database::Open(Path("db"), db_options);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    options.data_dir = Path("db");
    api_ = std::make_unique<Api>(db_.get(), options);
  }

  Response Send(const std::string& method, const std::string& path, const Body& body = "",
                std::vector<std::pair<std::string, std::string>> headers = {},
                std::vector<std::pair<std::string, std::string>> query = {}) {
    HttpRequest request;
    request.method = method;
    request.path = path;
    request.body = body.text;
    for (auto& [k, v] : headers) request.headers.emplace(k, v);
    for (auto& [k, v] : query) request.query.emplace(k, v);
    HttpResponse out = api_->Handle(request);
    Response r;
    r.status = out.status;
    r.body = out.body;
    r.content_type = out.content_type;
    r.json = Json::parse(out.body, nullptr, false);
    if (r.json.is_discarded()) r.json = nullptr;
    return r;
  }
  Response SendJson(const std::string& method, const std::string& path, const Json& body) {
    return Send(method, path, body.dump());
  }

  // Creates collection `name` through the API.
  void CreateCollection(const std::string& name, size_t dim, const std::string& distance, Json extra = Json::object()) {
    Json body = {{"vectors", {{"size", dim}, {"distance", distance}}}};
    for (auto it = extra.begin(); it != extra.end(); ++it) body[it.key()] = it.value();
    const Response r = SendJson("PUT", "/collections/" + name, body);
    ASSERT_EQ(r.status, 200) << r;
  }


 public:
  // Deterministic vectors: point i of dimension dim.
  static std::vector<float> Vec(uint64_t i, size_t dim) {
    std::vector<float> v(dim);
    for (size_t j = 0; j < dim; ++j) v[j] = static_cast<float>(std::sin(0.7 * static_cast<double>(i) + 1.3 * j) + 0.1 * j);
    return v;
  }


 protected:
  static std::string Name(uint64_t i) {
    std::string name = "p";
    name += std::to_string(i);
    return name;
  }
  // Upserts points 0..n-1 of dimension dim with payload {"group": i % 3, "name": "p<i>"}.
  void Fill(const std::string& name, size_t n, size_t dim) {
    Json points = Json::array();
    for (uint64_t i = 0; i < n; ++i) {
      points.push_back({{"id", i}, {"vector", Vec(i, dim)}, {"payload", {{"group", i % 3}, {"name", Name(i)}}}});
    }
    const Response r = SendJson("PUT", "/collections/" + name + "/points", Json{{"points", points}});
    ASSERT_EQ(r.status, 200) << r;
  }

  std::unique_ptr<Database> db_;
  std::unique_ptr<Api> api_;
};

}  // namespace vecdex::server
