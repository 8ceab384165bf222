// libFuzzer target: arbitrary bytes as an HTTP request (method, path, query, headers, body) sent
// through the API's routing, auth, JSON parsing and handlers, against a real Database on tmpfs
// with one small collection. Must never crash, hang or leak; any response status is fine.
//
// Input layout: byte 0 picks the method; then the path up to '\n'; the query string ("a=1&b=2")
// up to '\n'; header lines "Name: value" up to an empty line; the rest is the body.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "server/api.h"
#include "vecdex/database.h"

namespace {

using vecdex::server::Api;
using vecdex::server::HttpRequest;

struct Fixture {
  std::unique_ptr<vecdex::Database> db;
  std::unique_ptr<Api> api;
};

Fixture& Get() {
  static Fixture* fixture = [] {
    auto* f = new Fixture;
    const std::string base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
    const std::string dir = base + "/vecdex_http_fuzz_" + std::to_string(getpid());
    std::filesystem::remove_all(dir);
    vecdex::DatabaseOptions options;
    options.log = [](std::string_view) {};
    options.background_snapshots = false;
    options.memory_budget_bytes = 256u << 20;
    f->db = std::move(vecdex::Database::Open(dir, options)).value();
    vecdex::server::ServerOptions server;
    server.max_body_bytes = 1 << 20;
    server.max_batch = 1000;
    f->api = std::make_unique<Api>(f->db.get(), server);
    return f;
  }();
  return *fixture;
}

// Keeps collection "c" (4 dims, a few points) present whatever the previous input dropped.
void EnsureCollection(Fixture& f) {
  if (f.db->GetCollection("c").ok()) return;
  vecdex::CollectionConfig config;
  config.dim = 4;
  config.index_spec = "flat";
  auto c = f.db->CreateCollection("c", config);
  if (!c.ok()) return;
  std::vector<vecdex::Point> points;
  for (uint64_t i = 0; i < 8; ++i) {
    points.push_back({vecdex::PointKey::Int(i), {1.0f + i, 2, 3, static_cast<float>(i % 3)}, "{\"g\": " + std::to_string(i % 3) + "}"});
  }
  (void)(*c)->Upsert(points);
}

std::string_view TakeLine(std::string_view& in) {
  const size_t nl = in.find('\n');
  std::string_view line = in.substr(0, nl);
  in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* kMethods[] = {"GET", "POST", "PUT", "DELETE", "PATCH"};
  Fixture& f = Get();
  EnsureCollection(f);
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  HttpRequest request;
  request.method = kMethods[data[0] % 5];
  request.path = std::string(TakeLine(in));
  std::string_view query = TakeLine(in);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view item = query.substr(0, amp);
    const size_t eq = item.find('=');
    request.query.emplace(std::string(item.substr(0, eq)), eq == std::string_view::npos ? "" : std::string(item.substr(eq + 1)));
    query.remove_prefix(amp == std::string_view::npos ? query.size() : amp + 1);
  }
  while (!in.empty()) {
    const std::string_view line = TakeLine(in);
    if (line.empty()) break;
    const size_t colon = line.find(':');
    request.headers.emplace(std::string(line.substr(0, colon)),
                            colon == std::string_view::npos ? "" : std::string(line.substr(colon + 1)));
  }
  request.body = std::string(in);
  (void)f.api->Handle(request);
  return 0;
}
