#include "server/api_error.h"

namespace vecdex::server {

void ThrowBadRequest(const std::string& message) { throw ApiError(400, "Wrong input: " + message); }

ApiError ToApiError(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      return ApiError(400, "Wrong input: " + status.message());
    case StatusCode::kNotFound:
      return ApiError(404, "Not found: " + status.message());
    case StatusCode::kAlreadyExists:
      return ApiError(409, "Wrong input: " + status.message());
    case StatusCode::kFailedPrecondition:
      return ApiError(409, "Precondition failed: " + status.message());
    case StatusCode::kResourceExhausted:
      return ApiError(507, "Resource exhausted: " + status.message());
    case StatusCode::kUnavailable:
      return ApiError(503, "Service unavailable: " + status.message());
    default:
      return ApiError(500, "Service internal error: " + status.message());
  }
}

void ThrowStatus(const Status& status) { throw ToApiError(status); }

}  // namespace vecdex::server
