// ServerOptions: what `vecdex serve` is configured with (flags, environment, config file).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace vecdex::server {

struct ServerOptions {
  std::string data_dir;            // the database directory (snapshots go to <data_dir>/snapshots)
  std::string host = "127.0.0.1";  // loopback unless told otherwise
  int port = 6333;
  // Empty: no key. With a key, every request but GET /, /healthz, /livez and /readyz needs the
  // `api-key` header or `Authorization: Bearer <key>`; the read-only key allows reads only.
  std::string api_key;
  std::string read_only_api_key;
  bool allow_insecure = false;  // bind a non-loopback host without an API key
  size_t max_body_bytes = 64u << 20;  // larger bodies: 413
  size_t max_batch = 10000;           // points per upsert, ids per request, searches per batch: 413 beyond
  size_t threads = 0;                 // HTTP worker threads (0: max(8, 2 * cores))
  size_t search_threads = 0;          // searches running at once, the rest queue in order (0: cores)
  double read_timeout_seconds = 30;
  double write_timeout_seconds = 30;
  double idle_timeout_seconds = 5;  // keep-alive connections idle this long are closed
};

}  // namespace vecdex::server
