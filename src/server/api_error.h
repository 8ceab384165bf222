// ApiError: how a handler reports a failure with its HTTP status, and the one place where a
// vecdex Status becomes an HTTP status and a Qdrant-style message ("Not found: ...").
#pragma once

#include <stdexcept>
#include <string>

#include "vecdex/status.h"

namespace vecdex::server {

// Thrown by handlers and request parsing; the dispatcher turns it into
// {"status": {"error": message}, "time": ...} with `http_status`.
class ApiError : public std::runtime_error {
 public:
  ApiError(int http_status, std::string message)
      : std::runtime_error(std::move(message)), http_status_(http_status) {}
  int http_status() const { return http_status_; }

 private:
  int http_status_;
};

// 400 "Wrong input: <message>", as Qdrant words a bad request.
[[noreturn]] void ThrowBadRequest(const std::string& message);

// Maps a non-OK status: InvalidArgument 400 "Wrong input", NotFound 404 "Not found",
// AlreadyExists 409, FailedPrecondition 409 "Precondition failed", ResourceExhausted 507,
// Unavailable 503, others 500 "Service internal error".
ApiError ToApiError(const Status& status);
[[noreturn]] void ThrowStatus(const Status& status);

// Throws ToApiError(status) unless OK.
inline void Check(const Status& status) {
  if (!status.ok()) ThrowStatus(status);
}
template <typename T>
T Check(Result<T> result) {
  if (!result.ok()) ThrowStatus(result.status());
  return std::move(result).value();
}

}  // namespace vecdex::server
