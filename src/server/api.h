// Api: the Qdrant-compatible REST API over a vecdex Database, as a function from HttpRequest to
// HttpResponse. It checks the body limit and the API keys, routes, parses the JSON body, runs the
// handler, wraps its result in Qdrant's envelope and records metrics. No sockets here: the HTTP
// server (http_server.h), the tests and the fuzzer all call Handle.
//
// Thread safety: Handle may be called from many threads at once (the Database is thread-safe;
// the metrics registry locks).
#pragma once

#include <memory>
#include <string>

#include "server/fair_gate.h"
#include "server/http_types.h"
#include "server/metrics.h"
#include "server/router.h"
#include "server/server_options.h"
#include "server/write_priority.h"
#include "vecdex/database.h"

namespace vecdex::server {

// What handlers share. The Database outlives the Api.
struct ApiState {
  Database* db = nullptr;
  ServerOptions options;
  MetricsRegistry metrics;
  std::unique_ptr<FairGate> search_gate;  // options.search_threads slots
  std::unique_ptr<LowPriorityWriters> writers;  // upserts run there, below the searches
};

class Api {
 public:
  Api(Database* db, ServerOptions options);
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  HttpResponse Handle(const HttpRequest& request);

  ApiState& state() { return state_; }
  const Router& router() const { return router_; }

 private:
  ApiState state_;
  Router router_;
};

// The version reported by GET /.
inline constexpr const char* kServerVersion = "0.1.0";

}  // namespace vecdex::server
