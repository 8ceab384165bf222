// MetricsRegistry: request counts and latency histograms per (method, endpoint pattern, status),
// rendered in the Prometheus text format. Collection gauges are added by the /metrics handler.
//
// Thread safety: Record and Render may be called from any thread (one mutex, held briefly).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace vecdex::server {

class MetricsRegistry {
 public:
  // Upper bounds (seconds) of the latency histogram's buckets (+Inf is implied). Searches take
  // a fraction of a millisecond, so the buckets are finest there: a quantile is interpolated
  // inside its bucket, and a 0.5-1 ms bucket would blur a p99 of 0.6 ms into one of 0.9 ms.
  static constexpr std::array<double, 24> kBuckets = {
      0.0001, 0.00015, 0.0002, 0.0003, 0.0004, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005,
      0.0075, 0.01,    0.025,  0.05,   0.1,    0.25,   0.5,     1,     2.5,    5,     10,    30};

  void Record(const std::string& method, const std::string& endpoint, int status, double seconds);
  // vecdex_http_requests_total and vecdex_http_request_duration_seconds, with HELP/TYPE lines.
  std::string Render() const;

 private:
  struct Series {
    uint64_t count = 0;
    double sum = 0;
    std::array<uint64_t, kBuckets.size()> buckets{};  // per bucket (not cumulative)
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, Series> series_;  // guarded by mu_
};

// Escapes a Prometheus label value (backslash, quote, newline).
std::string PromEscape(const std::string& value);

}  // namespace vecdex::server
