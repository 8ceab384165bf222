#include "server/http_server.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <thread>

namespace vecdex::server {
namespace {

HttpRequest FromHttplib(const httplib::Request& in) {
  HttpRequest out;
  out.method = in.method;
  out.path = in.path;
  for (const auto& [key, value] : in.params) out.query.emplace(key, value);
  for (const auto& [key, value] : in.headers) out.headers.emplace(key, value);
  out.body = in.body;
  return out;
}

}  // namespace

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

HttpServer::HttpServer(Api* api, const ServerOptions& options)
    : api_(api), options_(options), server_(std::make_unique<httplib::Server>()) {
  const size_t threads =
      options_.threads != 0 ? options_.threads : std::max<size_t>(8, 2 * std::max(1u, std::thread::hardware_concurrency()));
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // One byte over the limit still reaches the Api, which words the 413; more is refused unread.
  server_->set_payload_max_length(options_.max_body_bytes + 1);
  auto seconds = [](double s, time_t& sec, time_t& usec) {
    sec = static_cast<time_t>(s);
    usec = static_cast<time_t>((s - static_cast<double>(sec)) * 1e6);
  };
  time_t sec = 0, usec = 0;
  seconds(options_.read_timeout_seconds, sec, usec);
  server_->set_read_timeout(sec, usec);
  seconds(options_.write_timeout_seconds, sec, usec);
  server_->set_write_timeout(sec, usec);
  seconds(options_.idle_timeout_seconds, sec, usec);
  server_->set_keep_alive_timeout(sec);
  server_->set_keep_alive_max_count(100000);
  // Small responses must not wait for the peer's delayed ACK (Nagle): 40 ms per request otherwise.
  server_->set_tcp_nodelay(true);
  auto handler = [this](const httplib::Request& request, httplib::Response& response) {
    HttpResponse out = api_->Handle(FromHttplib(request));
    response.status = out.status;
    for (const auto& [key, value] : out.headers) response.set_header(key, value);
    response.set_content(std::move(out.body), out.content_type.c_str());
  };
  const std::string all = ".*";
  server_->Get(all, handler);
  server_->Post(all, handler);
  server_->Put(all, handler);
  server_->Delete(all, handler);
  server_->Patch(all, handler);
}

HttpServer::~HttpServer() = default;

Status HttpServer::Bind() {
  std::string host = options_.host;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(host);
    if (port_ <= 0) return Status::IOError("cannot bind " + options_.host + " (any port)");
  } else {
    if (!server_->bind_to_port(host, options_.port)) {
      return Status::IOError("cannot bind " + options_.host + ":" + std::to_string(options_.port) +
                             " (in use, or not an address of this machine)");
    }
    port_ = options_.port;
  }
  return Status::Ok();
}

Status HttpServer::Run() {
  if (!server_->listen_after_bind()) return Status::IOError("listening on port " + std::to_string(port_) + " failed");
  return Status::Ok();
}

void HttpServer::Stop() { server_->stop(); }

}  // namespace vecdex::server
