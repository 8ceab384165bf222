// API keys: who may call what. The full key may call everything; the read-only key may call
// routes marked Access::kRead; public routes (health, GET /) need no key.
#pragma once

#include <optional>
#include <string>

#include "server/http_types.h"
#include "server/router.h"
#include "server/server_options.h"

namespace vecdex::server {

struct AuthFailure {
  int status;  // 401 (no or wrong key) or 403 (read-only key on a write)
  std::string message;
};

// nullopt when the request may proceed. `access` is the route's (kWrite for unknown routes).
std::optional<AuthFailure> Authorize(const HttpRequest& request, Access access, const ServerOptions& options);

}  // namespace vecdex::server
