// HttpServer: serves an Api over HTTP/1.1 with cpp-httplib (a worker thread pool, keep-alive,
// read/write timeouts, the body limit enforced before the body is read).
//
// Lifecycle: Bind, then Run (blocks until Stop); Stop may be called from any thread (a signal
// watcher): it stops accepting, lets in-flight requests finish, and makes Run return.
#pragma once

#include <memory>
#include <string>

#include "server/api.h"
#include "server/server_options.h"
#include "vecdex/status.h"

namespace httplib {
class Server;
}

namespace vecdex::server {

class HttpServer {
 public:
  HttpServer(Api* api, const ServerOptions& options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds host:port (port 0: any free port; see port()). Errors: IOError.
  Status Bind();
  int port() const { return port_; }
  // Serves until Stop. Errors: IOError when listening fails.
  Status Run();
  void Stop();

 private:
  Api* api_;
  ServerOptions options_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
};

// Whether `host` is a loopback address or name (127.0.0.0/8, ::1, localhost).
bool IsLoopbackHost(const std::string& host);

}  // namespace vecdex::server
