#include "server/metrics.h"

#include <cstdio>

namespace vecdex::server {

std::string PromEscape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void MetricsRegistry::Record(const std::string& method, const std::string& endpoint, int status, double seconds) {
  size_t bucket = 0;
  while (bucket < kBuckets.size() && seconds > kBuckets[bucket]) ++bucket;
  std::lock_guard<std::mutex> lock(mu_);
  Series& s = series_[{method, endpoint, status}];
  ++s.count;
  s.sum += seconds;
  if (bucket < kBuckets.size()) ++s.buckets[bucket];
}

std::string MetricsRegistry::Render() const {
  std::map<std::tuple<std::string, std::string, int>, Series> copy;
  {
    std::lock_guard<std::mutex> lock(mu_);
    copy = series_;
  }
  std::string out;
  char number[64];
  out += "# HELP vecdex_http_requests_total HTTP requests by method, endpoint pattern and status.\n";
  out += "# TYPE vecdex_http_requests_total counter\n";
  for (const auto& [key, s] : copy) {
    const auto& [method, endpoint, status] = key;
    out += "vecdex_http_requests_total{method=\"" + PromEscape(method) + "\",endpoint=\"" + PromEscape(endpoint) +
           "\",status=\"" + std::to_string(status) + "\"} " + std::to_string(s.count) + "\n";
  }
  out += "# HELP vecdex_http_request_duration_seconds HTTP request latency (handling, without network).\n";
  out += "# TYPE vecdex_http_request_duration_seconds histogram\n";
  for (const auto& [key, s] : copy) {
    const auto& [method, endpoint, status] = key;
    const std::string labels = "method=\"" + PromEscape(method) + "\",endpoint=\"" + PromEscape(endpoint) +
                               "\",status=\"" + std::to_string(status) + "\"";
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += s.buckets[i];
      std::snprintf(number, sizeof(number), "%g", kBuckets[i]);
      out += "vecdex_http_request_duration_seconds_bucket{" + labels + ",le=\"" + number + "\"} " +
             std::to_string(cumulative) + "\n";
    }
    out += "vecdex_http_request_duration_seconds_bucket{" + labels + ",le=\"+Inf\"} " + std::to_string(s.count) + "\n";
    std::snprintf(number, sizeof(number), "%.9g", s.sum);
    out += "vecdex_http_request_duration_seconds_sum{" + labels + "} " + number + "\n";
    out += "vecdex_http_request_duration_seconds_count{" + labels + "} " + std::to_string(s.count) + "\n";
  }
  return out;
}

}  // namespace vecdex::server
