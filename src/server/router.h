// Router: (method, path pattern) -> handler. Patterns are literal segments and {placeholders}
// ("/collections/{name}/points/{id}"); a match yields the placeholders' values in order and the
// pattern itself (the metrics label). Independent of the HTTP library.
//
// Thread safety: routes are added before serving; Match is const and safe from any thread.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/http_types.h"

namespace vecdex::server {

struct ApiState;

// What a handler sees of its request.
struct Call {
  const HttpRequest& request;
  std::vector<std::string> params;  // placeholder values, in pattern order
  nlohmann::json body;              // the parsed body (null when empty)
  ApiState& state;
};

// What a handler returns: a JSON result for the {"result": ..., "status": "ok", "time": s}
// envelope, or a raw body sent as it is (health checks, metrics, GET /, snapshot downloads).
struct Reply {
  Reply() = default;
  Reply(nlohmann::json value) : result(std::move(value)) {}  // NOLINT: implicit by design

  nlohmann::json result;
  int status = 200;
  bool raw = false;
  std::string raw_body;
  std::string content_type = "application/json";
};

using Handler = std::function<Reply(Call&)>;

// Who may call a route: anyone (health), read-only keys too (reads), or full keys only.
enum class Access { kPublic, kRead, kWrite };

struct Route {
  std::string method;
  std::string pattern;
  std::vector<std::string> segments;
  Access access = Access::kWrite;
  Handler handler;
};

struct RouteMatch {
  const Route* route = nullptr;      // nullptr: no route for this method and path
  bool other_method = false;         // the path matches a route of another method (405)
  std::vector<std::string> params;
};

class Router {
 public:
  void Add(std::string method, std::string pattern, Access access, Handler handler);
  RouteMatch Match(std::string_view method, std::string_view path) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

// Splits "/a/b/" into {"a", "b"} (empty segments dropped).
std::vector<std::string> SplitPath(std::string_view path);

}  // namespace vecdex::server
