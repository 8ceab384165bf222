#include "server/api.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <new>

#include "common/parallel.h"
#include "server/api_error.h"
#include "server/auth.h"
#include "server/handlers.h"
#include "server/json_io.h"

namespace vecdex::server {
namespace {

HttpResponse ErrorResponse(int status, const std::string& message, double seconds) {
  HttpResponse response;
  response.status = status;
  Json body = {{"status", {{"error", message}}}, {"time", seconds}};
  response.body = DumpJson(body);
  return response;
}

double Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

Api::Api(Database* db, ServerOptions options) {
  state_.db = db;
  state_.options = std::move(options);
  const size_t search_threads = state_.options.search_threads;
  state_.search_gate = std::make_unique<FairGate>(search_threads != 0 ? search_threads : HardwareThreads());
  state_.writers = std::make_unique<LowPriorityWriters>(std::max<size_t>(4, HardwareThreads()));
  RegisterAdminRoutes(router_);
  RegisterCollectionRoutes(router_);
  RegisterPointRoutes(router_);
  RegisterPayloadRoutes(router_);
  RegisterSearchRoutes(router_);
}

HttpResponse Api::Handle(const HttpRequest& request) {
  const auto start = std::chrono::steady_clock::now();
  const RouteMatch match = router_.Match(request.method, request.path);
  const std::string endpoint = match.route != nullptr ? match.route->pattern : "unmatched";
  HttpResponse response;
  try {
    const Access access = match.route != nullptr ? match.route->access : Access::kWrite;
    if (auto failure = Authorize(request, access, state_.options)) throw ApiError(failure->status, failure->message);
    if (match.route == nullptr) {
      if (match.other_method) throw ApiError(405, "Method " + request.method + " not allowed for " + request.path);
      throw ApiError(404, "Not found: no endpoint " + request.method + " " + request.path);
    }
    if (request.body.size() > state_.options.max_body_bytes) {
      throw ApiError(413, "Payload too large: the body has " + std::to_string(request.body.size()) +
                              " bytes, the limit is " + std::to_string(state_.options.max_body_bytes));
    }
    Call call{request, match.params, ParseJsonBody(request.body), state_};
    Reply reply = match.route->handler(call);
    response.status = reply.status;
    response.content_type = reply.content_type;
    if (reply.raw) {
      response.body = std::move(reply.raw_body);
    } else {
      Json body = {{"result", std::move(reply.result)}, {"status", "ok"}, {"time", Since(start)}};
      response.body = DumpJson(body);
    }
  } catch (const ApiError& e) {
    response = ErrorResponse(e.http_status(), e.what(), Since(start));
  } catch (const Json::exception& e) {
    response = ErrorResponse(400, std::string("Wrong input: ") + e.what(), Since(start));
  } catch (const std::bad_alloc&) {
    response = ErrorResponse(500, "Service internal error: out of memory", Since(start));
  } catch (const std::exception& e) {
    response = ErrorResponse(500, std::string("Service internal error: ") + e.what(), Since(start));
  }
  state_.metrics.Record(request.method, endpoint, response.status, Since(start));
  return response;
}

}  // namespace vecdex::server
