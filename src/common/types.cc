#include "vecdex/types.h"

#include <string>

namespace vecdex {

std::string_view MetricName(Metric metric) {
  switch (metric) {
    case Metric::kL2: return "l2";
    case Metric::kInnerProduct: return "ip";
    case Metric::kCosine: return "cosine";
  }
  return "unknown";
}

std::optional<Metric> ParseMetric(std::string_view name) {
  if (name == "l2" || name == "euclid" || name == "euclidean") return Metric::kL2;
  if (name == "ip" || name == "dot" || name == "inner_product") return Metric::kInnerProduct;
  if (name == "cosine" || name == "angular") return Metric::kCosine;
  return std::nullopt;
}

std::string_view ScalarName(Scalar scalar) {
  switch (scalar) {
    case Scalar::kF32: return "f32";
    case Scalar::kF16: return "f16";
    case Scalar::kInt8: return "int8";
  }
  return "unknown";
}

std::optional<Scalar> ParseScalar(std::string_view name) {
  if (name == "f32" || name == "float32") return Scalar::kF32;
  if (name == "f16" || name == "float16") return Scalar::kF16;
  if (name == "int8" || name == "i8") return Scalar::kInt8;
  return std::nullopt;
}

float DistanceToScore(Metric metric, float distance) {
  switch (metric) {
    case Metric::kL2: return distance;
    case Metric::kInnerProduct: return -distance;
    case Metric::kCosine: return 1.0f - distance;
  }
  return distance;
}

size_t SearchResults::count_of(size_t query) const {
  const Label* row = labels_of(query);
  size_t n = 0;
  while (n < k && row[n] != kNoLabel) ++n;
  return n;
}

}  // namespace vecdex
