// The HTTP request and response as the API sees them: plain values, independent of the HTTP
// library, so that tests and the fuzzer drive the API without sockets.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vecdex::server {

// Case-insensitive ordering for header names.
struct HeaderNameLess {
  bool operator()(const std::string& a, const std::string& b) const;
};

struct HttpRequest {
  std::string method;  // "GET", "POST", ... (upper case)
  std::string path;    // already percent-decoded, without the query string
  std::multimap<std::string, std::string> query;  // decoded query parameters
  std::map<std::string, std::string, HeaderNameLess> headers;
  std::string body;

  // The first value of a query parameter / header, or nullptr.
  const std::string* QueryValue(std::string_view key) const;
  const std::string* Header(const std::string& name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

}  // namespace vecdex::server
